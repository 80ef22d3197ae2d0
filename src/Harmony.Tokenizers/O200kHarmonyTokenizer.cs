using System.Buffers;
using System.Buffers.Text;
using System.IO.Compression;
using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace Harmony.Tokenizers;

/// <summary>
/// GPT-OSS's o200k_harmony vocabulary without a model file: Microsoft.ML.Tokenizers' tiktoken BPE over the
/// o200k_base ranks that its O200kBase data package embeds, plus Harmony's special tokens (ids 199,998 to 201,087;
/// the unnamed ones spelled <c>&lt;|reserved_N|&gt;</c>, as a gpt-oss GGUF names them). Its ids are OpenAI
/// tiktoken's, and llama.cpp's on a gpt-oss GGUF with two exceptions: a special spelling in the text stays ordinary
/// text here (llama.cpp makes it a special id even when told not to), and words with combining marks (Devanagari,
/// Thai, ...) stay whole here, as tiktoken keeps them, where llama.cpp's pre-tokenizer splits them before each mark.
/// </summary>
/// <remarks>
/// Loading parses 200,000 ranks and takes about a third of a second: call <see cref="Load"/> or
/// <see cref="StartLoadingShared"/> at start-up, never on a request path. Thread-safe once loaded.
/// </remarks>
public sealed partial class O200kHarmonyTokenizer : IHarmonyTokenizer
{
    /// <summary>Rows in GPT-OSS's embedding: every id is below this.</summary>
    public const int VocabularySize = 201088;

    /// <summary>The first special id; every id below it is ordinary text.</summary>
    public const int FirstSpecialId = 199998;

    // Where the data package keeps the ranks; Microsoft.ML.Tokenizers finds them the same way. A constant type name,
    // so trimming and NativeAOT keep the type and its resource.
    private const string DataTypeName = "Microsoft.ML.Tokenizers.O200kBaseTokenizerData, Microsoft.ML.Tokenizers.Data.O200kBase";
    private const string DataResourceName = "o200k_base.tiktoken.deflate";

    // On a thread of its own: a third of a second of work that, on the pool of a two-core machine, would hold up the
    // responses (a cancel's among them) that wait for a pool thread meanwhile.
    private static readonly Lazy<Task<O200kHarmonyTokenizer>> s_shared =
        new(() => Task.Factory.StartNew(Load, CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default));

    // Built without special tokens: no spelling in the text can ever become a special id.
    private readonly TiktokenTokenizer _ordinary;

    // Every ordinary token's bytes, concatenated once at load so that GetTokenBytes is a slice.
    private readonly byte[] _tokenBytes;
    private readonly int[] _tokenStarts;
    private readonly int[] _tokenLengths;
    private readonly int[] _byteTokens;

    private O200kHarmonyTokenizer(TiktokenTokenizer ordinary, byte[] tokenBytes, int[] tokenStarts, int[] tokenLengths, int[] byteTokens)
    {
        _ordinary = ordinary;
        _tokenBytes = tokenBytes;
        _tokenStarts = tokenStarts;
        _tokenLengths = tokenLengths;
        _byteTokens = byteTokens;
        SpecialTokens = CreateSpecialTokens();
    }

    /// <summary>The special ids of o200k_harmony: the structural ones, and every reserved id up to 201,087 with its spelling.</summary>
    public HarmonySpecialTokens SpecialTokens { get; }

    /// <summary>Loads the vocabulary from the O200kBase data package (about a third of a second). No file or network is needed.</summary>
    /// <exception cref="InvalidOperationException">The data package is missing or damaged.</exception>
    public static O200kHarmonyTokenizer Load()
    {
        byte[] ranks = ReadRanks();
        (byte[] bytes, int[] starts, int[] lengths) = ParseRanks(ranks);
        var byteTokens = new int[256];
        Array.Fill(byteTokens, -1);
        for (int id = 0; id < FirstSpecialId; id++)
        {
            if (lengths[id] == 1 && byteTokens[bytes[starts[id]]] < 0)
            {
                byteTokens[bytes[starts[id]]] = id;
            }
        }

        if (Array.IndexOf(byteTokens, -1) is var missing and >= 0)
        {
            throw new InvalidOperationException($"The o200k_base ranks have no token for the byte 0x{missing:X2}.");
        }

        using var stream = new MemoryStream(ranks, writable: false);
        TiktokenTokenizer ordinary = TiktokenTokenizer.Create(stream, new RegexPreTokenizer(O200kPattern(), specialTokens: null), normalizer: null, specialTokens: null);
        return new O200kHarmonyTokenizer(ordinary, bytes, starts, lengths, byteTokens);
    }

    /// <summary>Starts loading the process-wide instance in the background, if nothing has yet. Returns at once.</summary>
    public static void StartLoadingShared() => _ = s_shared.Value;

    /// <summary>The process-wide instance: loads it in the background if nothing has started it, and waits for it.</summary>
    /// <exception cref="InvalidOperationException">The data package is missing or damaged.</exception>
    public static Task<O200kHarmonyTokenizer> LoadSharedAsync(CancellationToken cancellationToken) => s_shared.Value.WaitAsync(cancellationToken);

    /// <summary>Whether the process-wide instance has loaded, so that <see cref="LoadSharedAsync"/> will not wait.</summary>
    public static bool IsSharedLoaded => s_shared.IsValueCreated && s_shared.Value.IsCompletedSuccessfully;

    /// <inheritdoc />
    /// <remarks>Broken UTF-8 sequences become one byte token per byte, as llama.cpp's path in this project does, so no input is lost.</remarks>
    public void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        BrokenUtf8.Encode(utf8, tokens, _byteTokens, this, static (tokenizer, run, list) => tokenizer.EncodeValid(run, list));
    }

    /// <summary>Appends the ids of <paramref name="text"/> as ordinary text: special spellings in it stay text.</summary>
    public void EncodeOrdinary(ReadOnlySpan<char> text, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        if (!text.IsEmpty)
        {
            tokens.AddRange(_ordinary.EncodeToIds(text, considerPreTokenization: true, considerNormalization: false));
        }
    }

    /// <summary>How many tokens <paramref name="text"/> takes as ordinary text, without building the list.</summary>
    public int CountOrdinary(ReadOnlySpan<char> text) =>
        text.IsEmpty ? 0 : _ordinary.CountTokens(text, considerPreTokenization: true, considerNormalization: false);

    /// <inheritdoc />
    public ReadOnlySpan<byte> GetTokenBytes(int token) =>
        (uint)token < (uint)_tokenStarts.Length ? new ReadOnlySpan<byte>(_tokenBytes, _tokenStarts[token], _tokenLengths[token]) : default;

    private void EncodeValid(ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        if (utf8.IsEmpty)
        {
            return;
        }

        // Valid UTF-8 never takes more UTF-16 units than it has bytes.
        char[]? rented = null;
        Span<char> buffer = utf8.Length <= 256 ? stackalloc char[256] : (rented = ArrayPool<char>.Shared.Rent(utf8.Length));
        try
        {
            int length = Encoding.UTF8.GetChars(utf8, buffer);
            EncodeOrdinary(buffer[..length], tokens);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<char>.Shared.Return(rented);
            }
        }
    }

    // The ranks file, inflated: a "Capacity: N" line, then one line of base64 bytes per token, in rank order.
    private static byte[] ReadRanks()
    {
        Type type = Type.GetType(DataTypeName, throwOnError: false)
            ?? throw new InvalidOperationException("The Microsoft.ML.Tokenizers.Data.O200kBase assembly is missing: the o200k_base ranks cannot be read.");
        using Stream compressed = type.Assembly.GetManifestResourceStream(DataResourceName)
            ?? throw new InvalidOperationException($"Microsoft.ML.Tokenizers.Data.O200kBase has no {DataResourceName} resource.");
        using var inflater = new DeflateStream(compressed, CompressionMode.Decompress);
        using var ranks = new MemoryStream(4 << 20);
        inflater.CopyTo(ranks);
        return ranks.ToArray();
    }

    private static (byte[] Bytes, int[] Starts, int[] Lengths) ParseRanks(ReadOnlySpan<byte> ranks)
    {
        var bytes = new byte[ranks.Length];
        var starts = new int[FirstSpecialId];
        var lengths = new int[FirstSpecialId];
        var seen = new bool[FirstSpecialId];
        int written = 0;
        int count = 0;
        while (!ranks.IsEmpty)
        {
            int end = ranks.IndexOf((byte)'\n');
            ReadOnlySpan<byte> line = end < 0 ? ranks : ranks[..end];
            ranks = end < 0 ? default : ranks[(end + 1)..];
            line = line.TrimEnd((byte)'\r');
            if (line.IsEmpty)
            {
                continue;
            }

            if (count == 0 && line.StartsWith("Capacity:"u8))
            {
                continue;
            }

            // tiktoken's "bytes rank" lines, or the data package's lines of bytes alone, ranked by their order.
            int space = line.IndexOf((byte)' ');
            int rank = count;
            if (space == 0
                || (space > 0 && (!Utf8Parser.TryParse(line[(space + 1)..], out rank, out int digits) || digits != line.Length - space - 1))
                || (uint)rank >= FirstSpecialId || seen[rank]
                || Base64.DecodeFromUtf8(space > 0 ? line[..space] : line, bytes.AsSpan(written), out _, out int length) != OperationStatus.Done)
            {
                throw new InvalidOperationException($"The o200k_base ranks are damaged near line {count + 1}.");
            }

            seen[rank] = true;
            starts[rank] = written;
            lengths[rank] = length;
            written += length;
            count++;
        }

        if (count != FirstSpecialId)
        {
            throw new InvalidOperationException($"The o200k_base ranks hold {count} tokens, not {FirstSpecialId}.");
        }

        return (bytes.AsSpan(0, written).ToArray(), starts, lengths);
    }

    private static HarmonySpecialTokens CreateSpecialTokens()
    {
        var spellings = new Dictionary<int, string>(VocabularySize - FirstSpecialId);
        for (int id = FirstSpecialId; id < VocabularySize; id++)
        {
            spellings[id] = HarmonySpecialTokens.O200kHarmony.GetSpelling(id) ?? $"<|reserved_{id}|>";
        }

        HarmonySpecialTokens o200k = HarmonySpecialTokens.O200kHarmony;
        return new HarmonySpecialTokens(
            o200k.Start, o200k.End, o200k.Message, o200k.Channel, o200k.Constrain, o200k.Return, o200k.Call, o200k.EndOfText,
            FirstSpecialId, spellings);
    }

    // o200k_base's pre-tokenizer, as tiktoken defines it (Microsoft.ML.Tokenizers keeps its copy internal).
    [GeneratedRegex(@"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+")]
    private static partial Regex O200kPattern();
}
