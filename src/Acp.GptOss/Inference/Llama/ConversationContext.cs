using System.Diagnostics;
using LlamaCpp;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// A <see cref="LlamaConversation"/>'s llama context (its generator and KV cache), made for the model as loaded
/// now: made on the native worker the first time a load needs it (the first after each load also warms the model
/// up), freed when the model unloads, and made again on next use. A context a generation still decodes in is freed
/// by that generation once it stops, when the conversation closed meanwhile.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class ConversationContext(ModelSlot slot, string sessionId, int threads, LlamaSamplingOptions sampling)
{
    private static readonly int[] s_warmUpPrompt = [0];

    private readonly Lock _gate = new();
    private LlamaGenerator? _generator;
    private long _generation;
    private Task<LlamaGenerator>? _making;
    private long _makingGeneration;
    private bool _closed;
    private bool _running;

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
    /// The context for the model <paramref name="lease"/> holds: the one made, the one being made, or a new one made
    /// on the native worker (creating it and the warm-up decode block for a while), holding the model meanwhile.
    /// </summary>
    public Task<LlamaGenerator> GetAsync(ModelSlot.Lease lease)
    {
        LoadedModel loaded = lease.Loaded;
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_closed, this);
            if (_generator is not null && _generation == loaded.Generation)
            {
                return Task.FromResult(_generator);
            }

            if (_making is { IsFaulted: false, IsCanceled: false } making && _makingGeneration == loaded.Generation)
            {
                return making;
            }

            ModelSlot.Lease held = slot.Share(lease);
            _makingGeneration = loaded.Generation;
            _making = NativeWorker.RunAsync(() => Make(held));
            return _making;
        }
    }

    /// <summary>
    /// The context made for the model <paramref name="lease"/> holds, marked in use as by <see cref="BeginRun"/>
    /// (end it with <see cref="EndRun"/>); null when there is none (not made yet, or dropped by an unload) or the
    /// conversation closed.
    /// </summary>
    public LlamaGenerator? TryBeginRun(ModelSlot.Lease lease)
    {
        lock (_gate)
        {
            if (_closed || _generator is null || _generation != lease.Loaded.Generation)
            {
                return null;
            }

            _running = true;
            return _generator;
        }
    }

    /// <summary>A generation decodes in the context from now until <see cref="EndRun"/>.</summary>
    public void BeginRun()
    {
        lock (_gate)
        {
            _running = true;
        }
    }

    /// <summary>The generation's thread is done with the context: it frees it if the conversation closed meanwhile.</summary>
    public void EndRun()
    {
        lock (_gate)
        {
            _running = false;
            if (_closed)
            {
                // The conversation closed while this generation was stopping.
                _generator?.Dispose();
                _generator = null;
            }
        }
    }

    /// <summary>Frees the context now, unless a generation still decodes in it: then that one does, at its end.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
            if (_running)
            {
                // A cancelled generation is still stopping: its thread frees the context when done.
                return;
            }
        }

        Drop();
    }

    /// <summary>Frees the context, if one was made: the model is about to unload.</summary>
    public void Drop()
    {
        lock (_gate)
        {
            _generator?.Dispose();
            _generator = null;
        }
    }

    private LlamaGenerator Make(ModelSlot.Lease lease)
    {
        using (lease)
        {
            LoadedModel loaded = lease.Loaded;
            long started = Stopwatch.GetTimestamp();
            LlamaGenerator generator;
            try
            {
                generator = new LlamaGenerator(loaded.Model, new LlamaContextOptions { ContextSize = loaded.ContextSize, Threads = threads }, sampling);
            }
            catch (LlamaException e)
            {
                throw new InferenceException(e.Message, e);
            }

            try
            {
                slot.ReportStage(LoadStageEvent.ContextCreated, Stopwatch.GetElapsedTime(started), $"{generator.ContextSize}-token context for session {sessionId}");
                if (slot.ClaimWarmUp(loaded))
                {
                    Warm(generator);
                }

                lock (_gate)
                {
                    // Closed meanwhile: nobody will free it but us.
                    ObjectDisposedException.ThrowIf(_closed, this);
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
        slot.ReportStage(LoadStageEvent.Warm, Stopwatch.GetElapsedTime(started), "one decode");
    }
}
