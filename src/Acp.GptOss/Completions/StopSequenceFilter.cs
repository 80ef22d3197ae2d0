using System.Text;

namespace Acp.GptOss.Completions;

/// <summary>
/// Cuts a text stream at the first of the caller's stop sequences. Text that could be the start of one is held back
/// until the next text decides, so a stop split across tokens is still found and never shown in part.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class StopSequenceFilter(IReadOnlyList<string> stops)
{
    private readonly string[] _stops = [.. stops.Where(s => s.Length > 0)];
    private readonly StringBuilder _held = new();

    /// <summary>A stop sequence was found: the stream is over.</summary>
    public bool Matched { get; private set; }

    /// <summary>Adds text; returns what may be shown now (possibly empty).</summary>
    public string Push(string text)
    {
        if (Matched)
        {
            return "";
        }

        if (_stops.Length == 0)
        {
            return text;
        }

        _held.Append(text);
        string held = _held.ToString();
        int first = -1;
        foreach (string stop in _stops)
        {
            int at = held.IndexOf(stop, StringComparison.Ordinal);
            if (at >= 0 && (first < 0 || at < first))
            {
                first = at;
            }
        }

        if (first >= 0)
        {
            Matched = true;
            _held.Clear();
            return held[..first];
        }

        // Hold back the longest end of the text that some stop begins with.
        int keep = 0;
        foreach (string stop in _stops)
        {
            for (int n = Math.Min(stop.Length - 1, held.Length); n > keep; n--)
            {
                if (held.AsSpan(held.Length - n).SequenceEqual(stop.AsSpan(0, n)))
                {
                    keep = n;
                    break;
                }
            }
        }

        _held.Remove(0, held.Length - keep);
        return held[..^keep];
    }

    /// <summary>The stream ended without a stop: what was held back is shown after all.</summary>
    public string Flush()
    {
        string held = _held.ToString();
        _held.Clear();
        return held;
    }
}
