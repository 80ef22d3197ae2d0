using System.Text;

namespace Harmony;

/// <summary>
/// Harmony written with literal special-token spellings, as in our golden files and docs/harmony.md: each
/// <c>&lt;|name|&gt;</c> of the vocabulary's specials is one special token, everything else ordinary text.
/// </summary>
public static class HarmonyLiteralText
{
    private const int MaxSpellingLength = 64;

    /// <summary>Appends the ids of <paramref name="utf8"/>: known special spellings become special ids, the rest ordinary tokens.</summary>
    public static void Tokenize(ReadOnlySpan<byte> utf8, IHarmonyTokenizer tokenizer, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(tokens);
        HarmonySpecialTokens specials = tokenizer.SpecialTokens;
        Span<char> spelling = stackalloc char[MaxSpellingLength];
        int ordinaryStart = 0;
        int position = 0;
        while (position < utf8.Length)
        {
            int open = utf8[position..].IndexOf("<|"u8);
            if (open < 0)
            {
                break;
            }

            open += position;
            int close = utf8[(open + 2)..].IndexOf("|>"u8);
            if (close < 0)
            {
                break;
            }

            int end = open + 2 + close + 2;
            ReadOnlySpan<byte> candidate = utf8[open..end];
            if (candidate.Length <= MaxSpellingLength
                && Ascii.ToUtf16(candidate, spelling, out int written) == System.Buffers.OperationStatus.Done
                && specials.TryGetId(spelling[..written], out int id))
            {
                OrdinaryText.Encode(tokenizer, utf8[ordinaryStart..open], tokens);
                tokens.Add(id);
                ordinaryStart = position = end;
            }
            else
            {
                position = open + 1;
            }
        }

        OrdinaryText.Encode(tokenizer, utf8[ordinaryStart..], tokens);
    }

    /// <summary>Appends the ids of <paramref name="text"/>; see <see cref="Tokenize(ReadOnlySpan{byte}, IHarmonyTokenizer, List{int})"/>.</summary>
    public static void Tokenize(string text, IHarmonyTokenizer tokenizer, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        Tokenize(Encoding.UTF8.GetBytes(text), tokenizer, tokens);
    }

    /// <summary>
    /// Writes tokens back as text with literal special spellings, for logs and debugging. Ordinary bytes are
    /// decoded together, so a character split across tokens comes out whole; invalid UTF-8 becomes U+FFFD.
    /// </summary>
    public static string Render(ReadOnlySpan<int> tokens, IHarmonyTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        var text = new StringBuilder();
        var pending = new List<byte>();
        foreach (int token in tokens)
        {
            string? spelling = tokenizer.SpecialTokens.GetSpelling(token);
            if (spelling is null && tokenizer.SpecialTokens.IsOrdinary(token))
            {
                pending.AddRange(tokenizer.GetTokenBytes(token));
                continue;
            }

            text.Append(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending)));
            pending.Clear();
            text.Append(spelling ?? $"<|reserved_{token}|>");
        }

        text.Append(Encoding.UTF8.GetString(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(pending)));
        return text.ToString();
    }

    /// <summary>
    /// Decodes text in which the four characters <c>\xNN</c> stand for one raw byte (the golden files' way to
    /// write part of a UTF-8 character); all other characters are encoded as UTF-8.
    /// </summary>
    public static byte[] DecodeByteEscapes(ReadOnlySpan<char> text)
    {
        var bytes = new List<byte>(text.Length);
        Span<byte> utf8 = stackalloc byte[4];
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\\' && i + 3 < text.Length && text[i + 1] == 'x'
                && byte.TryParse(text.Slice(i + 2, 2), System.Globalization.NumberStyles.AllowHexSpecifier, null, out byte value))
            {
                bytes.Add(value);
                i += 3;
                continue;
            }

            int length = char.IsHighSurrogate(text[i]) && i + 1 < text.Length
                ? Encoding.UTF8.GetBytes(text.Slice(i++, 2), utf8)
                : Encoding.UTF8.GetBytes(text.Slice(i, 1), utf8);
            bytes.AddRange(utf8[..length]);
        }

        return [.. bytes];
    }
}
