namespace Acp.GptOss.Models;

/// <summary>Bytes per second over the last few seconds, so a stall or a burst shows soon rather than averaged away.</summary>
/// <remarks>Not thread-safe: one download owns it.</remarks>
internal sealed class SpeedMeter(TimeProvider time)
{
    private static readonly TimeSpan s_window = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan s_sampleEvery = TimeSpan.FromMilliseconds(200);

    private readonly Queue<(long Timestamp, long Bytes)> _samples = new();
    private long _bytes;
    private long _lastSample;

    /// <summary>Every byte counted.</summary>
    public long Total => _bytes;

    /// <summary>The current rate.</summary>
    public double BytesPerSecond { get; private set; }

    /// <summary>Counts <paramref name="bytes"/> received now.</summary>
    public void Add(long bytes)
    {
        _bytes += bytes;
        long now = time.GetTimestamp();
        if (_samples.Count == 0)
        {
            _samples.Enqueue((now, _bytes - bytes));
            _lastSample = now;
            return;
        }

        if (time.GetElapsedTime(_lastSample, now) >= s_sampleEvery)
        {
            _samples.Enqueue((now, _bytes));
            _lastSample = now;
        }

        // Keep one sample older than the window, so the rate always spans it once it can.
        while (_samples.Count > 2 && time.GetElapsedTime(_samples.ElementAt(1).Timestamp, now) > s_window)
        {
            _samples.Dequeue();
        }

        (long since, long then) = _samples.Peek();
        double seconds = time.GetElapsedTime(since, now).TotalSeconds;
        BytesPerSecond = seconds > 0 ? (_bytes - then) / seconds : 0;
    }
}
