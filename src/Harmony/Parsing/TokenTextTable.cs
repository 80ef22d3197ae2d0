using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using System.Text.Unicode;

namespace Harmony.Parsing;

/// <summary>
/// The text of a vocabulary's short tokens, decoded once: every token whose bytes are whole UTF-8 characters
/// making at most 8 UTF-16 chars has its text in a 16-byte slot, which the parser copies with one vector move.
/// Decoding per token instead costs more than the whole budget of 10 ns a token: a byte loop mispredicts its exit
/// on almost every token, because token lengths vary, and a general decoder call has fixed overhead. One table per
/// tokenizer, shared by all its parsers and filled lazily, so a tokenizer that assigns ids as it goes stays right.
/// </summary>
/// <remarks>Thread-safe: a slot's length is published after its text, and a slot never changes once filled,
/// because a tokenizer's id always means the same bytes.</remarks>
internal sealed class TokenTextTable
{
    public const int SlotLength = 8;

    // Tables for vocabularies larger than this would cost more memory than they save time.
    private const int MaxTokens = 1 << 20;
    private const byte Unknown = 0;
    private const byte NotTabled = 0xFF;

    private static readonly ConditionalWeakTable<IHarmonyTokenizer, TokenTextTable> s_tables = [];

    private readonly IHarmonyTokenizer _tokenizer;
    private readonly ushort[] _text;
    private readonly byte[] _lengths;

    private TokenTextTable(IHarmonyTokenizer tokenizer, int tokenCount)
    {
        _tokenizer = tokenizer;
        _text = new ushort[tokenCount * SlotLength];
        _lengths = new byte[tokenCount];
    }

    /// <summary>The table for a vocabulary, or null if its ordinary ids are too many to table.</summary>
    public static TokenTextTable? For(IHarmonyTokenizer tokenizer)
    {
        int tokenCount = tokenizer.SpecialTokens.FirstSpecialId;
        return tokenCount is > 0 and <= MaxTokens
            ? s_tables.GetValue(tokenizer, static t => new TokenTextTable(t, t.SpecialTokens.FirstSpecialId))
            : null;
    }

    /// <summary>The number of chars of the token's text if it is tabled, else 0.</summary>
    /// <param name="token">An ordinary id: at least 0 and below the first special id.</param>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public int Length(int token)
    {
        byte length = Volatile.Read(ref _lengths[token]);
        if (length == Unknown)
        {
            length = Fill(token);
        }

        return length == NotTabled ? 0 : length;
    }

    /// <summary>Writes the token's slot to the first 8 chars of <paramref name="destination"/>; chars past its length are zeros.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public void CopyTo(int token, Span<char> destination) =>
        Vector128.Create(new ReadOnlySpan<ushort>(_text, token * SlotLength, SlotLength)).CopyTo(MemoryMarshal.Cast<char, ushort>(destination));

    private byte Fill(int token)
    {
        ReadOnlySpan<byte> bytes = _tokenizer.GetTokenBytes(token);
        Span<char> slot = MemoryMarshal.Cast<ushort, char>(_text.AsSpan(token * SlotLength, SlotLength));
        byte length = NotTabled;
        if (!bytes.IsEmpty
            && Utf8.ToUtf16(bytes, slot, out _, out int written, replaceInvalidSequences: false) == System.Buffers.OperationStatus.Done)
        {
            length = (byte)written;
        }
        else
        {
            slot.Clear();
        }

        Volatile.Write(ref _lengths[token], length);
        return length;
    }
}
