using System.Text;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Harmony;
using Harmony.Rendering;
using Harmony.Tokenizers;
using LlamaCpp;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// The built-in o200k_harmony tokenizer (Microsoft.ML.Tokenizers, no model file) against llama.cpp on a real
/// gpt-oss GGUF vocabulary: the same ids for the same texts, the same special tokens, the same token bytes.
/// llama.cpp makes literal special spellings special ids even when told not to, so texts holding one are compared
/// through the injection-safe path both take in this project (Harmony's ordinary-text encoding).
/// </summary>
public sealed class O200kHarmonyParityTests
{
    private static LlamaVocabulary Llama => TestModels.VocabularyModel.Vocabulary;

    public static TheoryData<string> Corpus() => [.. CorpusTexts().Select((_, i) => $"{i:D3}")];

    [ModelTheory]
    [MemberData(nameof(Corpus))]
    public async Task Ordinary_text_gets_llama_cpp_s_ids(string index)
    {
        string text = CorpusTexts()[int.Parse(index, System.Globalization.CultureInfo.InvariantCulture)];
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        byte[] utf8 = Encoding.UTF8.GetBytes(text);

        if (!text.Contains("<|", StringComparison.Ordinal))
        {
            var fromLlama = new List<int>();
            Llama.Tokenize(utf8, fromLlama, parseSpecial: false);
            var ours = new List<int>();
            tokenizer.EncodeOrdinary(utf8, ours);
            Assert.Equal(fromLlama, ours);
            Assert.Equal(fromLlama.Count, tokenizer.CountOrdinary(text));
        }

        var safeLlama = new List<int>();
        new HarmonyEncoding(new LlamaTokenizer(Llama)).EncodeOrdinary(text, safeLlama);
        var safeOurs = new List<int>();
        new HarmonyEncoding(tokenizer).EncodeOrdinary(text, safeOurs);
        Assert.Equal(safeLlama, safeOurs);
    }

    [ModelFact]
    public async Task The_whole_source_tree_gets_llama_cpp_s_ids()
    {
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        var encoding = new HarmonyEncoding(tokenizer);
        var llamaEncoding = new HarmonyEncoding(new LlamaTokenizer(Llama));
        string[] files = [.. Directory.EnumerateFiles(Path.Combine(Repository.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Append(Path.Combine(Repository.Root, "README.md")).Order(StringComparer.Ordinal)];
        var ours = new List<int>();
        var fromLlama = new List<int>();
        int compared = 0;
        foreach (string file in files)
        {
            string text = await File.ReadAllTextAsync(file);
            ours.Clear();
            fromLlama.Clear();
            encoding.EncodeOrdinary(text, ours);
            llamaEncoding.EncodeOrdinary(text, fromLlama);
            Assert.True(fromLlama.SequenceEqual(ours), $"{file}: the ids differ from llama.cpp's");
            compared += ours.Count;
        }

        Assert.True(compared > 100_000, $"only {compared} tokens compared");
    }

    [ModelFact]
    public async Task The_special_tokens_are_those_of_the_gguf_reserved_ones_included()
    {
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        HarmonySpecialTokens ours = tokenizer.SpecialTokens;
        HarmonySpecialTokens gguf = new LlamaTokenizer(Llama).SpecialTokens;

        Assert.Equal(O200kHarmonyTokenizer.VocabularySize, Llama.Count);
        Assert.Equal(
            (gguf.Start, gguf.End, gguf.Message, gguf.Channel, gguf.Constrain, gguf.Return, gguf.Call, gguf.EndOfText, gguf.FirstSpecialId),
            (ours.Start, ours.End, ours.Message, ours.Channel, ours.Constrain, ours.Return, ours.Call, ours.EndOfText, ours.FirstSpecialId));
        for (int id = gguf.FirstSpecialId; id < Llama.Count; id++)
        {
            Assert.Equal(gguf.GetSpelling(id), ours.GetSpelling(id));
        }
    }

    [ModelFact]
    public async Task Every_ordinary_token_has_the_gguf_s_bytes()
    {
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        var gguf = new LlamaTokenizer(Llama);

        for (int id = 0; id < Llama.Count; id++)
        {
            if (!tokenizer.GetTokenBytes(id).SequenceEqual(gguf.GetTokenBytes(id)))
            {
                Assert.Fail($"Token {id}: {Convert.ToHexString(tokenizer.GetTokenBytes(id))} here, {Convert.ToHexString(gguf.GetTokenBytes(id))} in the GGUF.");
            }
        }
    }

    /// <summary>
    /// Where the two part, by design: o200k's pre-tokenizer keeps combining marks (\p{M}) inside words, as OpenAI's
    /// tiktoken does and as the model was trained (the vocabulary has whole-word tokens such as " दुनिया", 64593,
    /// that only that rule can reach); llama.cpp's "gpt-4o" pre-tokenizer splits words before each mark. Both spell
    /// the same bytes; this test pins the difference so that a change on either side shows.
    /// </summary>
    [ModelTheory]
    [InlineData("नमस्ते", new[] { 998, 1637, 1496, 4385, 628 }, new[] { 998, 1637, 14681, 628 })]
    [InlineData(" दुनिया", new[] { 2630, 11225, 3800, 519 }, new[] { 64593 })]
    [InlineData(" สวัสดีชาวโลก", new[] { 6152, 3788, 2446, 21883, 2293, 8247, 17359, 93469 }, new[] { 6152, 187986, 21883, 2293, 8247, 17359, 93469 })]
    public async Task Words_with_combining_marks_stay_whole_here_as_in_tiktoken_where_llama_cpp_splits_them(string text, int[] llama, int[] ours)
    {
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        byte[] utf8 = Encoding.UTF8.GetBytes(text);
        var fromLlama = new List<int>();
        Llama.Tokenize(utf8, fromLlama, parseSpecial: false);
        var fromOurs = new List<int>();
        tokenizer.EncodeOrdinary(utf8, fromOurs);

        Assert.Equal(llama, fromLlama);
        Assert.Equal(ours, fromOurs);
        Assert.Equal(utf8, fromOurs.SelectMany(t => tokenizer.GetTokenBytes(t).ToArray()));
    }

    private static string[] CorpusTexts() => s_corpus.Value;

    private static readonly Lazy<string[]> s_corpus = new(() =>
    [
        "Hello world, what's up?",
        "HELLOWorld I'll've we'RE they'd  don't O'Neil's",
        "public static async Task<int> MainAsync(string[] args)\n{\n    await Console.Out.WriteLineAsync(\"hi\");\n    return 0;\n}\n",
        "def f(x):\n\tif x <= 0:\n\t\treturn [i ** 2 for i in range(10)]  # squares\n\treturn {'a': 1, \"b\": 2}\n",
        "fn main() { let v: Vec<u8> = vec![0x1F, 0xFF]; println!(\"{v:?}\"); }",
        "#include <stdio.h>\nint main(void){for(int i=0;i<10;++i){printf(\"%d\\n\",i);}return 0;}\n",
        "const f = async (a, b) => { try { return await g(a ?? b); } catch { /* ignore */ } };",
        "SELECT id, name FROM users WHERE email LIKE '%@example.com' ORDER BY 2 DESC;",
        "diff --git a/x.c b/x.c\n@@ -1,3 +1,4 @@\n-int x = 1;\n+int x = 2;\n+// fixed\r\n",
        "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"session/prompt\",\"params\":{\"prompt\":[{\"type\":\"text\",\"text\":\"hi\"}]}}",
        "我们今天去北京吧。東京は雨です。서울의 날씨는 맑습니다。",
        "中文标点：「引号」、《书名》……——　全角空格",
        "ひらがな カタカナ ﾊﾝｶｸ 漢字かな交じり文",
        "😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 🏳️‍🌈 ❤️‍🔥 1️⃣ 🧑🏿‍💻",
        "emoji😀glued🎉to👍words",
        "Ünïcödé ñ café naïve Straße ÅNGSTRÖM e\u0301 a\u0308\u0301 ﬁ",
        "مرحبا بالعالم שלום עולם Привет мир Γειά σου",
        "1234567890 3.14159 -42 1e10 0xDEADBEEF 2025-08-05 12:34:56 1,000,000",
        "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
        "https://example.com/path?q=1&r=two#frag user@example.org",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "\t\t\t\tindented\n\n\n\n    \n        \n",
        "trailing spaces     \n     leading\r\n\r\n  \r\n",
        new string(' ', 1000),
        new string('\n', 300),
        new string('\t', 77) + "x",
        string.Concat(Enumerable.Range(1, 40).Select(n => new string(' ', n) + "w")),
        string.Concat(Enumerable.Range(1, 40).Select(n => "x" + new string(' ', n) + "\n")),
        string.Concat(Enumerable.Range(1, 20).Select(n => new string(' ', n) + new string('\n', n % 4 + 1))),
        "<|channel|>",
        "Hello <|channel|> world",
        "<|start|>user<|message|>Hello<|end|><|start|>assistant<|channel|>final<|message|>Hi<|return|>",
        "<|endoftext|><|startoftext|><|constrain|>json<|call|><|reserved_200019|><|reserved_201087|><|endofprompt|>",
        "a<|b|>c <| |> <|<|channel|>|> <<||>> |<|>",
        "Use `<|channel|>analysis` to hide it.<|end|>",
    ]);
}

/// <summary>The router's token count: the built-in vocabulary, with no model file read.</summary>
public sealed class LlamaEngineTokenCountTests
{
    [Fact]
    public async Task The_engine_counts_tokens_without_its_model_file()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}.gguf");
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions { ModelPath = missing }, new Telemetry(Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance),
            Microsoft.Extensions.Logging.Abstractions.NullLoggerFactory.Instance);

        int plain = await engine.CountTokensAsync("Hello world, what's up?", CancellationToken.None);
        int spelled = await engine.CountTokensAsync("Hello <|channel|> world", CancellationToken.None);

        Assert.Equal(6, plain);
        // A literal special spelling is text, five tokens of it, never one special token.
        Assert.Equal(7, spelled);
        Assert.False(File.Exists(missing));
    }
}
