using Acp.GptOss.Api;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Api;

/// <summary>The API's admission: generations beyond the slots wait in order; beyond the queue, 429 with Retry-After.</summary>
public sealed class SessionPoolTests
{
    [Fact]
    public async Task A_request_beyond_a_full_queue_is_refused_with_429_and_the_waiting_one_runs_when_a_slot_frees()
    {
        await using var pool = new SessionPool(new FakeEngine("<|channel|>final<|message|>Hi.<|return|>"), size: 1, maxWaiting: 1);
        GenerationLease running = await pool.AcquireAsync(CancellationToken.None);
        Task<GenerationLease> waiting = pool.AcquireAsync(CancellationToken.None).AsTask();

        ApiException refused = await Assert.ThrowsAsync<ApiException>(() => pool.AcquireAsync(CancellationToken.None).AsTask());

        Assert.Equal(429, refused.Status);
        Assert.Equal("queue_full", refused.Code);
        Assert.Equal(SessionPool.QueueFullRetryAfterSeconds, refused.RetryAfterSeconds);
        Assert.False(waiting.IsCompleted);
        Assert.Equal(1, pool.Waiting);
        await running.DisposeAsync();
        await using GenerationLease next = await waiting.WaitAsync(AgentHarness.Timeout);
        Assert.Equal(0, pool.Waiting);
        Assert.Equal(1, pool.Running);
    }
}
