using System.Collections.Frozen;

namespace Harmony;

/// <summary>
/// The special token ids of a Harmony vocabulary. Everything Harmony does with structure (rendering, stop
/// conditions, parsing) goes through these ids, never through their spellings.
/// </summary>
/// <remarks>Immutable and thread-safe.</remarks>
public sealed class HarmonySpecialTokens
{
    private readonly FrozenDictionary<int, string> _spellingsById;
    private readonly FrozenDictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _idsBySpelling;
    private readonly int[] _samplingStops;

    /// <summary>Creates the id set of a vocabulary.</summary>
    /// <param name="start">Id of <c>&lt;|start|&gt;</c>.</param>
    /// <param name="end">Id of <c>&lt;|end|&gt;</c>.</param>
    /// <param name="message">Id of <c>&lt;|message|&gt;</c>.</param>
    /// <param name="channel">Id of <c>&lt;|channel|&gt;</c>.</param>
    /// <param name="constrain">Id of <c>&lt;|constrain|&gt;</c>.</param>
    /// <param name="return">Id of <c>&lt;|return|&gt;</c>.</param>
    /// <param name="call">Id of <c>&lt;|call|&gt;</c>.</param>
    /// <param name="endOfText">Id of <c>&lt;|endoftext|&gt;</c>.</param>
    /// <param name="firstSpecialId">Every id below this one is ordinary text; every id from it on is special.</param>
    /// <param name="spellings">The literal spelling of every special id, structural ones included.</param>
    public HarmonySpecialTokens(
        int start, int end, int message, int channel, int constrain, int @return, int call, int endOfText,
        int firstSpecialId, IReadOnlyDictionary<int, string> spellings)
    {
        ArgumentNullException.ThrowIfNull(spellings);
        Start = start;
        End = end;
        Message = message;
        Channel = channel;
        Constrain = constrain;
        Return = @return;
        Call = call;
        EndOfText = endOfText;
        FirstSpecialId = firstSpecialId;
        _samplingStops = [@return, call, endOfText];

        foreach (int id in (ReadOnlySpan<int>)[start, end, message, channel, constrain, @return, call, endOfText])
        {
            if (id < firstSpecialId)
            {
                throw new ArgumentException($"Special id {id} lies below the first special id {firstSpecialId}.", nameof(firstSpecialId));
            }

            if (!spellings.ContainsKey(id))
            {
                throw new ArgumentException($"Special id {id} has no spelling.", nameof(spellings));
            }
        }

        _spellingsById = spellings.ToFrozenDictionary();
        _idsBySpelling = spellings.ToFrozenDictionary(pair => pair.Value, pair => pair.Key, StringComparer.Ordinal)
            .GetAlternateLookup<ReadOnlySpan<char>>();
    }

    /// <summary>The o200k_harmony ids that every GPT-OSS model uses.</summary>
    public static HarmonySpecialTokens O200kHarmony { get; } = CreateO200kHarmony();

    /// <summary>Id of <c>&lt;|start|&gt;</c>: starts a message; the header follows.</summary>
    public int Start { get; }

    /// <summary>Id of <c>&lt;|end|&gt;</c>: ends a message. Never a sampling stop.</summary>
    public int End { get; }

    /// <summary>Id of <c>&lt;|message|&gt;</c>: ends the header; content follows.</summary>
    public int Message { get; }

    /// <summary>Id of <c>&lt;|channel|&gt;</c>: the next header word is the channel.</summary>
    public int Channel { get; }

    /// <summary>Id of <c>&lt;|constrain|&gt;</c>: introduces a content type in a header.</summary>
    public int Constrain { get; }

    /// <summary>Id of <c>&lt;|return|&gt;</c>: ends the final message and the completion.</summary>
    public int Return { get; }

    /// <summary>Id of <c>&lt;|call|&gt;</c>: ends a tool call and the completion.</summary>
    public int Call { get; }

    /// <summary>Id of <c>&lt;|endoftext|&gt;</c>: end of generation, outside the Harmony grammar.</summary>
    public int EndOfText { get; }

    /// <summary>Every id below this one is ordinary text.</summary>
    public int FirstSpecialId { get; }

    /// <summary>The ids that end sampling: return, call and end-of-text. <c>&lt;|end|&gt;</c> is never one.</summary>
    public ReadOnlySpan<int> SamplingStops => _samplingStops;

    /// <summary>Whether <paramref name="id"/> is ordinary text rather than a special token.</summary>
    public bool IsOrdinary(int id) => (uint)id < (uint)FirstSpecialId;

    /// <summary>The literal spelling of a special id, such as <c>&lt;|channel|&gt;</c>, or null for other ids.</summary>
    public string? GetSpelling(int id) => _spellingsById.GetValueOrDefault(id);

    /// <summary>The id whose literal spelling is <paramref name="spelling"/>.</summary>
    public bool TryGetId(ReadOnlySpan<char> spelling, out int id) => _idsBySpelling.TryGetValue(spelling, out id);

    private static HarmonySpecialTokens CreateO200kHarmony()
    {
        var spellings = new Dictionary<int, string>
        {
            [199998] = "<|startoftext|>",
            [199999] = "<|endoftext|>",
            [200002] = "<|return|>",
            [200003] = "<|constrain|>",
            [200005] = "<|channel|>",
            [200006] = "<|start|>",
            [200007] = "<|end|>",
            [200008] = "<|message|>",
            [200012] = "<|call|>",
            [200018] = "<|endofprompt|>",
        };
        foreach (int reserved in (ReadOnlySpan<int>)[200000, 200001, 200004, 200009, 200010, 200011, 200013, 200014, 200015, 200016, 200017])
        {
            spellings[reserved] = $"<|reserved_{reserved}|>";
        }

        return new HarmonySpecialTokens(
            start: 200006, end: 200007, message: 200008, channel: 200005, constrain: 200003,
            @return: 200002, call: 200012, endOfText: 199999, firstSpecialId: 199998, spellings);
    }
}
