using Acp.GptOss.Dev;
using Acp.GptOss.Inference.Llama;
using Harmony.Conversations;
using LlamaCpp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Inference.Benchmarks;

/// <summary>
/// The model every measurement decodes: the benchmark shape (4 layers, n_embd 512, 8 heads, 2 KV heads, 8 experts,
/// top-2, the real 201,088-token vocabulary) with small random weights, except that its embeddings and output head
/// also carry a chain, so that greedy decoding writes a final message that never ends. The agent then streams
/// every token as a chunk, and all three runners do the work of a random model of that shape.
/// </summary>
internal sealed record BenchModel(string Path, string Description)
{
    public const string Completion = "<|channel|>final<|message|>Counting: one two three four five six seven eight nine ten, again";

    /// <summary>What the agent is asked; the engine and node-llama-cpp get the same words in a rendered prompt.</summary>
    public const string Question = "Count to ten, then keep going.";

    public static string VocabularyJson => System.IO.Path.Combine(BenchSettings.NodeDirectory, "node_modules", "@lenml", "tokenizer-gptoss", "models", "tokenizer.json");

    /// <summary>The conversation the engine and node-llama-cpp complete.</summary>
    public static HarmonyConversation Conversation(string question) =>
        new(new HarmonySystemContent { CurrentDate = new DateOnly(2026, 1, 1) }, null, [HarmonyMessage.User(question)]);

    /// <summary>A question of <paramref name="words"/> words, whose prefill takes a while.</summary>
    public static string LongQuestion(int words) => string.Join(' ', Enumerable.Range(0, words).Select(i => $"word{i}"));

    /// <summary>Writes the model unless this version of the generator wrote it already.</summary>
    public static BenchModel Ensure(Report report)
    {
        Directory.CreateDirectory(BenchSettings.OutputDirectory);
        string path = System.IO.Path.Combine(BenchSettings.OutputDirectory, $"bench-chain-4x512-v{GptOssModelGenerator.Version}.gguf");
        GptOssModelShape shape = GptOssModelShape.Benchmark;
        string description = $"gpt-oss, {shape.Layers} layers, n_embd {shape.EmbeddingLength}, {shape.Heads} heads, {shape.KeyValueHeads} KV heads, "
            + $"{shape.Experts} experts top-{shape.ExpertsUsed}, random weights plus a chain";
        if (File.Exists(path))
        {
            return new BenchModel(path, description);
        }

        // The runs that skip node-llama-cpp (--step-only, --remote-only, ...) still need the vocabulary it comes with.
        if (!File.Exists(VocabularyJson))
        {
            NodePackages.EnsureInstalled(report);
        }

        report.Line($"writing {path} ...");
        HarmonyVocabularyFile words = HarmonyVocabularyFile.Load(VocabularyJson);
        string vocabularyPath = System.IO.Path.Combine(BenchSettings.OutputDirectory, "vocabulary.gguf");
        GptOssModelGenerator.WriteVocabularyOnly(vocabularyPath, words);
        (LlamaModel vocabulary, _) = VocabularyTokenizer.Load(vocabularyPath, NullLogger.Instance);
        using (vocabulary)
        {
            GptOssModelGenerator.WriteChain(path, words, GptOssModelGenerator.ChainTokens(vocabulary.Vocabulary, Completion), shape, seed: 1);
        }

        return new BenchModel(path, description);
    }
}
