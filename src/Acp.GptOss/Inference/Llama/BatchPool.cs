using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// The <see cref="BatchDecodeLoop"/> of a model as loaded now: made on first use after each load, with as many
/// sequences as asked for and the memory allows (<see cref="MemoryPreflight.FitSequences"/>), freed before the model
/// unloads.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class BatchPool : IDisposable
{
    private readonly Lock _gate = new();
    private readonly ModelSlot _slot;
    private readonly int _sequences;
    private readonly int _threads;
    private readonly LlamaSamplingOptions _sampling;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly IDisposable _unloadRegistration;
    private Task<BatchDecodeLoop>? _loop;
    private long _generation = -1;

    /// <param name="slot">The model.</param>
    /// <param name="sequences">The most conversations decoded at once.</param>
    /// <param name="threads">CPU threads.</param>
    /// <param name="sampling">How tokens are sampled.</param>
    /// <param name="telemetry">Where generations and stages are reported.</param>
    /// <param name="logger">The engine's log.</param>
    public BatchPool(ModelSlot slot, int sequences, int threads, LlamaSamplingOptions sampling, Telemetry telemetry, ILogger logger)
    {
        _slot = slot;
        _sequences = sequences;
        _threads = threads;
        _sampling = sampling;
        _telemetry = telemetry;
        _logger = logger;
        _unloadRegistration = slot.OnUnload(Drop);
    }

    /// <summary>The loop of the current load, once made; null before, and after an unload.</summary>
    public BatchDecodeLoop? Current
    {
        get
        {
            lock (_gate)
            {
                return _loop is { IsCompletedSuccessfully: true } loop ? loop.Result : null;
            }
        }
    }

    /// <summary>The loop for the model <paramref name="lease"/> holds: the one made, being made, or made now.</summary>
    /// <exception cref="InferenceException">The shared context cannot be made.</exception>
    public Task<BatchDecodeLoop> GetAsync(ModelSlot.Lease lease)
    {
        LoadedModel loaded = lease.Loaded;
        lock (_gate)
        {
            if (_loop is { IsFaulted: false, IsCanceled: false } loop && _generation == loaded.Generation)
            {
                return loop;
            }

            int sequences = MemoryPreflight.FitSequences(_sequences, loaded.ContextSize, loaded.KvBytesPerToken, MemoryPreflight.AvailableMemory());
            _generation = loaded.Generation;
            _loop = BatchDecodeLoop.StartAsync(_slot, loaded, sequences, _threads, _sampling, _telemetry, _logger);
            return _loop;
        }
    }

    public void Dispose()
    {
        _unloadRegistration.Dispose();
        Drop();
    }

    // The model is about to unload (no job holds it): the loop's thread ends and frees the context.
    private void Drop()
    {
        Task<BatchDecodeLoop>? loop;
        lock (_gate)
        {
            loop = _loop;
            _loop = null;
        }

        if (loop is { IsCompletedSuccessfully: true })
        {
            loop.Result.Dispose();
        }
    }
}
