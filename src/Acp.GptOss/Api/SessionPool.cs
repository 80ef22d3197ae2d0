using System.Collections.Concurrent;
using Acp.GptOss.Inference;

namespace Acp.GptOss.Api;

/// <summary>
/// Up to a fixed number of engine sessions for API requests, made on demand and kept between requests, so a chat
/// that comes back with its history reuses the KV cache of its prefix. Requests beyond that wait, cancellably, in
/// order; beyond <paramref name="maxWaiting"/> waiting, a request is refused with 429 and <c>Retry-After</c>.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class SessionPool(IInferenceEngine engine, int size, int maxWaiting = int.MaxValue) : IGenerationSlots
{
    /// <summary>What a refused request is told to wait before it tries again.</summary>
    public const int QueueFullRetryAfterSeconds = 2;

    private readonly SemaphoreSlim _slots = new(size, size);
    private readonly ConcurrentStack<IInferenceSession> _idle = new();
    private int _waiting;
    private int _running;
    private int _made;
    private bool _disposed;

    public int Waiting => Volatile.Read(ref _waiting);

    public int Running => Volatile.Read(ref _running);

    public async ValueTask<GenerationLease> AcquireAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (Interlocked.Increment(ref _waiting) > maxWaiting && _slots.CurrentCount == 0)
        {
            Interlocked.Decrement(ref _waiting);
            throw new ApiException(
                Microsoft.AspNetCore.Http.StatusCodes.Status429TooManyRequests,
                $"{maxWaiting} requests are already waiting for the model; try again shortly.",
                code: "queue_full",
                type: "rate_limit_error")
            {
                RetryAfterSeconds = QueueFullRetryAfterSeconds,
            };
        }

        try
        {
            await _slots.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref _waiting);
        }

        try
        {
            if (!_idle.TryPop(out IInferenceSession? session))
            {
                session = await engine.CreateSessionAsync($"api-{Interlocked.Increment(ref _made)}", cancellationToken).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _running);
            return new GenerationLease(session, ReleaseAsync);
        }
        catch
        {
            _slots.Release();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _disposed = true;
        while (_idle.TryPop(out IInferenceSession? session))
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async ValueTask ReleaseAsync(IInferenceSession session, bool failed)
    {
        Interlocked.Decrement(ref _running);
        try
        {
            if (failed || _disposed)
            {
                await session.DisposeAsync().ConfigureAwait(false);
            }
            else
            {
                _idle.Push(session);
            }
        }
        finally
        {
            _slots.Release();
        }
    }
}
