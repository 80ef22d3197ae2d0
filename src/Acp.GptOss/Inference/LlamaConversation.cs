using System.Diagnostics;
using System.Runtime.CompilerServices;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference;

/// <summary>What one generation decodes: the prompt and the ids that end it.</summary>
internal sealed record LlamaRequest(ReadOnlyMemory<int> Prompt, ReadOnlyMemory<int> StopTokens);

/// <summary>
/// One conversation's llama context on a <see cref="ModelSlot"/>, whichever model it is. The context is made for
/// the model as loaded now, freed when the model unloads, and made again on next use. Each generation holds the
/// model (it cannot unload meanwhile), decodes on a thread of its own, hands its tokens to the async reader, and
/// reports its prefill and decode as telemetry.
/// </summary>
/// <remarks>Thread-safe for one generation at a time.</remarks>
internal sealed partial class LlamaConversation : IDisposable
{
    private static readonly int[] s_warmUpPrompt = [0];

    private readonly ModelSlot _slot;
    private readonly Telemetry _telemetry;
    private readonly string _sessionId;
    private readonly int _threads;
    private readonly LlamaSamplingOptions _sampling;
    private readonly ILogger _logger;
    private readonly TokenHandoff _tokens = new();
    private readonly IDisposable _unloadRegistration;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _closing = new();
    private LlamaGenerator? _generator;
    private long _generation;
    private Task<LlamaGenerator>? _making;
    private long _makingGeneration;
    private bool _disposed;

    public LlamaConversation(ModelSlot slot, Telemetry telemetry, string sessionId, int threads, LlamaSamplingOptions sampling, ILogger logger)
    {
        _slot = slot;
        _telemetry = telemetry;
        _sessionId = sessionId;
        _threads = threads;
        _sampling = sampling;
        _logger = logger;
        _unloadRegistration = slot.OnUnload(DropGenerator);
    }

    /// <summary>The context size, once a context was made; null before.</summary>
    public int? ContextSize
    {
        get
        {
            lock (_gate)
            {
                return _generator?.ContextSize;
            }
        }
    }

    /// <summary>
    /// Starts making the context in the background, once the model has loaded, rather than on the first prompt:
    /// called when the session opens. Returns at once; a failure is the first prompt's to report.
    /// </summary>
    public void StartPreparing() => _ = PrepareQuietlyAsync();

    /// <summary>Makes the context now (waiting for the model to load), rather than on the first prompt.</summary>
    /// <exception cref="InferenceException">The model cannot load, or the context cannot be made.</exception>
    public async Task PrepareAsync(CancellationToken cancellationToken)
    {
        using ModelSlot.Lease lease = await _slot.AcquireAsync(cancellationToken).ConfigureAwait(false);
        await GetGeneratorAsync(lease).WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async Task PrepareQuietlyAsync()
    {
        CancellationToken closing = _closing.Token;
        try
        {
            await PrepareAsync(closing).ConfigureAwait(false);
        }
        catch (Exception e) when (e is InferenceException or OperationCanceledException or ObjectDisposedException && !closing.IsCancellationRequested)
        {
            // The prompt that needs the context tries again and reports what failed.
            LogPrepareFailed(_logger, _sessionId, e.Message);
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
            // The session closed first.
        }
    }

    /// <summary>
    /// Streams the tokens generated for the request that <paramref name="request"/> builds from the loaded model
    /// (its vocabulary, its chat template), up to and including a stop token, at most <paramref name="maxTokens"/>.
    /// </summary>
    /// <exception cref="InferenceException">The model cannot load, or llama.cpp failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; llama.cpp stopped mid-decode.</exception>
    public async IAsyncEnumerable<int> GenerateAsync(Func<LlamaModel, LlamaRequest> request, int maxTokens, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // The model stays loaded while this generation runs; an unload asked meanwhile waits for it.
        using ModelSlot.Lease lease = await _slot.AcquireAsync(cancellationToken).ConfigureAwait(false);
        // Made in the background (or being made): a cancel while it is made answers at once, and the context is
        // there for the next prompt.
        LlamaGenerator generator = await GetGeneratorAsync(lease).WaitAsync(cancellationToken).ConfigureAwait(false);
        LlamaRequest built = request(lease.Loaded.Model);

        // Cancelled by the caller, or by us when the caller stops reading early (at a stop token the parser saw).
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        _tokens.Reset(maxTokens);
        int promptLength = built.Prompt.Length;
        ILogger logger = _logger;
        generator.PrefillProgress = decoded => LogPrefill(logger, decoded, promptLength);
        long started = Stopwatch.GetTimestamp();
        var decoding = new Thread(() => Decode(generator, built, maxTokens, stop.Token)) { IsBackground = true, Name = "llama decode" };
        decoding.Start();
        try
        {
            while (await _tokens.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_tokens.TryRead(out int token))
                {
                    yield return token;
                }
            }

            _tokens.ThrowIfFailed();
        }
        finally
        {
            // Returns only once llama.cpp has stopped and the cache is trimmed: the next turn may start at once.
            await stop.CancelAsync().ConfigureAwait(false);
            while (await _tokens.WaitToReadAsync().ConfigureAwait(false))
            {
                while (_tokens.TryRead(out _))
                {
                }
            }

            Report(generator.LastStatistics, promptLength, Stopwatch.GetElapsedTime(started));
        }
    }

    public void Dispose()
    {
        _unloadRegistration.Dispose();
        lock (_gate)
        {
            _disposed = true;
        }

        _closing.Cancel();
        DropGenerator();
    }

    // The context for the model as loaded now: the one made, the one being made, or a new one made on the native
    // worker (creating it and the warm-up decode block for a while), holding the model meanwhile.
    private Task<LlamaGenerator> GetGeneratorAsync(ModelSlot.Lease lease)
    {
        LoadedModel loaded = lease.Loaded;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_generator is not null && _generation == loaded.Generation)
            {
                return Task.FromResult(_generator);
            }

            if (_making is { IsFaulted: false, IsCanceled: false } making && _makingGeneration == loaded.Generation)
            {
                return making;
            }

            ModelSlot.Lease held = _slot.Share(lease);
            _makingGeneration = loaded.Generation;
            _making = NativeWorker.RunAsync(() => MakeGenerator(held));
            return _making;
        }
    }

    private LlamaGenerator MakeGenerator(ModelSlot.Lease lease)
    {
        using (lease)
        {
            LoadedModel loaded = lease.Loaded;
            long started = Stopwatch.GetTimestamp();
            LlamaGenerator generator;
            try
            {
                generator = new LlamaGenerator(loaded.Model, new LlamaContextOptions { ContextSize = loaded.ContextSize, Threads = _threads }, _sampling);
            }
            catch (LlamaException e)
            {
                throw new InferenceException(e.Message, e);
            }

            try
            {
                _slot.ReportStage(LoadStageEvent.ContextCreated, Stopwatch.GetElapsedTime(started), $"{generator.ContextSize}-token context for session {_sessionId}");
                if (_slot.ClaimWarmUp(loaded))
                {
                    Warm(generator);
                }

                lock (_gate)
                {
                    // Closed meanwhile: nobody will free it but us.
                    ObjectDisposedException.ThrowIf(_disposed, this);
                    _generator?.Dispose();
                    _generator = generator;
                    _generation = loaded.Generation;
                    return generator;
                }
            }
            catch
            {
                generator.Dispose();
                throw;
            }
        }
    }

    // One decode pages in the weights llama.cpp mapped but has not read, so the first prompt does not pay for it;
    // the cache is then emptied.
    private void Warm(LlamaGenerator generator)
    {
        long started = Stopwatch.GetTimestamp();
        foreach (int _ in generator.Generate(s_warmUpPrompt, 0, ReadOnlyMemory<int>.Empty, CancellationToken.None))
        {
        }

        generator.Reset();
        _slot.ReportStage(LoadStageEvent.Warm, Stopwatch.GetElapsedTime(started), "one decode");
    }

    private void DropGenerator()
    {
        lock (_gate)
        {
            _generator?.Dispose();
            _generator = null;
        }
    }

    private void Report(LlamaGenerationStatistics statistics, int promptTokens, TimeSpan total)
    {
        TimeSpan decoding = total - statistics.TimeToFirstToken;
        _telemetry.Publish(new InferenceEvent(
            _slot.Role, _sessionId, _tokens.Outcome, promptTokens, statistics.ReusedTokens, statistics.PrefilledTokens, statistics.PrefillTime.TotalMilliseconds,
            statistics.GeneratedTokens > 0 ? statistics.TimeToFirstToken.TotalMilliseconds : null, statistics.GeneratedTokens,
            statistics.GeneratedTokens > 1 && decoding > TimeSpan.Zero ? (statistics.GeneratedTokens - 1) / decoding.TotalSeconds : null));
    }

    private void Decode(LlamaGenerator generator, LlamaRequest request, int maxTokens, CancellationToken cancellationToken)
    {
        Exception? error = null;
        try
        {
            foreach (int token in generator.Generate(request.Prompt, maxTokens, request.StopTokens, cancellationToken))
            {
                _tokens.Write(token);
            }
        }
        catch (Exception e)
        {
            // Whatever stopped decoding is the reader's to see: nothing may escape this thread and end the process.
            error = e is LlamaException ? new InferenceException(e.Message, e) : e;
        }

        _tokens.Complete(error);
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: its context could not be made in advance: {Reason}")]
    private static partial void LogPrepareFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prefill: {Decoded} of {Prompt} prompt tokens in the cache")]
    private static partial void LogPrefill(ILogger logger, int decoded, int prompt);
}
