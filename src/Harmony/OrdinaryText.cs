namespace Harmony;

/// <summary>Encodes untrusted text so that it can only ever become ordinary tokens (docs/harmony.md §3.5).</summary>
internal static class OrdinaryText
{
    /// <summary>
    /// Appends the ids of <paramref name="utf8"/> as ordinary text. Some tokenizers (llama.cpp's, for gpt-oss)
    /// turn a literal <c>&lt;|channel|&gt;</c> into the special id even when asked not to parse specials, which
    /// would let a user or a file inject structure. Splitting the text between every <c>&lt;</c> and the <c>|</c>
    /// after it means no piece can contain a special spelling; the result is then checked anyway.
    /// </summary>
    /// <exception cref="InvalidOperationException">The tokenizer returned a special id for ordinary text.</exception>
    public static void Encode(IHarmonyTokenizer tokenizer, ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        int first = tokens.Count;
        while (!utf8.IsEmpty)
        {
            int split = utf8.IndexOf("<|"u8);
            ReadOnlySpan<byte> piece = split < 0 ? utf8 : utf8[..(split + 1)];
            tokenizer.EncodeOrdinary(piece, tokens);
            utf8 = utf8[piece.Length..];
        }

        HarmonySpecialTokens specials = tokenizer.SpecialTokens;
        for (int i = first; i < tokens.Count; i++)
        {
            if (!specials.IsOrdinary(tokens[i]))
            {
                throw new InvalidOperationException(
                    $"The tokenizer returned the special id {tokens[i]} for ordinary text; Harmony structure could be injected.");
            }
        }
    }

    /// <summary>Appends the ids of <paramref name="text"/> as ordinary text.</summary>
    public static void Encode(IHarmonyTokenizer tokenizer, ReadOnlySpan<char> text, List<int> tokens)
    {
        int maxBytes = System.Text.Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = null;
        Span<byte> buffer = maxBytes <= 512 ? stackalloc byte[512] : (rented = System.Buffers.ArrayPool<byte>.Shared.Rent(maxBytes));
        try
        {
            int length = System.Text.Encoding.UTF8.GetBytes(text, buffer);
            Encode(tokenizer, buffer[..length], tokens);
        }
        finally
        {
            if (rented is not null)
            {
                System.Buffers.ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }
}
