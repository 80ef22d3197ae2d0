using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using static Acp.GptOss.Tests.Support.RawPrompts;
using Harmony;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// Many sessions at once on one model (<c>--parallel</c>): decoded together in one shared context on real llama.cpp
/// with a generated chain model, each session gets its own exact answer; more sessions than sequences wait their
/// turn; a cancelled one stops at once and the others answer as if it had not been there; a session keeps its
/// prefix between turns.
/// </summary>
public sealed class BatchedEngineTests
{
    private const string Hello = "<|channel|>final<|message|>Hello world<|return|>";

    // " world" follows itself once the chain ends, so this model never stops by itself.
    private const string Endless = "<|channel|>final<|message|>Hello world";

    private static readonly int[] s_stops = [.. HarmonySpecialTokens.O200kHarmony.SamplingStops];

    [ModelFact]
    public async Task Eight_sessions_at_once_on_four_sequences_each_get_their_own_answer_and_keep_their_prefix()
    {
        await using LlamaInferenceEngine engine = Start(TestModels.Chain(Hello), parallel: 4);
        int[] chain = Tokenize(Hello);
        IInferenceSession[] sessions = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => engine.CreateSessionAsync($"s{i}", CancellationToken.None).AsTask()));
        // Each prompt stops at another point of the chain (and has another length): each answer is the rest of it.
        int[][] prompts = [.. Enumerable.Range(0, 8).Select(i => (int[])[.. Prompt(Words(10 + (13 * i))), .. chain[..(i % 6)]])];

        int[][] answers = await Task.WhenAll(sessions.Select((s, i) => Task.Run(() => s.GenerateAsync(prompts[i], new GenerationOptions(64, s_stops), CancellationToken.None).ToArrayAsync().AsTask())));

        for (int i = 0; i < 8; i++)
        {
            Assert.Equal(chain[(i % 6)..], answers[i]);
        }

        Assert.All(sessions, s => Assert.Equal(1024, s.ContextSize));
        foreach (IInferenceSession session in sessions)
        {
            await session.DisposeAsync();
        }
    }

    [ModelFact]
    public async Task A_cancelled_session_stops_at_once_and_the_others_answer_as_if_it_had_not_been_there()
    {
        var recorded = new RecordedTelemetry<InferenceEvent>();
        await using LlamaInferenceEngine engine = Start(TestModels.Chain(Endless), parallel: 3, recorded.Telemetry);
        await using IInferenceSession first = await engine.CreateSessionAsync("a", CancellationToken.None);
        await using IInferenceSession second = await engine.CreateSessionAsync("b", CancellationToken.None);
        await using IInferenceSession third = await engine.CreateSessionAsync("c", CancellationToken.None);
        int[] prompt = Prompt(Words(40));
        var options = new GenerationOptions(40, s_stops);
        using var cancel = new CancellationTokenSource();
        var cancelled = new List<int>();

        Task<int[]> a = Task.Run(() => first.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync().AsTask());
        Task<int[]> c = Task.Run(() => third.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync().AsTask());
        OperationCanceledException stopped = await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (int token in second.GenerateAsync(prompt, options, cancel.Token))
            {
                cancelled.Add(token);
                if (cancelled.Count == 3)
                {
                    await cancel.CancelAsync();
                }
            }
        });
        int[][] others = await Task.WhenAll(a, c);

        Assert.Equal(cancel.Token, stopped.CancellationToken);
        Assert.InRange(cancelled.Count, 3, 39);
        int[] expected = [.. Tokenize(Endless), .. Enumerable.Repeat(others[0][^1], 40 - Tokenize(Endless).Length)];
        Assert.Equal(expected, others[0]);
        Assert.Equal(expected, others[1]);
        Assert.Equal(expected[..cancelled.Count], cancelled);

        // The cancelled session answers its next prompt whole.
        int[] again = await second.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync();

        // Its cancelled generation was reported (before the next could start), with the time from the cancel to the
        // loop's stop.
        InferenceEvent stoppedEvent = recorded.Events.First(g => g.SessionId == "b");
        Assert.Equal("cancelled", stoppedEvent.Outcome);
        Assert.NotNull(stoppedEvent.AbortStopMs);
        Assert.Equal(expected, again);
    }

    [ModelTheory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task A_generation_samples_as_it_asks_and_the_same_seed_gives_the_same_tokens(int parallel)
    {
        await using LlamaInferenceEngine engine = Start(TestModels.Random, parallel);
        await using IInferenceSession session = await engine.CreateSessionAsync("s", CancellationToken.None);
        int[] prompt = Prompt(Words(20));
        var greedy = new GenerationOptions(24, s_stops);
        var hot = greedy with { Temperature = 5, Seed = 7 };

        int[] first = await session.GenerateAsync(prompt, greedy, CancellationToken.None).ToArrayAsync();
        int[] sampled = await session.GenerateAsync(prompt, hot, CancellationToken.None).ToArrayAsync();
        int[] again = await session.GenerateAsync(prompt, hot, CancellationToken.None).ToArrayAsync();
        int[] greedyAgain = await session.GenerateAsync(prompt, greedy, CancellationToken.None).ToArrayAsync();

        Assert.Equal(sampled, again);
        Assert.NotEqual(first, sampled);
        Assert.Equal(first, greedyAgain);
    }

    private static LlamaInferenceEngine Start(string model, int parallel, Telemetry? telemetry = null) => LlamaInferenceEngine.Start(
        new LlamaEngineOptions
        {
            ModelPath = model, ContextSize = 1024, Threads = 2, Parallel = parallel, Sampling = new LlamaCpp.LlamaSamplingOptions { Temperature = 0 },
        },
        telemetry ?? new Telemetry(NullLogger.Instance),
        NullLoggerFactory.Instance);
}
