using Acp.GptOss.Tests.Support;
using static Acp.GptOss.Tests.Support.RawPrompts;
using Harmony;
using LlamaCpp;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// One sequence's KV state saved to a file and restored into a fresh context on real llama.cpp, with a generated
/// random model: the restored cache is reused as a prefix and answers as the original did; a file of another model
/// or context size, or a damaged one, is refused and leaves a cold cache, never a crash.
/// </summary>
public sealed class LlamaStateTests : IDisposable
{
    private static readonly int[] s_stops = [.. HarmonySpecialTokens.O200kHarmony.SamplingStops];
    private static readonly LlamaSamplingOptions s_greedy = new() { Temperature = 0 };
    private static readonly LlamaContextOptions s_context = new() { ContextSize = 1024, Threads = 2 };

    private readonly string _directory = Directory.CreateTempSubdirectory("acp-gptoss-state-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [ModelFact]
    public void A_restored_state_is_reused_as_the_prefix_and_answers_as_the_context_it_was_saved_from()
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] history = Prompt(100);
        int[] next = [.. history, .. Tokenize("<|start|>user<|message|>and then?<|end|><|start|>assistant")];
        string path = Path.Combine(_directory, "s.kv");

        int[] original;
        using (var generator = new LlamaGenerator(model, s_context, s_greedy))
        {
            _ = generator.Generate(history, 0, s_stops, CancellationToken.None).ToArray();
            Assert.True(generator.SaveState(path, next));
            original = [.. generator.Generate(next, 8, s_stops, CancellationToken.None)];
            Assert.Equal(history.Length, generator.LastStatistics.ReusedTokens);
        }

        using var restored = new LlamaGenerator(model, s_context, s_greedy);
        Assert.True(restored.TryRestoreState(path, out string? refusal), refusal);
        int cached = restored.CachedTokenCount;
        int[] answer = [.. restored.Generate(next, 8, s_stops, CancellationToken.None)];

        Assert.Equal(history.Length, cached);
        Assert.Equal(history.Length, restored.LastStatistics.ReusedTokens);
        Assert.Equal(next.Length - history.Length, restored.LastStatistics.PrefilledTokens);
        Assert.Equal(original, answer);
        Assert.NotEmpty(answer);
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(path));
        }
    }

    [ModelFact]
    public void Tokens_decoded_after_a_restore_are_trimmed_as_usual()
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] history = Prompt(60);
        string path = Save(model, history);
        int[] longer = [.. history, .. Tokenize(string.Join(' ', Enumerable.Range(0, 20).Select(i => $"more{i}")))];
        int[] other = [.. longer[..(history.Length + 2)], .. Tokenize("<|start|>user<|message|>something else<|end|><|start|>assistant")];

        using var restored = new LlamaGenerator(model, s_context, s_greedy);
        Assert.True(restored.TryRestoreState(path, out _));
        _ = restored.Generate(longer, 0, s_stops, CancellationToken.None).ToArray();
        int[] answer = [.. restored.Generate(other, 4, s_stops, CancellationToken.None)];
        using var original = new LlamaGenerator(model, s_context, s_greedy);
        _ = original.Generate(history, 0, s_stops, CancellationToken.None).ToArray();
        _ = original.Generate(longer, 0, s_stops, CancellationToken.None).ToArray();
        int[] expected = [.. original.Generate(other, 4, s_stops, CancellationToken.None)];

        Assert.Equal(history.Length + 2, restored.LastStatistics.ReusedTokens);
        Assert.Equal(expected, answer);
    }

    [ModelFact]
    public void A_prompt_that_leaves_the_restored_tokens_is_prefilled_whole_and_answers_as_a_cold_context()
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] history = Prompt(60);
        string path = Save(model, history);
        int[] other = [.. history[..40], .. Tokenize("<|start|>user<|message|>something else<|end|><|start|>assistant")];

        using var restored = new LlamaGenerator(model, s_context, s_greedy);
        Assert.True(restored.TryRestoreState(path, out _));
        int[] answer = [.. restored.Generate(other, 4, s_stops, CancellationToken.None)];
        using var cold = new LlamaGenerator(model, s_context, s_greedy);
        int[] expected = [.. cold.Generate(other, 4, s_stops, CancellationToken.None)];

        Assert.Equal(0, restored.LastStatistics.ReusedTokens);
        Assert.Equal(expected, answer);
    }

    [ModelFact]
    public void Only_what_the_next_prompt_begins_with_is_saved_and_a_cache_that_shares_none_of_it_saves_nothing()
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] history = Prompt(100);
        // The turn's own tokens (its reasoning, say) follow the history in the cache; the next prompt leaves them out.
        int[] answered = [.. history, .. Tokenize("<|channel|>analysis<|message|>thinking<|end|>")];
        int[] next = [.. history, .. Tokenize("<|start|>user<|message|>and then?<|end|><|start|>assistant")];
        string path = Path.Combine(_directory, "s.kv");
        string none = Path.Combine(_directory, "none.kv");
        using (var generator = new LlamaGenerator(model, s_context, s_greedy))
        {
            _ = generator.Generate(answered, 0, s_stops, CancellationToken.None).ToArray();
            Assert.False(generator.SaveState(none, Tokenize("something else")));
            _ = generator.Generate(answered, 0, s_stops, CancellationToken.None).ToArray();
            Assert.True(generator.SaveState(path, next));
            Assert.Equal(history.Length, generator.CachedTokenCount);
        }

        using var restored = new LlamaGenerator(model, s_context, s_greedy);
        Assert.True(restored.TryRestoreState(path, out string? refusal), refusal);
        int cached = restored.CachedTokenCount;
        _ = restored.Generate(next, 1, s_stops, CancellationToken.None).ToArray();

        Assert.False(File.Exists(none));
        Assert.Equal(history.Length, cached);
        Assert.Equal(history.Length, restored.LastStatistics.ReusedTokens);
        Assert.Equal(next.Length - history.Length, restored.LastStatistics.PrefilledTokens);
    }

    [ModelFact]
    public void An_empty_cache_writes_nothing()
    {
        using LlamaModel model = Load(TestModels.Random);
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        string path = Path.Combine(_directory, "empty.kv");

        Assert.False(generator.SaveState(path, Prompt(10)));
        Assert.False(File.Exists(path));
        Assert.False(generator.TryRestoreState(path, out string? refusal));
        Assert.NotNull(refusal);
    }

    [ModelFact]
    public void Another_context_size_or_another_model_is_refused_and_the_cache_is_cold()
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] history = Prompt(40);
        string path = Save(model, history);

        using var larger = new LlamaGenerator(model, s_context with { ContextSize = 2048 }, s_greedy);
        Assert.False(larger.TryRestoreState(path, out string? sizeRefusal));
        Assert.Contains("context", sizeRefusal, StringComparison.Ordinal);
        Assert.Equal(0, larger.CachedTokenCount);

        using LlamaModel chain = Load(TestModels.Chain("<|channel|>final<|message|>Hello<|return|>"));
        using var foreign = new LlamaGenerator(chain, s_context, s_greedy);
        Assert.False(foreign.TryRestoreState(path, out string? modelRefusal));
        Assert.Contains("another model", modelRefusal, StringComparison.Ordinal);
        Assert.Equal(0, foreign.CachedTokenCount);
        int[] answer = [.. foreign.Generate(history, 2, s_stops, CancellationToken.None)];
        Assert.Equal(history.Length, foreign.LastStatistics.PrefilledTokens);
        Assert.NotEmpty(answer);
    }

    [ModelTheory]
    [InlineData("truncated")]
    [InlineData("flipped")]
    [InlineData("garbage")]
    [InlineData("empty")]
    public void A_damaged_file_is_refused_before_llama_cpp_reads_it(string damage)
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] history = Prompt(40);
        string path = Save(model, history);
        byte[] bytes = File.ReadAllBytes(path);
        byte[] damaged = damage switch
        {
            "truncated" => bytes[..(bytes.Length - 100)],
            "flipped" => Flip(bytes, bytes.Length - 1000),
            "garbage" => [.. "LLKVSEQ\0"u8, .. Enumerable.Repeat((byte)0xFF, 5000)],
            _ => [],
        };
        File.WriteAllBytes(path, damaged);

        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        Assert.False(generator.TryRestoreState(path, out string? refusal));
        Assert.NotNull(refusal);
        Assert.Equal(0, generator.CachedTokenCount);
        _ = generator.Generate(history, 1, s_stops, CancellationToken.None).ToArray();
        Assert.Equal(history.Length, generator.LastStatistics.PrefilledTokens);
    }

    private string Save(LlamaModel model, int[] history)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.kv");
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        _ = generator.Generate(history, 0, s_stops, CancellationToken.None).ToArray();
        Assert.True(generator.SaveState(path, history));
        return path;
    }

    private static byte[] Flip(byte[] bytes, int at)
    {
        byte[] copy = [.. bytes];
        copy[at] ^= 0x55;
        return copy;
    }

    private static LlamaModel Load(string path) => LlamaModel.Load(LlamaBackend.Initialize(), path, new LlamaModelOptions { RequiredArchitecture = "gpt-oss" });

    private static int[] Prompt(int words) => RawPrompts.Prompt(Words(words));
}
