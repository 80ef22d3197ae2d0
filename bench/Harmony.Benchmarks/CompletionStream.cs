using System.Text;

namespace Harmony.Benchmarks;

/// <summary>
/// A synthetic GPT-OSS completion of realistic shape: analysis, a preamble and a final answer, over and over,
/// with word-sized tokens (about 4 bytes each), accented letters and emoji split across tokens.
/// </summary>
internal sealed class CompletionStream : IHarmonyTokenizer
{
    private readonly List<byte[]> _pieces = [];
    private readonly Dictionary<string, int> _ids = new(StringComparer.Ordinal);
    private byte[] _bytes = [];
    private int[] _offsets = [];

    private CompletionStream()
    {
    }

    public HarmonySpecialTokens SpecialTokens => HarmonySpecialTokens.O200kHarmony;

    public int[] Tokens { get; private set; } = [];

    public static CompletionStream Create(int tokenCount, int seed = 42)
    {
        var stream = new CompletionStream();
        var random = new Random(seed);
        string[] words =
        [
            " the", " model", " reads", " file", " user", " asks", " for", " a", " function", " that", " returns", " value",
            " we", " should", " check", " error", " handling", ",", ".", " and", " then", " call", " tool", " café", " naïve",
            " 42", " code", "\n", " `", "parse", "`", " résumé", " über", " data", " JSON", " result", " line", " to", " is",
        ];
        byte[][] emoji = [[0x20, 0xF0, 0x9F], [0x92, 0x96]];
        HarmonySpecialTokens specials = stream.SpecialTokens;
        var tokens = new List<int>(tokenCount + 512);
        (string Channel, int Length)[] messages = [("analysis", 160), ("commentary", 24), ("final", 220)];
        while (tokens.Count < tokenCount)
        {
            foreach ((string channel, int length) in messages)
            {
                tokens.Add(specials.Start);
                tokens.Add(stream.Id("assistant"u8));
                tokens.Add(specials.Channel);
                tokens.Add(stream.Id(Encoding.UTF8.GetBytes(channel)));
                tokens.Add(specials.Message);
                for (int i = 0; i < length; i++)
                {
                    if (random.Next(40) == 0)
                    {
                        tokens.Add(stream.Id(emoji[0]));
                        tokens.Add(stream.Id(emoji[1]));
                    }
                    else
                    {
                        tokens.Add(stream.Id(Encoding.UTF8.GetBytes(words[random.Next(words.Length)])));
                    }
                }

                tokens.Add(specials.End);
            }
        }

        tokens.RemoveRange(tokenCount - 1, tokens.Count - tokenCount + 1);
        tokens.Add(specials.Return);
        stream.Tokens = [.. tokens];
        stream.Freeze();
        return stream;
    }

    public void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens) => throw new NotSupportedException();

    public ReadOnlySpan<byte> GetTokenBytes(int token) =>
        (uint)token < (uint)(_offsets.Length - 1) ? _bytes.AsSpan(_offsets[token], _offsets[token + 1] - _offsets[token]) : default;

    private int Id(ReadOnlySpan<byte> piece)
    {
        string key = Convert.ToHexString(piece);
        if (!_ids.TryGetValue(key, out int id))
        {
            id = _pieces.Count;
            _pieces.Add(piece.ToArray());
            _ids.Add(key, id);
        }

        return id;
    }

    // One flat table, as a real vocabulary would keep it.
    private void Freeze()
    {
        _offsets = new int[_pieces.Count + 1];
        _bytes = [.. _pieces.SelectMany(p => p)];
        for (int i = 0; i < _pieces.Count; i++)
        {
            _offsets[i + 1] = _offsets[i] + _pieces[i].Length;
        }
    }
}
