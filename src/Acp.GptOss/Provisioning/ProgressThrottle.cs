namespace Acp.GptOss.Provisioning;

/// <summary>
/// Lets a report through at most once per interval, by the clock it is given, so that a download that reads a
/// quarter megabyte at a time does not flood the editor with updates; a report that must be seen (a phase change,
/// the last byte) is forced through.
/// </summary>
/// <remarks>Not thread-safe: the caller serializes.</remarks>
internal sealed class ProgressThrottle(TimeProvider time, TimeSpan interval)
{
    private long? _last;

    /// <summary>The clock it goes by.</summary>
    public TimeProvider Time => time;

    /// <summary>Whether a report may go now; when it may, the interval starts again from now.</summary>
    /// <param name="force">A report that must be seen, whatever the interval.</param>
    /// <param name="wait">When it may not: how long until one may.</param>
    public bool Allow(bool force, out TimeSpan wait)
    {
        long now = time.GetTimestamp();
        wait = TimeSpan.Zero;
        if (!force && _last is { } last && time.GetElapsedTime(last, now) is var elapsed && elapsed < interval)
        {
            wait = interval - elapsed;
            return false;
        }

        _last = now;
        return true;
    }
}
