using System.Text;
using Harmony;

namespace Acp.GptOss.Completions;

/// <summary>
/// A completion as text, for callers who render and parse Harmony themselves: every generated id, special ones
/// written with their literal spellings (<c>&lt;|channel|&gt;</c>, the <c>&lt;|return|&gt;</c> or <c>&lt;|call|&gt;</c>
/// that ended it), a UTF-8 character split across tokens written whole. It stops at Harmony's sampling stops and
/// at the caller's stop sequences, which are left out.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class RawTextDecoder(IHarmonyTokenizer tokenizer, IReadOnlyList<string> stopSequences) : ICompletionDecoder
{
    private readonly Decoder _utf8 = new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetDecoder();
    private readonly StopSequenceFilter _stops = new(stopSequences);
    private readonly List<CompletionEvent> _events = [];
    private char[] _chars = new char[64];
    private bool _ended;
    private bool _cancelled;
    private bool _truncated;

    public bool IsStopped => _ended || _stops.Matched;

    public CompletionFinishReason FinishReason =>
        _cancelled ? CompletionFinishReason.Cancelled
        : _truncated && !_stops.Matched ? CompletionFinishReason.Length
        : CompletionFinishReason.Stop;

    public void Push(int token)
    {
        if (IsStopped)
        {
            return;
        }

        HarmonySpecialTokens specials = tokenizer.SpecialTokens;
        if (specials.IsOrdinary(token))
        {
            Decode(tokenizer.GetTokenBytes(token), flush: false);
            return;
        }

        Decode([], flush: true);
        Text(specials.GetSpelling(token) ?? $"<|reserved_{token}|>");
        _ended = specials.SamplingStops.Contains(token);
        if (_ended && !_stops.Matched)
        {
            Emit(_stops.Flush());
        }
    }

    public void Finish()
    {
        _truncated = !_ended;
        Decode([], flush: true);
        if (!_stops.Matched)
        {
            Emit(_stops.Flush());
        }
    }

    public void Cancel() => _cancelled = true;

    public void TakeEvents(List<CompletionEvent> events)
    {
        events.AddRange(_events);
        _events.Clear();
    }

    private void Decode(ReadOnlySpan<byte> bytes, bool flush)
    {
        // Invalid bytes become U+FFFD; a character still incomplete at a flush too. At most 3 bytes wait from before.
        if (_chars.Length < bytes.Length + 4)
        {
            _chars = new char[bytes.Length + 4];
        }

        int count = _utf8.GetChars(bytes, _chars, flush);
        if (count > 0)
        {
            Text(new string(_chars, 0, count));
        }
    }

    private void Text(string text) => Emit(_stops.Push(text));

    private void Emit(string text)
    {
        if (text.Length > 0)
        {
            _events.Add(new ContentDelta(text));
        }
    }
}
