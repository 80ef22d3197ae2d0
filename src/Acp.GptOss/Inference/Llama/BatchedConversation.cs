using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// One conversation decoded together with the others on its model (<see cref="BatchDecodeLoop"/>): a sequence of
/// the shared context rather than a context of its own. Each generation holds the model; a cancel stops it at once
/// and the other conversations go on.
/// </summary>
/// <remarks>Thread-safe for one generation at a time.</remarks>
internal sealed partial class BatchedConversation(ModelSlot slot, BatchPool pool, string sessionId, ILogger logger) : ILlamaConversation
{
    // The last job: the conversation's next one waits for it (a cancelled generation may still be stopping).
    private Task _previous = Task.CompletedTask;

    public string SessionId { get; } = sessionId;

    /// <summary>The sequence the loop gave this conversation, while it has it; set under the loop's lock.</summary>
    public int? SequenceSlot { get; set; }

    /// <summary>Each sequence's context size, once the shared context was made; null before.</summary>
    public int? ContextSize => pool.Current?.ContextSize;

    /// <summary>Makes the shared context in the background once the model has loaded; a failure is the first prompt's.</summary>
    public void StartPreparing() => _ = PrepareQuietlyAsync();

    /// <summary>Streams the completion of <paramref name="prompt"/>: as <see cref="IInferenceSession.GenerateAsync"/>.</summary>
    public async IAsyncEnumerable<int> GenerateAsync(
        ReadOnlyMemory<int> prompt, int maxTokens, ReadOnlyMemory<int> stopTokens, LlamaCpp.LlamaSamplingOptions? sampling, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        await WaitForPreviousAsync(cancellationToken).ConfigureAwait(false);
        (BatchDecodeLoop loop, ModelSlot.Lease lease) = await AcquireAsync(cancellationToken).ConfigureAwait(false);
        var job = BatchJob.Generate(this, lease, prompt, maxTokens, stopTokens, sampling);
        Submit(loop, job);
        TokenHandoff tokens = job.Tokens!;
        using CancellationTokenRegistration abandon = cancellationToken.UnsafeRegister(
            static state =>
            {
                var (loop, job) = ((BatchDecodeLoop, BatchJob))state!;
                job.Tokens!.Abandon();
                loop.Cancel(job);
            },
            (loop, job));
        try
        {
            await foreach (int token in tokens.ReadAllAsync(cancellationToken).ConfigureAwait(false))
            {
                yield return token;
            }
        }
        finally
        {
            // The reader stopped early (at a stop token its parser saw): the sequence stops too.
            if (!job.Done.IsCompleted)
            {
                loop.Cancel(job);
            }
        }
    }

    /// <summary>Saves the conversation's sequence state, cut to <paramref name="history"/>; false when it has none now.</summary>
    public async Task<bool> SaveStateAsync(string path, ReadOnlyMemory<int> history, CancellationToken cancellationToken)
    {
        await WaitForPreviousAsync(cancellationToken).ConfigureAwait(false);
        if (slot.TryAcquire() is not { } lease)
        {
            return false;
        }

        // Neither the model nor the shared context is made for a save; whether the conversation still has a
        // sequence to save is the loop's to say (a job that may only run on its own).
        if (pool.Current is not { } loop || loop.Generation != lease.Loaded.Generation)
        {
            lease.Dispose();
            return false;
        }

        var job = BatchJob.State(
            this, lease, sequence => SavedState.Save(path, SessionId, logger, () => sequence.SaveState(path, history.Span), () => sequence.CachedTokenCount), ownSequenceOnly: true);
        Submit(loop, job);
        return await job.Done.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Restores a saved state onto a sequence for this conversation (loading the model if needed).</summary>
    public async Task<bool> TryRestoreStateAsync(string path, CancellationToken cancellationToken)
    {
        await WaitForPreviousAsync(cancellationToken).ConfigureAwait(false);
        if (!File.Exists(path))
        {
            return false;
        }

        (BatchDecodeLoop loop, ModelSlot.Lease lease) = await AcquireAsync(cancellationToken).ConfigureAwait(false);
        var job = BatchJob.State(
            this, lease, sequence => SavedState.Restore(path, SessionId, slot, logger, sequence.TryRestoreState, () => sequence.CachedTokenCount), ownSequenceOnly: false);
        Submit(loop, job);
        return await job.Done.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    public void Dispose() => pool.Current?.Release(this);

    // Cancellably: the job before may be a restore still queued for a sequence.
    private async Task WaitForPreviousAsync(CancellationToken cancellationToken)
    {
        await _previous.WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        cancellationToken.ThrowIfCancellationRequested();
    }

    // One job at a time: the next waits for this one.
    private void Submit(BatchDecodeLoop loop, BatchJob job)
    {
        _previous = job.Done;
        loop.Submit(job);
    }

    private async Task<(BatchDecodeLoop Loop, ModelSlot.Lease Lease)> AcquireAsync(CancellationToken cancellationToken)
    {
        // The model stays loaded while the job runs; the loop releases it when the job is done.
        ModelSlot.Lease lease = await slot.AcquireAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return (await pool.GetAsync(lease).WaitAsync(cancellationToken).ConfigureAwait(false), lease);
        }
        catch
        {
            lease.Dispose();
            throw;
        }
    }

    private async Task PrepareQuietlyAsync()
    {
        try
        {
            (_, ModelSlot.Lease lease) = await AcquireAsync(CancellationToken.None).ConfigureAwait(false);
            lease.Dispose();
        }
        catch (Exception e) when (e is InferenceException or ObjectDisposedException)
        {
            // The prompt that needs the context tries again and reports what failed.
            LogPrepareFailed(logger, SessionId, e.Message);
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Session {SessionId}: the shared context could not be made in advance: {Reason}")]
    private static partial void LogPrepareFailed(ILogger logger, string sessionId, string reason);
}
