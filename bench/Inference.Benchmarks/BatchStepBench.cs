using System.Diagnostics;
using Acp.GptOss.Inference.Llama;
using Harmony.Rendering;
using Harmony.Tokenizers;
using LlamaCpp;

namespace Inference.Benchmarks;

/// <summary>
/// Where the batched streams' time goes: <see cref="LlamaBatchDecoder.Step"/> alone, on this thread, with no engine
/// around it, timed while 1, 2, 4, ... sequences are all generating. How a step's time grows with its sequences is
/// what batching can win at most: were the weights' reading the whole cost, a step of four would take as long as a
/// step of one. Beside each, the model without its output head: a step of one sequence reading as many prompt tokens,
/// which asks for no logits.
/// </summary>
internal static class BatchStepBench
{
    private const int Cycles = 4;

    private const int WarmSteps = 2;

    private const int TimedSteps = 8;

    public static async Task<IReadOnlyList<BatchStep>> RunAsync(BenchModel model, BenchSettings settings)
    {
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        var encoding = new HarmonyEncoding(tokenizer);
        int[] stops = encoding.SamplingStops.ToArray();
        int widest = settings.Streams.Max();
        LlamaBackend backend = LlamaBackend.Initialize();
        using LlamaModel llama = LlamaModel.Load(backend, model.Path, new LlamaModelOptions { RequiredArchitecture = LlamaInferenceEngine.Architecture, GpuLayers = 0 });
        using var decoder = new LlamaBatchDecoder(llama, new LlamaContextOptions { ContextSize = settings.ContextSize, Threads = settings.Threads }, widest);
        var sampling = new LlamaSamplingOptions { Temperature = 0 };
        // Round after round of every count in turn, so that the machine's load, which drifts, weighs on each alike.
        var times = settings.Streams.ToDictionary(count => count, _ => new List<double>());
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            foreach (int count in settings.Streams)
            {
                TimeSteps(decoder, sampling, encoding, stops, count, times[count]);
            }
        }

        var steps = new List<BatchStep>();
        foreach (int count in settings.Streams)
        {
            double step = Stats.Median(times[count]);
            steps.Add(new BatchStep(count, step, count * 1000 / step, times[count].Count, TimeBody(llama, settings, sampling, encoding, stops, count)));
        }

        return steps;
    }

    // The model without its output head: steps of one sequence reading count prompt tokens each (a decoder whose
    // batch is that size), which ask for no logits.
    private static double TimeBody(LlamaModel llama, BenchSettings settings, LlamaSamplingOptions sampling, HarmonyEncoding encoding, int[] stops, int count)
    {
        int[] prompt = encoding.RenderForCompletion(BenchModel.Conversation(BenchModel.LongQuestion(200)));
        using var decoder = new LlamaBatchDecoder(llama, new LlamaContextOptions { ContextSize = 1024, Threads = settings.Threads, BatchSize = count }, 1);
        LlamaSequence sequence = decoder.Sequence(0, sampling);
        var times = new List<double>();
        for (int cycle = 0; cycle < Cycles; cycle++)
        {
            sequence.Reset();
            sequence.Start(prompt, 1, stops);
            for (int step = 0; step < WarmSteps + TimedSteps; step++)
            {
                long started = Stopwatch.GetTimestamp();
                decoder.Step();
                if (step >= WarmSteps)
                {
                    times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
                }
            }
        }

        return Stats.Median(times);
    }

    // Starts the first count sequences on their prompts (the cache keeps what an earlier cycle read of them), steps
    // through the prompts and a few generating steps, then times steps with every one of them generating.
    private static void TimeSteps(LlamaBatchDecoder decoder, LlamaSamplingOptions sampling, HarmonyEncoding encoding, int[] stops, int count, List<double> times)
    {
        LlamaSequence[] sequences = [.. Enumerable.Range(0, count).Select(i => decoder.Sequence(i, sampling))];
        for (int i = 0; i < count; i++)
        {
            sequences[i].Start(encoding.RenderForCompletion(ConcurrencyBench.Conversation(0, i)), 1 + WarmSteps + TimedSteps + 1, stops);
        }

        int timed = 0;
        int step = 0;
        while (timed < TimedSteps && sequences.All(s => s.Ended == LlamaSequenceEnd.Running))
        {
            bool generating = sequences.All(s => s.Statistics.GeneratedTokens > 0);
            long started = Stopwatch.GetTimestamp();
            if (!decoder.Step())
            {
                break;
            }

            double ms = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            foreach (LlamaSequence sequence in sequences)
            {
                sequence.TryTakeToken(out _);
            }

            if (generating && ++step > WarmSteps)
            {
                times.Add(ms);
                timed++;
            }
        }

        // The last token or two of the budget, untimed: no sequence may still be generating when another count's steps are timed.
        while (sequences.Any(s => s.Ended == LlamaSequenceEnd.Running) && decoder.Step())
        {
            foreach (LlamaSequence sequence in sequences)
            {
                sequence.TryTakeToken(out _);
            }
        }
    }
}
