namespace Acp.GptOss.Models;

/// <summary>Cancels an attempt that receives nothing for too long: <see cref="Restart"/> it on every read.</summary>
/// <remarks>Not thread-safe: one attempt owns it.</remarks>
internal sealed class StallWatch : IDisposable
{
    private readonly CancellationTokenSource _timer;
    private readonly CancellationTokenSource _linked;
    private readonly TimeSpan _timeout;

    public StallWatch(TimeSpan timeout, TimeProvider time, CancellationToken cancellationToken)
    {
        _timeout = timeout;
        _timer = new CancellationTokenSource(Timeout.InfiniteTimeSpan, time);
        _linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _timer.Token);
        Restart();
    }

    public CancellationToken Token => _linked.Token;

    public bool Stalled => _timer.IsCancellationRequested;

    public void Restart() => _timer.CancelAfter(_timeout);

    public void Dispose()
    {
        _linked.Dispose();
        _timer.Dispose();
    }
}
