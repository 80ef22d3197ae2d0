using System.Diagnostics;
using System.Globalization;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Harmony;
using Harmony.Conversations;
using Harmony.Rendering;
using LlamaCpp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Inference.Benchmarks;

/// <summary>
/// Warm resume: a conversation of about 4,000 tokens is prefilled and answered once, and its session's state saved
/// (<see cref="IInferenceSession.SaveStateAsync"/>); then, alternating, a fresh session (a fresh context on the
/// loaded model) either restores that state and answers the next turn (warm), or prefills the same next turn whole
/// (cold). Each trial is timed from the session's creation to the next turn's first token.
/// </summary>
internal static class ResumeBench
{
    private const int AnswerTokens = 32;

    public static async Task<ResumeResult> RunAsync(BenchModel model, BenchSettings settings, Report report)
    {
        var telemetry = new Telemetry(NullLogger.Instance);
        var events = new List<InferenceEvent>();
        telemetry.Subscribe(e =>
        {
            if (e is InferenceEvent generation)
            {
                lock (events)
                {
                    events.Add(generation);
                }
            }
        });
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions { ModelPath = model.Path, ContextSize = settings.ContextSize, Threads = settings.Threads, Sampling = new LlamaSamplingOptions { Temperature = 0 } },
            telemetry, NullLoggerFactory.Instance);
        string state = Path.Combine(BenchSettings.OutputDirectory, "resume-state.kv");

        // The first turn: the long question answered, the session's state saved as a turn's end saves it.
        int[] next;
        await using (IInferenceSession first = await engine.CreateSessionAsync("first", CancellationToken.None))
        {
            var encoding = new HarmonyEncoding(first.Tokenizer);
            int[] stops = encoding.SamplingStops.ToArray();
            HarmonyConversation conversation = BenchModel.Conversation(BenchModel.LongQuestion(settings.ResumeWords));
            int[] prompt = encoding.RenderForCompletion(conversation);
            int[] answer = await first.GenerateAsync(prompt, new GenerationOptions(AnswerTokens, stops), CancellationToken.None).ToArrayAsync();

            // The next turn, as the agent renders it: the history, the answer closed by <|end|>, another request.
            int[] withRequest = encoding.RenderForCompletion(conversation with { Messages = [.. conversation.Messages, HarmonyMessage.User("Go on.")] });
            next = [.. prompt, .. answer, HarmonySpecialTokens.O200kHarmony.End, .. withRequest.AsSpan(prompt.Length - 2)];
            if (!await first.SaveStateAsync(state, next, CancellationToken.None))
            {
                throw new InvalidOperationException("The first session saved no state.");
            }
            report.Line(string.Create(CultureInfo.InvariantCulture,
                $"resume: first turn {prompt.Length} prompt tokens + {answer.Length} generated; state file {new FileInfo(state).Length / 1024.0 / 1024.0:F1} MiB; next turn {next.Length} tokens"));
        }

        var stopTokens = HarmonySpecialTokens.O200kHarmony.SamplingStops.ToArray();
        var warm = new List<ResumeTrial>();
        var cold = new List<ResumeTrial>();
        for (int trial = 0; trial <= settings.ResumeTrials; trial++)
        {
            // The first pair warms up the process (the JIT, the page cache); it is not counted.
            foreach (bool restore in trial % 2 == 0 ? new[] { true, false } : [false, true])
            {
                string id = $"{(restore ? "warm" : "cold")}-{trial}";
                long started = Stopwatch.GetTimestamp();
                await using IInferenceSession session = await engine.CreateSessionAsync(id, CancellationToken.None);
                bool restored = restore && await session.TryRestoreStateAsync(state, CancellationToken.None);
                long restoredAt = Stopwatch.GetTimestamp();
                double firstToken = 0;
                await foreach (int token in session.GenerateAsync(next, new GenerationOptions(1, stopTokens), CancellationToken.None))
                {
                    firstToken = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
                }

                if (restore && !restored)
                {
                    throw new InvalidOperationException("The saved state was not restored.");
                }

                InferenceEvent generation;
                lock (events)
                {
                    generation = events.Last(e => e.SessionId == id);
                }

                var result = new ResumeTrial(firstToken, restore ? Stopwatch.GetElapsedTime(started, restoredAt).TotalMilliseconds : 0, generation.ReusedTokens, generation.PrefilledTokens);
                report.Line(string.Create(CultureInfo.InvariantCulture,
                    $"  trial {trial} {(restore ? "warm" : "cold")}: first token {result.FirstTokenMs:F1} ms (session + restore {result.RestoreMs:F1} ms), reused {result.Reused}, prefilled {result.Prefilled}{(trial == 0 ? " (warm-up, not counted)" : "")}"));
                if (trial > 0)
                {
                    (restore ? warm : cold).Add(result);
                }
            }
        }

        File.Delete(state);
        var outcome = new ResumeResult(next.Length, warm, cold);
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"resume: time to first token of a {next.Length}-token next turn in a fresh session, median of {warm.Count} trials: "
            + $"warm (state restored) {outcome.WarmMedian:F1} ms ({warm.Min(t => t.FirstTokenMs):F1}–{warm.Max(t => t.FirstTokenMs):F1}), "
            + $"cold (prefilled whole) {outcome.ColdMedian:F1} ms ({cold.Min(t => t.FirstTokenMs):F1}–{cold.Max(t => t.FirstTokenMs):F1}); "
            + $"warm ÷ cold {outcome.Ratio:P1} (per pair {outcome.PairRatios.Min():P1}–{outcome.PairRatios.Max():P1}); goal ≤ 20 %"));
        return outcome;
    }
}

/// <summary>One trial: session creation to first token, the part before the generation, and what the generation decoded.</summary>
internal sealed record ResumeTrial(double FirstTokenMs, double RestoreMs, int Reused, int Prefilled);

/// <summary>Warm and cold trials, in pairs.</summary>
internal sealed record ResumeResult(int NextTurnTokens, IReadOnlyList<ResumeTrial> Warm, IReadOnlyList<ResumeTrial> Cold)
{
    public double WarmMedian => Median(Warm.Select(t => t.FirstTokenMs));

    public double ColdMedian => Median(Cold.Select(t => t.FirstTokenMs));

    public double Ratio => WarmMedian / ColdMedian;

    public IReadOnlyList<double> PairRatios => [.. Warm.Zip(Cold, (w, c) => w.FirstTokenMs / c.FirstTokenMs)];

    private static double Median(IEnumerable<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted.Length % 2 == 1 ? sorted[sorted.Length / 2] : (sorted[(sorted.Length / 2) - 1] + sorted[sorted.Length / 2]) / 2;
    }
}
