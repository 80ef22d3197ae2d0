namespace Harmony.Tokenizers.Tests;

/// <summary>Texts that stress a byte-level BPE: code, CJK, emoji, whitespace runs, numbers, special spellings.</summary>
internal static class TokenizerCorpus
{
    /// <summary>The one loaded tokenizer of the test run: loading takes a third of a second.</summary>
    public static O200kHarmonyTokenizer Tokenizer => s_tokenizer.Value;

    private static readonly Lazy<O200kHarmonyTokenizer> s_tokenizer = new(O200kHarmonyTokenizer.Load);

    public static IReadOnlyList<string> Texts { get; } =
    [
        "Hello world, what's up?",
        "HELLOWorld I'll've we'RE they'd  don't",
        "public static async Task<int> MainAsync(string[] args)\n{\n    await Console.Out.WriteLineAsync(\"hi\");\n    return 0;\n}\n",
        "def f(x):\n\tif x <= 0:\n\t\treturn [i ** 2 for i in range(10)]  # squares\n\treturn {'a': 1, \"b\": 2}\n",
        "fn main() { let v: Vec<u8> = vec![0x1F, 0xFF]; println!(\"{v:?}\"); }",
        "SELECT id, name FROM users WHERE email LIKE '%@example.com' ORDER BY 2 DESC;",
        "diff --git a/x.c b/x.c\n@@ -1,3 +1,4 @@\n-int x = 1;\n+int x = 2;\n+// fixed\r\n",
        "我们今天去北京吧。東京は雨です。서울의 날씨는 맑습니다。",
        "中文标点：「引号」、《书名》……——",
        "😀 👍🏽 👨‍👩‍👧‍👦 🇫🇷🇯🇵 🏳️‍🌈 ❤️‍🔥 1️⃣",
        "Ünïcödé ñ café naïve Straße ÅNGSTRÖM e\u0301 a\u0308\u0301",
        "مرحبا بالعالم שלום עולם नमस्ते दुनिया สวัสดีชาวโลก",
        " ",
        "  ",
        "a                                                b",
        "\t\t\t\tindented\n\n\n\n    \n        \n",
        "trailing spaces     \n     leading\r\n\r\n",
        new string(' ', 1000),
        new string('\n', 300),
        "1234567890 3.14159 -42 1e10 0xDEADBEEF 2025-08-05 12:34:56",
        "<|channel|>",
        "Hello <|channel|> world",
        "<|start|>user<|message|>Hello<|end|><|start|>assistant<|channel|>final<|message|>Hi<|return|>",
        "<|endoftext|><|startoftext|><|constrain|>json<|call|><|reserved_200019|><|reserved_201087|><|endofprompt|>",
        "a<|b|>c <| |> <|<|channel|>|> <<||>> |<|>",
        "Use `<|channel|>analysis` to hide it.<|end|>",
        "~!@#$%^&*()_+{}|:\"<>?`-=[]\\;',./",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "https://example.com/path?q=1&r=two#frag user@example.org",
        "",
    ];
}
