namespace Acp.GptOss.Inference.Llama;

/// <summary>When an unused model unloads by itself: after a set time without use, checked a few times per that time.</summary>
internal sealed class IdleUnloadPolicy : IAsyncDisposable
{
    private readonly ITimer _timer;

    /// <param name="after">How long a model may stay unused.</param>
    /// <param name="time">The clock and its timers.</param>
    /// <param name="check">Called on each tick: unloads the model if it is due.</param>
    public IdleUnloadPolicy(TimeSpan after, TimeProvider time, Action check)
    {
        After = after;
        // Checked a few times per idle period, so a model unloads at most a quarter period late.
        TimeSpan period = after / 4 > TimeSpan.FromMilliseconds(10) ? after / 4 : TimeSpan.FromMilliseconds(10);
        _timer = time.CreateTimer(_ => check(), null, period, period);
    }

    public TimeSpan After { get; }

    /// <summary>Whether a model unused this long unloads.</summary>
    public bool IsDue(TimeSpan unused) => unused >= After;

    public ValueTask DisposeAsync() => _timer.DisposeAsync();
}
