using System.Runtime.CompilerServices;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// One conversation on a <see cref="ModelSlot"/>, whichever model it is, with a llama context of its own (a
/// <see cref="ConversationContext"/>: made for the model as loaded now, freed when the model unloads, and made again
/// on next use). Each generation holds the model (it cannot unload meanwhile), decodes on a thread of its own, hands
/// its tokens to the async reader, and reports its prefill and decode as telemetry. A cancelled generation returns
/// at once, without waiting for llama.cpp: its abort lands between graph nodes, and a node of a large model on a CPU
/// can take longer than a user should wait for "cancelled". Its thread finishes stopping (llama.cpp returns, the
/// cache is trimmed, the model is released) in the background, and the conversation's next generation waits for that.
/// </summary>
/// <remarks>Thread-safe for one generation at a time.</remarks>
internal sealed partial class LlamaConversation : ILlamaConversation
{
    private readonly ModelSlot _slot;
    private readonly ConversationContext _context;
    private readonly Telemetry _telemetry;
    private readonly string _sessionId;
    private readonly ILogger _logger;
    private readonly IDisposable _unloadRegistration;
    private readonly CancellationTokenSource _closing = new();

    // The last generation's thread: done once llama.cpp has stopped, the cache is trimmed and the model released.
    private Task _decoding = Task.CompletedTask;

    public LlamaConversation(ModelSlot slot, Telemetry telemetry, string sessionId, int threads, LlamaSamplingOptions sampling, ILogger logger)
    {
        _slot = slot;
        _context = new ConversationContext(slot, sessionId, threads, sampling);
        _telemetry = telemetry;
        _sessionId = sessionId;
        _logger = logger;
        _unloadRegistration = slot.OnUnload(_context.Drop);
    }

    /// <summary>The context size, once a context was made; null before.</summary>
    public int? ContextSize => _context.ContextSize;

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
        await _context.GetAsync(lease).WaitAsync(cancellationToken).ConfigureAwait(false);
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

    /// <inheritdoc />
    public IAsyncEnumerable<int> GenerateAsync(
        ReadOnlyMemory<int> prompt, int maxTokens, ReadOnlyMemory<int> stopTokens, LlamaSamplingOptions? sampling, CancellationToken cancellationToken) =>
        GenerateAsync(_ => new LlamaRequest(prompt, stopTokens, sampling), maxTokens, cancellationToken);

    /// <summary>
    /// Streams the tokens generated for the request that <paramref name="request"/> builds from the loaded model
    /// (its vocabulary, its chat template), up to and including a stop token, at most <paramref name="maxTokens"/>.
    /// </summary>
    /// <exception cref="InferenceException">The model cannot load, or llama.cpp failed.</exception>
    /// <exception cref="OperationCanceledException">Cancelled, at once: llama.cpp finishes stopping in the background.</exception>
    public async IAsyncEnumerable<int> GenerateAsync(Func<LlamaModel, LlamaRequest> request, int maxTokens, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        // A cancelled generation may still be stopping: this one decodes in the same context, after it.
        await _decoding.WaitAsync(cancellationToken).ConfigureAwait(false);

        // The model stays loaded while this generation runs; an unload asked meanwhile waits for it. The decode
        // thread releases it once llama.cpp has stopped.
        ModelSlot.Lease lease = await _slot.AcquireAsync(cancellationToken).ConfigureAwait(false);
        LlamaGenerator generator;
        LlamaRequest built;
        try
        {
            // Made in the background (or being made): a cancel while it is made answers at once, and the context is
            // there for the next prompt.
            generator = await _context.GetAsync(lease).WaitAsync(cancellationToken).ConfigureAwait(false);
            built = request(lease.Loaded.Model);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        // Cancelled by the caller, or by us when the caller stops reading early (at a stop token the parser saw).
        var run = new DecodeRun(CancellationTokenSource.CreateLinkedTokenSource(cancellationToken), new TokenHandoff(maxTokens), lease);
        int promptLength = built.Prompt.Length;
        ILogger logger = _logger;
        generator.PrefillProgress = decoded => LogPrefill(logger, decoded, promptLength);
        _decoding = run.Done;
        _context.BeginRun();

        var decoding = new Thread(() => Decode(generator, built, maxTokens, run)) { IsBackground = true, Name = "llama decode" };
        decoding.Start();
        TokenHandoff tokens = run.Tokens;
        using CancellationTokenRegistration abandon = cancellationToken.UnsafeRegister(static state => ((TokenHandoff)state!).Abandon(), tokens);
        try
        {
            await foreach (int token in tokens.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return token;
            }
        }
        finally
        {
            // Stops the decode if it still runs, without waiting for llama.cpp to return: the next generation does.
            run.Stop();
        }
    }

    /// <summary>
    /// Writes the context's KV state of <paramref name="history"/> and its tokens to <paramref name="path"/>, after
    /// the last generation has stopped and before the next starts. Nothing to save (false) when the model is not loaded now (an unload
    /// dropped the context) or no context was made: this neither loads the model nor makes one.
    /// </summary>
    /// <exception cref="InferenceException">The state could not be copied or written.</exception>
    public async Task<bool> SaveStateAsync(string path, ReadOnlyMemory<int> history, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        await _decoding.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_slot.TryAcquire() is not { } lease)
        {
            return false;
        }

        if (_context.TryBeginRun(lease) is not { } generator)
        {
            lease.Dispose();
            return false;
        }

        string sessionId = _sessionId;
        ILogger logger = _logger;
        return await BetweenGenerations(lease, () => SavedState.Save(path, sessionId, logger, () => generator.SaveState(path, history.Span), () => generator.CachedTokenCount))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Loads a state <see cref="SaveStateAsync"/> wrote into this conversation's context (loading the model and
    /// making the context if needed), before the next generation: a refused file (missing, of another model, context
    /// size or llama.cpp build, damaged) is false, logged and deleted, and the next prompt is prefilled whole.
    /// </summary>
    /// <exception cref="InferenceException">The model cannot load, or the context cannot be made.</exception>
    public async Task<bool> TryRestoreStateAsync(string path, CancellationToken cancellationToken)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        await _decoding.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (!File.Exists(path))
        {
            // Nothing to restore: no reason to load the model for it.
            return false;
        }

        ModelSlot.Lease lease = await _slot.AcquireAsync(cancellationToken).ConfigureAwait(false);
        LlamaGenerator? generator;
        try
        {
            await _context.GetAsync(lease).WaitAsync(cancellationToken).ConfigureAwait(false);
            generator = _context.TryBeginRun(lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }

        if (generator is null)
        {
            // Closed, or unloaded and reloaded meanwhile: nothing restored, the next prompt prefills.
            lease.Dispose();
            return false;
        }

        string sessionId = _sessionId;
        ILogger logger = _logger;
        ModelSlot slot = _slot;
        return await BetweenGenerations(lease, () => SavedState.Restore(path, sessionId, slot, logger, generator.TryRestoreState, () => generator.CachedTokenCount))
            .WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    // Runs work on the context (marked in use by TryBeginRun) on a thread of its own, as a generation decodes: the
    // next generation waits for it, a cancel of the caller does not stop it, and it ends by releasing the model.
    private Task<bool> BetweenGenerations(ModelSlot.Lease lease, Func<bool> work)
    {
        var result = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        var done = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _decoding = done.Task;
        new Thread(() =>
        {
            try
            {
                result.SetResult(work());
            }
#pragma warning disable CA1031 // Whatever the work throws is its caller's to see; nothing may end the process.
            catch (Exception e)
#pragma warning restore CA1031
            {
                result.SetException(e);
            }
            finally
            {
                _context.EndRun();
                lease.Dispose();
                done.SetResult();
            }
        })
        { IsBackground = true, Name = "llama state" }.Start();
        return result.Task;
    }

    public void Dispose()
    {
        _unloadRegistration.Dispose();
        // A context still being made in advance is not wanted any more.
        _closing.Cancel();
        _context.Close();
    }

    private void Report(LlamaGenerationStatistics statistics, LlamaGenerationTimings timings, Exception? error, int promptTokens)
    {
        TimeSpan decoding = timings.Total - statistics.TimeToFirstToken;
        string outcome = error switch
        {
            null => "done",
            OperationCanceledException => "cancelled",
            _ => "failed",
        };
        _telemetry.Publish(new InferenceEvent(
            _slot.Role, _sessionId, outcome, promptTokens, statistics.ReusedTokens, statistics.PrefilledTokens, statistics.PrefillTime.TotalMilliseconds,
            statistics.GeneratedTokens > 0 ? statistics.TimeToFirstToken.TotalMilliseconds : null, statistics.GeneratedTokens,
            statistics.GeneratedTokens > 1 && decoding > TimeSpan.Zero ? (statistics.GeneratedTokens - 1) / decoding.TotalSeconds : null,
            timings.Sampling.TotalMilliseconds, timings.Decoding.TotalMilliseconds, timings.Delivery.TotalMilliseconds, timings.Total.TotalMilliseconds,
            timings.AbortStop?.TotalMilliseconds));
    }

    private void Decode(LlamaGenerator generator, LlamaRequest request, int maxTokens, DecodeRun run)
    {
        Exception? error = null;
        try
        {
            foreach (int token in generator.Generate(request.Prompt, maxTokens, request.StopTokens, run.Token, request.Sampling))
            {
                run.Tokens.Write(token);
            }
        }
        catch (Exception e)
        {
            // Whatever stopped decoding is the reader's to see: nothing may escape this thread and end the process.
            error = e is LlamaException ? new InferenceException(e.Message, e) : e;
        }

        try
        {
            // Reported before the reader resumes: the figures come before the turn's answer.
            Report(generator.LastStatistics, generator.LastTimings, error, request.Prompt.Length);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A subscriber's failure is not the generation's.
            LogReportFailed(_logger, e);
        }

        _context.EndRun();
        run.Finish();
        run.Tokens.Complete(error);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting a generation failed")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: its context could not be made in advance: {Reason}")]
    private static partial void LogPrepareFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prefill: {Decoded} of {Prompt} prompt tokens in the cache")]
    private static partial void LogPrefill(ILogger logger, int decoded, int prompt);
}
