using Acp.GptOss.Tests.Support;
using static Acp.GptOss.Tests.Support.RawPrompts;
using Harmony;
using LlamaCpp;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// Our binding's generator on real llama.cpp with generated gpt-oss models: greedy decoding, stops and budgets,
/// KV prefix reuse, and cancellation that stops llama_decode from inside and leaves the cache right for the next call.
/// </summary>
public sealed class LlamaGeneratorTests
{
    private const string Hello = "<|channel|>final<|message|>Hello world<|return|>";

    // " world" follows itself once the chain ends, so this model never stops by itself.
    private const string Endless = "<|channel|>final<|message|>Hello world";

    private static readonly int[] s_stops = [.. HarmonySpecialTokens.O200kHarmony.SamplingStops];
    private static readonly LlamaSamplingOptions s_greedy = new() { Temperature = 0 };
    private static readonly LlamaContextOptions s_context = new() { ContextSize = 4096, Threads = 2 };

    [ModelFact]
    public void A_chain_model_answers_its_chain_and_the_stop_token_ends_the_stream()
    {
        using LlamaModel model = Load(TestModels.Chain(Hello));
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        int[] prompt = Prompt("Hi");

        int[] answer = [.. generator.Generate(prompt, 64, s_stops, CancellationToken.None)];

        Assert.Equal(Tokenize(Hello), answer);
        Assert.Equal(prompt.Length + answer.Length - 1, generator.CachedTokenCount);
        Assert.Equal(new LlamaGenerationStatistics(0, prompt.Length, answer.Length, default, default), generator.LastStatistics with { PrefillTime = default, TimeToFirstToken = default });
    }

    [ModelFact]
    public void The_budget_ends_a_completion_that_never_stops()
    {
        using LlamaModel model = Load(TestModels.Chain(Endless));
        using var generator = new LlamaGenerator(model, s_context, s_greedy);

        int[] answer = [.. generator.Generate(Prompt("Hi"), 9, s_stops, CancellationToken.None)];

        Assert.Equal([.. Tokenize(Endless), 2375, 2375, 2375, 2375], answer);
    }

    [ModelFact]
    public void The_budgets_last_token_is_not_decoded_and_a_prompt_that_continues_it_decodes_it_with_its_prefill()
    {
        using LlamaModel model = Load(TestModels.Chain(Endless));
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        int[] prompt = Prompt("Hi");

        int[] answer = [.. generator.Generate(prompt, 9, s_stops, CancellationToken.None)];
        int cached = generator.CachedTokenCount;
        int[] more = [.. generator.Generate(prompt.Concat(answer).ToArray(), 3, s_stops, CancellationToken.None)];

        Assert.Equal(prompt.Length + 8, cached);
        Assert.Equal(prompt.Length + 8, generator.LastStatistics.ReusedTokens);
        Assert.Equal(1, generator.LastStatistics.PrefilledTokens);
        Assert.Equal([2375, 2375, 2375], more);
    }

    [ModelFact]
    public void A_full_context_ends_the_completion_and_a_prompt_that_cannot_fit_gets_nothing()
    {
        using LlamaModel model = Load(TestModels.Chain(Endless));
        using var generator = new LlamaGenerator(model, s_context with { ContextSize = 256 }, s_greedy);
        int[] prompt = Prompt("Hi");

        int[] answer = [.. generator.Generate(prompt, 10_000, s_stops, CancellationToken.None)];
        int[] tooLong = [.. generator.Generate(Enumerable.Repeat(2375, generator.ContextSize + 1).ToArray(), 10, s_stops, CancellationToken.None)];

        Assert.Equal(generator.ContextSize - prompt.Length + 1, answer.Length);
        Assert.Empty(tooLong);
    }

    [ModelFact]
    public void The_next_turn_decodes_only_what_the_cache_does_not_hold()
    {
        using LlamaModel model = Load(TestModels.Chain(Hello));
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        int[] first = Prompt("Hi");
        int[] answer = [.. generator.Generate(first, 64, s_stops, CancellationToken.None)];
        // As Harmony renders history: the answer ends with <|end|>, not <|return|>, and a new user message follows.
        int[] second = [.. first, .. answer[..^1], .. Tokenize("<|end|><|start|>user<|message|>Again<|end|><|start|>assistant")];

        int[] again = [.. generator.Generate(second, 64, s_stops, CancellationToken.None)];

        Assert.Equal(answer, again);
        Assert.Equal(first.Length + answer.Length - 1, generator.LastStatistics.ReusedTokens);
        Assert.Equal(second.Length - generator.LastStatistics.ReusedTokens, generator.LastStatistics.PrefilledTokens);
    }

    [ModelFact]
    public void Cancelling_mid_prefill_aborts_inside_llama_decode_and_the_next_call_answers_as_a_fresh_context_would()
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] prompt = LongPrompt(1600);
        using var fresh = new LlamaGenerator(model, s_context, s_greedy);
        int[] expected = [.. fresh.Generate(prompt, 8, s_stops, CancellationToken.None)];
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        using var cancel = new CancellationTokenSource();
        var progress = new List<int>();
        // Cancel once the first chunk is in: the flag is set between llama_decode calls, so only llama.cpp's abort
        // callback, checked between graph nodes, can stop the second chunk.
        generator.PrefillProgress = decoded =>
        {
            progress.Add(decoded);
            cancel.Cancel();
        };

        Assert.Throws<OperationCanceledException>(() => generator.Generate(prompt, 8, s_stops, cancel.Token).ToArray());
        int cachedAfterCancel = generator.CachedTokenCount;
        generator.PrefillProgress = null;
        int[] resumed = [.. generator.Generate(prompt, 8, s_stops, CancellationToken.None)];

        Assert.Equal([generator.BatchSize], progress);
        Assert.Equal(generator.BatchSize, cachedAfterCancel);
        Assert.Equal(generator.BatchSize, generator.LastStatistics.ReusedTokens);
        Assert.Equal(expected, resumed);
    }

    [ModelFact]
    public void Cancelling_mid_decode_keeps_the_tokens_decoded_so_far_and_nothing_half_done()
    {
        using LlamaModel model = Load(TestModels.Random);
        int[] prompt = Prompt("Tell me a story.");
        using var fresh = new LlamaGenerator(model, s_context, s_greedy);
        int[] expected = [.. fresh.Generate(prompt, 12, s_stops, CancellationToken.None)];
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        using var cancel = new CancellationTokenSource();
        var received = new List<int>();

        Assert.Throws<OperationCanceledException>(() =>
        {
            foreach (int token in generator.Generate(prompt, 12, s_stops, cancel.Token))
            {
                received.Add(token);
                if (received.Count == 3)
                {
                    cancel.Cancel();
                }
            }
        });
        // The third token was sampled but its decode was aborted: the cache holds the prompt and two tokens.
        int cachedAfterCancel = generator.CachedTokenCount;
        int[] resumed = [.. generator.Generate(prompt.Concat(received).ToArray(), 9, s_stops, CancellationToken.None)];

        Assert.Equal(expected[..3], received);
        Assert.Equal(prompt.Length + 2, cachedAfterCancel);
        Assert.Equal(expected[3..], resumed);
    }

    [ModelFact]
    public void A_cancelled_token_stops_before_any_decoding()
    {
        using LlamaModel model = Load(TestModels.Chain(Hello));
        using var generator = new LlamaGenerator(model, s_context, s_greedy);

        Assert.Throws<OperationCanceledException>(() => generator.Generate(Prompt("Hi"), 8, s_stops, new CancellationToken(canceled: true)).ToArray());
        Assert.Equal(0, generator.CachedTokenCount);
    }

    [ModelFact]
    public void Sampling_with_a_seed_is_reproducible()
    {
        using LlamaModel model = Load(TestModels.Random);
        var sampling = new LlamaSamplingOptions { Temperature = 1.0f, TopP = 0.95f, Seed = 42 };
        int[] prompt = Prompt("Pick a number.");
        using var first = new LlamaGenerator(model, s_context, sampling);
        using var second = new LlamaGenerator(model, s_context, sampling);

        int[] a = [.. first.Generate(prompt, 16, s_stops, CancellationToken.None)];
        int[] b = [.. second.Generate(prompt, 16, s_stops, CancellationToken.None)];

        Assert.Equal(16, a.Length);
        Assert.Equal(a, b);
    }

    [ModelFact]
    public void Generating_a_token_allocates_no_managed_memory()
    {
        using LlamaModel model = Load(TestModels.Chain(Endless));
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        using IEnumerator<int> tokens = generator.Generate(Prompt("Hi"), 1000, s_stops, CancellationToken.None).GetEnumerator();
        for (int i = 0; i < 16; i++)
        {
            Assert.True(tokens.MoveNext());
        }

        long before = GC.GetAllocatedBytesForCurrentThread();
        for (int i = 0; i < 256; i++)
        {
            tokens.MoveNext();
        }

        long allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        Assert.Equal(2375, tokens.Current);
        Assert.Equal(0, allocated);
    }

    private static LlamaModel Load(string path) => LlamaModel.Load(LlamaBackend.Initialize(), path, new LlamaModelOptions { RequiredArchitecture = "gpt-oss" });

    private static int[] LongPrompt(int words) => Prompt(string.Join(' ', Enumerable.Range(0, words).Select(i => $"word{i}")));
}
