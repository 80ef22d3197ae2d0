using System.Collections.Concurrent;
using System.Net;

namespace Acp.GptOss.Relay;

/// <summary>Counts refused tokens per address and blocks an address that guesses too often.</summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class AuthFailureLimiter(int maxFailures, TimeSpan window, TimeProvider time)
{
    // Enough addresses to remember; beyond it, expired entries are dropped so a scan cannot grow memory forever.
    private const int PruneAbove = 4096;

    private readonly ConcurrentDictionary<IPAddress, Entry> _entries = new();

    /// <summary>True while <paramref name="address"/> is blocked.</summary>
    public bool IsBlocked(IPAddress address)
    {
        if (!_entries.TryGetValue(address, out Entry? entry))
        {
            return false;
        }

        lock (entry)
        {
            return entry.BlockedUntil > time.GetUtcNow();
        }
    }

    /// <summary>Records a failure; true when this one started a block (to be logged once).</summary>
    public bool RecordFailure(IPAddress address)
    {
        DateTimeOffset now = time.GetUtcNow();
        if (_entries.Count > PruneAbove)
        {
            foreach ((IPAddress key, Entry old) in _entries)
            {
                if (old.WindowStart + window < now && old.BlockedUntil < now)
                {
                    _entries.TryRemove(key, out _);
                }
            }
        }

        Entry entry = _entries.GetOrAdd(address, _ => new Entry { WindowStart = now });
        lock (entry)
        {
            if (entry.WindowStart + window <= now)
            {
                entry.WindowStart = now;
                entry.Failures = 0;
            }

            entry.Failures++;
            if (entry.Failures > maxFailures && entry.BlockedUntil <= now)
            {
                entry.BlockedUntil = now + window;
                entry.WindowStart = now + window;
                entry.Failures = 0;
                return true;
            }

            return false;
        }
    }

    private sealed class Entry
    {
        public DateTimeOffset WindowStart { get; set; }

        public int Failures { get; set; }

        public DateTimeOffset BlockedUntil { get; set; }
    }
}
