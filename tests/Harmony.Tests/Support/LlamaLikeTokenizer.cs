namespace Harmony.Tests.Support;

/// <summary>
/// Reproduces the hazard of docs/harmony.md §3.5: llama.cpp's gpt-oss vocabulary turns the five structural spellings
/// inside ordinary text into special ids, even with parse_special off. Everything else is one byte per token.
/// </summary>
internal sealed class LlamaLikeTokenizer : IHarmonyTokenizer
{
    private static readonly (byte[] Spelling, int Id)[] s_userDefined =
    [
        ("<|start|>"u8.ToArray(), 200006),
        ("<|end|>"u8.ToArray(), 200007),
        ("<|message|>"u8.ToArray(), 200008),
        ("<|channel|>"u8.ToArray(), 200005),
        ("<|constrain|>"u8.ToArray(), 200003),
    ];

    public HarmonySpecialTokens SpecialTokens => HarmonySpecialTokens.O200kHarmony;

    public void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        int i = 0;
        while (i < utf8.Length)
        {
            bool matched = false;
            foreach ((byte[] spelling, int id) in s_userDefined)
            {
                if (utf8[i..].StartsWith(spelling))
                {
                    tokens.Add(id);
                    i += spelling.Length;
                    matched = true;
                    break;
                }
            }

            if (!matched)
            {
                tokens.Add(O200kByteTokenizer.GetByteToken(utf8[i++]));
            }
        }
    }

    public ReadOnlySpan<byte> GetTokenBytes(int token) => O200kByteTokenizer.Instance.GetTokenBytes(token);
}
