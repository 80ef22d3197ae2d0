using Harmony;
using LlamaCpp;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// Harmony's view of a GGUF's own vocabulary: ordinary text through llama.cpp's tokenizer, token bytes from the
/// vocabulary's table, and the special ids found by their spellings rather than assumed.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class LlamaTokenizer : IHarmonyTokenizer
{
    private readonly LlamaVocabulary _vocabulary;
    private readonly int[] _byteTokens;

    /// <exception cref="InferenceException">The vocabulary is not o200k_harmony-like: a special token is missing, or specials and text interleave.</exception>
    public LlamaTokenizer(LlamaVocabulary vocabulary)
    {
        _vocabulary = vocabulary;
        var spellings = new Dictionary<int, string>();
        int firstSpecial = vocabulary.Count;
        for (int id = vocabulary.Count - 1; id >= 0; id--)
        {
            if ((vocabulary.GetAttributes(id) & LlamaTokenAttributes.Normal) != 0)
            {
                break;
            }

            spellings[id] = vocabulary.GetText(id);
            firstSpecial = id;
        }

        var ids = spellings.GroupBy(p => p.Value).ToDictionary(g => g.Key, g => g.Min(p => p.Key), StringComparer.Ordinal);
        int Id(string spelling) => ids.TryGetValue(spelling, out int id)
            ? id
            : throw new InferenceException($"The model's vocabulary has no {spelling} among its special tokens: it is not a GPT-OSS (o200k_harmony) vocabulary.");
        // Byte-level BPE has a token for every byte; the shortest such entries are those.
        _byteTokens = new int[256];
        Array.Fill(_byteTokens, -1);
        for (int id = 0; id < firstSpecial; id++)
        {
            if (vocabulary.GetPiece(id) is [byte b] && _byteTokens[b] < 0)
            {
                _byteTokens[b] = id;
            }
        }

        if (Array.IndexOf(_byteTokens, -1) is var missing and >= 0)
        {
            throw new InferenceException($"The model's vocabulary has no token for the byte 0x{missing:X2}: it is not a GPT-OSS (o200k_harmony) vocabulary.");
        }

        SpecialTokens = new HarmonySpecialTokens(
            start: Id("<|start|>"), end: Id("<|end|>"), message: Id("<|message|>"), channel: Id("<|channel|>"), constrain: Id("<|constrain|>"),
            @return: Id("<|return|>"), call: Id("<|call|>"), endOfText: Id("<|endoftext|>"), firstSpecialId: firstSpecial, spellings);
    }

    public HarmonySpecialTokens SpecialTokens { get; }

    /// <remarks>
    /// llama.cpp's tokenizer reads text as UTF-8 and would turn broken sequences into U+FFFD; their bytes become
    /// byte tokens instead, as a byte-level BPE encodes them, so no input is lost.
    /// </remarks>
    public void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        BrokenUtf8.Encode(utf8, tokens, _byteTokens, _vocabulary, static (vocabulary, run, list) => vocabulary.Tokenize(run, list, parseSpecial: false));
    }

    public ReadOnlySpan<byte> GetTokenBytes(int token) => SpecialTokens.IsOrdinary(token) ? _vocabulary.GetPiece(token) : default;
}
