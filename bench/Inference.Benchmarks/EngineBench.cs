using System.Diagnostics;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Harmony.Rendering;
using LlamaCpp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Inference.Benchmarks;

/// <summary>Our engine alone, in this process: <see cref="LlamaInferenceEngine"/> as the agent's prompt turns use it.</summary>
internal static class EngineBench
{
    // Managed bytes per token are counted from here on: a generation's one-time costs (its decode thread's first
    // await, 32 bytes) come before, and are not per token.
    private const int SteadyFrom = 16;

    public static async Task<DecodeResult> DecodeAsync(BenchModel model, BenchSettings settings)
    {
        await using LlamaInferenceEngine engine = Start(model, settings);
        var runs = new List<DecodeRun>();
        for (int repetition = 0; repetition <= settings.Repetitions; repetition++)
        {
            // A session per run: each starts with an empty KV cache, as node-llama-cpp's runs do.
            await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);
            (int[] prompt, GenerationOptions options) = Request(session, BenchModel.Question, settings.Tokens);
            long started = Stopwatch.GetTimestamp();
            long first = 0;
            long last = 0;
            long steadyBytes = 0;
            long lastBytes = 0;
            int generated = 0;
            await foreach (int token in session.GenerateAsync(prompt, options, CancellationToken.None))
            {
                // Everything allocated from then to the last token, on any thread, counts.
                last = Stopwatch.GetTimestamp();
                lastBytes = GC.GetTotalAllocatedBytes(precise: true);
                first = generated == 0 ? last : first;
                steadyBytes = generated == SteadyFrom ? lastBytes : steadyBytes;
                generated++;
            }

            if (repetition > 0)
            {
                runs.Add(new DecodeRun(prompt.Length, generated, Milliseconds(started, first),
                    (generated - 1) / Stopwatch.GetElapsedTime(first, last).TotalSeconds, (lastBytes - steadyBytes) / (double)(generated - 1 - SteadyFrom)));
            }
        }

        return new DecodeResult("our engine alone (in-process)", "first token", runs);
    }

    /// <summary>
    /// Cancels after a random number of generated tokens; measures until the stream throws. It does at once: llama.cpp
    /// finishes stopping in the background (its own time, from the telemetry, is reported beside).
    /// </summary>
    public static async Task<CancelResult> CancelDuringDecodeAsync(BenchModel model, BenchSettings settings)
    {
        (Telemetry telemetry, List<double> stops) = NativeStops();
        await using LlamaInferenceEngine engine = Start(model, settings, telemetry);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);
        (int[] prompt, GenerationOptions options) = Request(session, BenchModel.Question, settings.Tokens);
        var random = new Random(7);
        var latencies = new List<double>();
        int missed = 0;
        for (int trial = 0; trial <= settings.CancelTrials; trial++)
        {
            int cancelAt = random.Next(8, settings.Tokens - 8);
            using var cancel = new CancellationTokenSource();
            long cancelled = 0;
            try
            {
                int generated = 0;
                await foreach (int token in session.GenerateAsync(prompt, options, cancel.Token))
                {
                    if (++generated == cancelAt)
                    {
                        cancelled = Stopwatch.GetTimestamp();
                        // Its callbacks (the abort flag, the stream's wake-up) run here, as a cancel's do on the thread
                        // that cancels; CancelAsync would add a hop to the thread pool of the benchmark's own.
#pragma warning disable CA1849
                        cancel.Cancel();
#pragma warning restore CA1849
                    }
                }

                missed++;
            }
            catch (OperationCanceledException)
            {
                if (trial > 0)
                {
                    latencies.Add(Stopwatch.GetElapsedTime(cancelled).TotalMilliseconds);
                }
            }
        }

        return new CancelResult("engine, during decode", latencies, missed, stops);
    }

    /// <summary>Cancels at a random moment of a long prompt's prefill, from a timer, as a client's cancel arrives.</summary>
    public static async Task<CancelResult> CancelDuringPrefillAsync(BenchModel model, BenchSettings settings)
    {
        (Telemetry telemetry, List<double> stops) = NativeStops();
        await using LlamaInferenceEngine engine = Start(model, settings, telemetry);
        string question = BenchModel.LongQuestion(settings.LongPromptWords);
        TimeSpan prefill = await TimePrefillAsync(engine, question);
        var random = new Random(11);
        var latencies = new List<double>();
        int missed = 0;
        for (int trial = 0; trial < settings.CancelTrials; trial++)
        {
            // A new session each time, so that every prefill starts from an empty cache.
            await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);
            (int[] prompt, GenerationOptions options) = Request(session, question, 1);
            using var cancel = new CancellationTokenSource();
            long cancelled = 0;
            cancel.Token.UnsafeRegister(_ => cancelled = Stopwatch.GetTimestamp(), null);
            cancel.CancelAfter(prefill * (0.1 + (0.8 * random.NextDouble())));
            try
            {
                await foreach (int token in session.GenerateAsync(prompt, options, cancel.Token))
                {
                }

                missed++;
            }
            catch (OperationCanceledException)
            {
                latencies.Add(Stopwatch.GetElapsedTime(cancelled).TotalMilliseconds);
            }
        }

        return new CancelResult($"engine, mid-prefill ({prefill.TotalMilliseconds:F0} ms prefill)", latencies, missed, stops);
    }

    private static async Task<TimeSpan> TimePrefillAsync(LlamaInferenceEngine engine, string question)
    {
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);
        (int[] prompt, GenerationOptions options) = Request(session, question, 1);
        long started = Stopwatch.GetTimestamp();
        await foreach (int token in session.GenerateAsync(prompt, options, CancellationToken.None))
        {
        }

        return Stopwatch.GetElapsedTime(started);
    }

    private static LlamaInferenceEngine Start(BenchModel model, BenchSettings settings, Telemetry? telemetry = null) => LlamaInferenceEngine.Start(
        new LlamaEngineOptions
        {
            ModelPath = model.Path,
            ContextSize = settings.ContextSize,
            Threads = settings.Threads,
            Sampling = new LlamaSamplingOptions { Temperature = 0 },
        },
        telemetry ?? new Telemetry(NullLogger.Instance),
        NullLoggerFactory.Instance);

    // The native stop of each cancelled generation, as its telemetry reports it.
    private static (Telemetry Telemetry, List<double> Stops) NativeStops()
    {
        var telemetry = new Telemetry(NullLogger.Instance);
        var stops = new List<double>();
        telemetry.Subscribe(e =>
        {
            if (e is InferenceEvent { AbortStopMs: { } stop })
            {
                lock (stops)
                {
                    stops.Add(stop);
                }
            }
        });
        return (telemetry, stops);
    }

    private static (int[] Prompt, GenerationOptions Options) Request(IInferenceSession session, string question, int maxTokens)
    {
        var encoding = new HarmonyEncoding(session.Tokenizer);
        return (encoding.RenderForCompletion(BenchModel.Conversation(question)), new GenerationOptions(maxTokens, encoding.SamplingStops.ToArray()));
    }

    private static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
