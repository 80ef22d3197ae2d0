using System.Text;
using System.Text.RegularExpressions;

namespace Harmony.Tests.Support;

/// <summary>
/// A test vocabulary: ids 0-255 are o200k's single-byte tokens, and any other byte string gets an id the first time
/// it is seen. Ordinary text splits like o200k's pre-tokenizer (words with their leading space, numbers, punctuation),
/// one token per piece, so tests see realistic multi-byte tokens without the 27 MB vocabulary.
/// </summary>
internal sealed partial class PieceTokenizer : IHarmonyTokenizer
{
    private const int FirstPieceId = 1000;

    private readonly List<byte[]> _pieces = [];
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);

    public HarmonySpecialTokens SpecialTokens => HarmonySpecialTokens.O200kHarmony;

    /// <summary>The id of a byte string as one token.</summary>
    public int GetOrAdd(ReadOnlySpan<byte> piece)
    {
        if (piece.Length == 1)
        {
            return O200kByteTokenizer.GetByteToken(piece[0]);
        }

        string key = Convert.ToHexString(piece);
        if (!_ids.TryGetValue(key, out int id))
        {
            id = FirstPieceId + _pieces.Count;
            _pieces.Add(piece.ToArray());
            _ids.Add(key, id);
        }

        return id;
    }

    public void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        // Pre-tokenize on text; bytes that are not valid UTF-8 go one per token.
        int start = 0;
        while (start < utf8.Length)
        {
            int valid = ValidUtf8Prefix(utf8[start..]);
            if (valid == 0)
            {
                tokens.Add(O200kByteTokenizer.GetByteToken(utf8[start++]));
                continue;
            }

            string text = Encoding.UTF8.GetString(utf8.Slice(start, valid));
            foreach (Match match in PreTokenizer().Matches(text))
            {
                tokens.Add(GetOrAdd(Encoding.UTF8.GetBytes(match.Value)));
            }

            start += valid;
        }
    }

    public ReadOnlySpan<byte> GetTokenBytes(int token)
    {
        if (token >= FirstPieceId && token - FirstPieceId < _pieces.Count)
        {
            return _pieces[token - FirstPieceId];
        }

        return O200kByteTokenizer.Instance.GetTokenBytes(token);
    }

    /// <summary>Every ordinary token replaced by its bytes, one single-byte token each.</summary>
    public int[] SplitIntoBytes(IEnumerable<int> tokens)
    {
        var split = new List<int>();
        foreach (int token in tokens)
        {
            if (!SpecialTokens.IsOrdinary(token))
            {
                split.Add(token);
                continue;
            }

            foreach (byte value in GetTokenBytes(token))
            {
                split.Add(O200kByteTokenizer.GetByteToken(value));
            }
        }

        return [.. split];
    }

    private static int ValidUtf8Prefix(ReadOnlySpan<byte> bytes)
    {
        System.Text.Unicode.Utf8.ToUtf16(bytes, new char[bytes.Length], out int read, out _, replaceInvalidSequences: false);
        return read;
    }

    [GeneratedRegex(@"[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")]
    private static partial Regex PreTokenizer();
}
