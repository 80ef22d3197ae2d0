using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Harmony;
using Harmony.Conversations;
using Harmony.Rendering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Inference.Benchmarks;

/// <summary>
/// Many streams at once on one model: for each number of streams, that many sessions each answer a short prompt of
/// their own at the same moment, decoded together in one shared context (<see cref="LlamaEngineOptions.Parallel"/>
/// = the number of streams) or each in a context of its own racing the others (Parallel = 1, as before batching),
/// beside node-llama-cpp decoding as many sequences of one context; then cancels of one stream among four batched
/// ones. The bench model's chain never ends its answer, so every stream generates its whole budget.
/// </summary>
internal static class ConcurrencyBench
{
    // The warm-up round makes the contexts and runs every path once; its tokens are not counted.
    private const int WarmUpTokens = 16;

    private const int CancelStreams = 4;

    private static readonly TimeSpan s_nodeLimit = TimeSpan.FromMinutes(3);

    // Each cancel trial's budget: enough to cancel at a random point well inside it, few enough for many trials.
    private const int CancelTokens = 48;

    public static async Task<ConcurrencyResult> RunAsync(BenchModel model, BenchSettings settings, Report report)
    {
        double loadBefore = LoadAverage();
        report.Line("");
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"concurrency: {string.Join(", ", settings.Streams)} streams at once, {settings.ConcurrencyTokens} tokens each, {settings.Threads} threads, greedy, "
            + $"{settings.ContextSize}-token context per stream, median of {settings.ConcurrencyRounds} rounds after a warm-up; load average {loadBefore:0.00}"));
        // Every setup is started first, and the rounds go round them in turn: the machine's load, which drifts on a
        // shared machine, weighs on each alike. The model's pages are mapped once, whatever the number of engines.
        int widest = settings.Streams.Max();
        var setups = new List<EngineStreams>();
        try
        {
            foreach (int streams in settings.Streams)
            {
                setups.Add(await EngineStreams.StartAsync(model, settings, streams, parallel: 1));
                if (streams > 1)
                {
                    setups.Add(await EngineStreams.StartAsync(model, settings, streams, parallel: streams));
                }
            }

            // What one user alone gets from an agent started with --parallel: the batched loop with a single stream.
            if (widest > 1)
            {
                setups.Add(await EngineStreams.StartAsync(model, settings, 1, parallel: widest));
            }

            for (int round = 0; round <= settings.ConcurrencyRounds; round++)
            {
                foreach (EngineStreams setup in setups)
                {
                    await setup.RoundAsync(round, round == 0 ? WarmUpTokens : settings.ConcurrencyTokens);
                }

                report.Line(round == 0 ? "  warm-up round done" : string.Create(CultureInfo.InvariantCulture,
                    $"  round {round}: {string.Join(", ", setups.Select(s => $"{s.StreamCount}/{s.Parallel} {s.Result().Rounds[^1].AggregateTokensPerSecond:0}"))} tok/s (streams/parallel)"));
            }
        }
        finally
        {
            foreach (EngineStreams setup in setups)
            {
                await setup.DisposeAsync();
            }
        }

        var runs = setups.Select(s => s.Result()).ToList();
        IReadOnlyList<BatchStep> steps = await BatchStepBench.RunAsync(model, settings);
        ConcurrentCancelResult? cancel = settings.SkipCancel ? null : await CancelUnderLoadAsync(model, settings);
        string? nodeError = null;
        if (settings.SkipNode)
        {
            nodeError = "skipped (--skip-node)";
        }
        else
        {
            try
            {
                (IReadOnlyList<ConcurrencyRun> nodeRuns, nodeError) = await NodeAsync(model, settings);
                runs.AddRange(nodeRuns);
            }
            catch (Exception e) when (e is InvalidOperationException or System.ComponentModel.Win32Exception)
            {
                nodeError = e.Message;
            }
        }

        var result = new ConcurrencyResult(settings.ConcurrencyTokens, runs, steps, cancel, nodeError, loadBefore);
        report.Concurrency(settings, result);
        return result;
    }

    /// <summary>
    /// The prompt of one stream in one round: its own question, and a date of the round's own, so that no two share
    /// more than the system prompt's lines before the date (35 tokens of about 80).
    /// </summary>
    public static HarmonyConversation Conversation(int round, int stream) => new(
        new HarmonySystemContent { CurrentDate = new DateOnly(2026, 1, 1).AddDays(round) }, null,
        [HarmonyMessage.User(string.Create(CultureInfo.InvariantCulture, $"Stream {stream}: count to ten, then keep going."))]);

    /// <summary>
    /// Four streams decode together; one of them, at random, is cancelled after a random number of its tokens, from
    /// its own reading loop as a client's cancel arrives between tokens. Measured until its stream throws, and until
    /// the decode loop reports its sequence ended; the other three must answer whole, exactly as without the cancel.
    /// </summary>
    private static async Task<ConcurrentCancelResult> CancelUnderLoadAsync(BenchModel model, BenchSettings settings)
    {
        // The loop publishes a cancelled generation's telemetry on its own thread, once its sequence has stopped.
        var telemetry = new Telemetry(NullLogger.Instance);
        var stopped = new ConcurrentDictionary<string, long>();
        telemetry.Subscribe(e =>
        {
            if (e is InferenceEvent { Outcome: "cancelled" } generation)
            {
                stopped[generation.SessionId] = Stopwatch.GetTimestamp();
            }
        });
        await using LlamaInferenceEngine engine = EngineStreams.StartEngine(model, settings, CancelStreams, telemetry);
        IInferenceSession[] sessions = await EngineStreams.SessionsAsync(engine, CancelStreams);
        int tokens = Math.Min(CancelTokens, settings.ConcurrencyTokens);
        var latencies = new List<double>();
        var loopStops = new List<double>();
        var gapsAcross = new List<double>();
        var gapsUsual = new List<double>();
        int missed = 0;
        int exact = 0;
        int others = 0;
        try
        {
            var encoding = new HarmonyEncoding(sessions[0].Tokenizer);
            var options = new GenerationOptions(tokens, encoding.SamplingStops.ToArray());
            // The same prompt for each stream every trial: after the first, only decoding is left, all four in step.
            int[][] prompts = [.. Enumerable.Range(0, CancelStreams).Select(i => encoding.RenderForCompletion(Conversation(0, i)))];
            int[][] expected = await Task.WhenAll(sessions.Select((session, i) =>
                Task.Run(() => session.GenerateAsync(prompts[i], options, CancellationToken.None).ToArrayAsync().AsTask())));
            var random = new Random(13);
            for (int trial = 0; trial < settings.ConcurrentCancelTrials; trial++)
            {
                int victim = random.Next(CancelStreams);
                int cancelAt = random.Next(8, tokens - 8);
                string victimId = string.Create(CultureInfo.InvariantCulture, $"stream{victim}");
                stopped.TryRemove(victimId, out _);
                using var cancel = new CancellationTokenSource();
                long cancelled = 0;
                Task<double?> cancelledStream = Task.Run(async () =>
                {
                    try
                    {
                        int generated = 0;
                        await foreach (int token in sessions[victim].GenerateAsync(prompts[victim], options, cancel.Token))
                        {
                            if (++generated == cancelAt)
                            {
                                cancelled = Stopwatch.GetTimestamp();
                                // The cancel's callbacks (the abort flag, the stream's wake-up) run here, as a client's cancel
                                // runs them on the thread that cancels; CancelAsync would add a hop to the thread pool.
#pragma warning disable CA1849
                                cancel.Cancel();
#pragma warning restore CA1849
                            }
                        }

                        return (double?)null;
                    }
                    catch (OperationCanceledException)
                    {
                        return Stopwatch.GetElapsedTime(cancelled).TotalMilliseconds;
                    }
                });
                int[] rest = [.. Enumerable.Range(0, CancelStreams).Where(i => i != victim)];
                Task<(int[] Tokens, long[] Times)>[] otherStreams = [.. rest.Select(i => Task.Run(() => TimedAsync(sessions[i], prompts[i], options)))];
                double? latency = await cancelledStream;
                (int[] Tokens, long[] Times)[] answers = await Task.WhenAll(otherStreams);
                if (latency is { } ms)
                {
                    latencies.Add(ms);
                }
                else
                {
                    missed++;
                }

                if (stopped.TryGetValue(victimId, out long stop) && cancelled != 0)
                {
                    loopStops.Add(Milliseconds(cancelled, stop));
                }

                for (int k = 0; k < answers.Length; k++)
                {
                    others++;
                    exact += answers[k].Tokens.AsSpan().SequenceEqual(expected[rest[k]]) ? 1 : 0;
                    Gaps(answers[k].Times, cancelled, gapsAcross, gapsUsual);
                }
            }
        }
        finally
        {
            foreach (IInferenceSession session in sessions)
            {
                await session.DisposeAsync();
            }
        }

        return new ConcurrentCancelResult(CancelStreams, tokens, latencies, loopStops, missed, exact, others, gapsAcross, Stats.Median(gapsUsual));
    }

    // A whole answer, with each token's arrival (the first entry: when the request was made).
    private static async Task<(int[] Tokens, long[] Times)> TimedAsync(IInferenceSession session, int[] prompt, GenerationOptions options)
    {
        var times = new List<long>(options.MaxTokens + 1) { Stopwatch.GetTimestamp() };
        var answer = new List<int>(options.MaxTokens);
        await foreach (int token in session.GenerateAsync(prompt, options, CancellationToken.None))
        {
            times.Add(Stopwatch.GetTimestamp());
            answer.Add(token);
        }

        return ([.. answer], [.. times]);
    }

    // The wait for the token that came first after the cancel, and the usual waits between tokens (from the second on).
    private static void Gaps(long[] times, long cancelled, List<double> across, List<double> usual)
    {
        double? spanning = null;
        for (int i = 2; i < times.Length; i++)
        {
            double gap = Milliseconds(times[i - 1], times[i]);
            usual.Add(gap);
            if (spanning is null && cancelled != 0 && times[i] >= cancelled)
            {
                spanning = gap;
            }
        }

        if (spanning is { } value)
        {
            across.Add(value);
        }
    }

    /// <summary>
    /// node-llama-cpp's rounds, as many as it finished within three minutes: its CPU threads spin at
    /// barriers, and on a machine busy with other work it can slow down many times over (2–10 tok/s against its 57
    /// idle, seen here), which would hold up the whole run.
    /// </summary>
    private static async Task<(IReadOnlyList<ConcurrencyRun> Runs, string? Error)> NodeAsync(BenchModel model, BenchSettings settings)
    {
        // The same prompts, in literal spellings that node-llama-cpp tokenizes as specials: [round][stream].
        int widest = settings.Streams.Max();
        var encoding = new HarmonyEncoding(O200kByteTokenizer.Instance);
        string[][] prompts = [.. Enumerable.Range(0, settings.ConcurrencyRounds + 1)
            .Select(round => Enumerable.Range(0, widest).Select(stream => encoding.RenderForCompletionText(Conversation(round, stream))).ToArray())];
        string promptFile = Path.Combine(BenchSettings.OutputDirectory, "node-concurrency-prompts.json");
        await File.WriteAllTextAsync(promptFile, JsonSerializer.Serialize(prompts));
        using Process node = NodePackages.StartScript(
            "node-llama-cpp-concurrency.mjs", model.Path, promptFile,
            "--threads", Text(settings.Threads), "--tokens", Text(settings.ConcurrencyTokens), "--warm-up-tokens", Text(WarmUpTokens),
            "--context", Text(settings.ContextSize), "--streams", string.Join(',', settings.Streams));
        Task<string> errors = node.StandardError.ReadToEndAsync();
        var runs = new List<ConcurrencyRun>();
        var rounds = new List<ConcurrencyRound>();
        using var limit = new CancellationTokenSource(s_nodeLimit);
        while (await ReadLineAsync(node.StandardOutput, limit.Token) is { } line)
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement root = document.RootElement;
            int streams = root.GetProperty("streams").GetInt32();
            int round = root.GetProperty("round").GetInt32();
            if (round > 0)
            {
                rounds.Add(new ConcurrencyRound([.. root.GetProperty("runs").EnumerateArray().Select(s => new StreamRun(
                    s.GetProperty("promptTokens").GetInt32(), s.GetProperty("generated").GetInt32(), s.GetProperty("firstMs").GetDouble(), s.GetProperty("lastMs").GetDouble()))]));
            }

            if (round == settings.ConcurrencyRounds)
            {
                runs.Add(new ConcurrencyRun($"node-llama-cpp 3.22.1, {streams} sequence{(streams == 1 ? "" : "s")} of one context", streams, rounds, LoadAverage()));
                rounds = [];
            }
        }

        if (limit.IsCancellationRequested)
        {
            node.Kill(entireProcessTree: true);
            await node.WaitForExitAsync();
            return (runs, $"stopped after {s_nodeLimit.TotalSeconds:0} s, with {runs.Count} of {settings.Streams.Count} stream counts measured (the machine too busy for it?)");
        }

        await node.WaitForExitAsync();
        return node.ExitCode == 0 ? (runs, null) : (runs, $"node-llama-cpp-concurrency.mjs failed ({node.ExitCode}): {await errors}");
    }

    // The next line, or null at the end or once the limit has passed.
    private static async Task<string?> ReadLineAsync(StreamReader reader, CancellationToken limit)
    {
        try
        {
            return await reader.ReadLineAsync(limit);
        }
        catch (OperationCanceledException)
        {
            return null;
        }
    }

    /// <summary>The one-minute load average (Linux), to say how shared the machine was; NaN elsewhere.</summary>
    public static double LoadAverage()
    {
        try
        {
            string text = File.ReadAllText("/proc/loadavg");
            return double.Parse(text.AsSpan(0, text.IndexOf(' ', StringComparison.Ordinal)), CultureInfo.InvariantCulture);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or ArgumentOutOfRangeException)
        {
            return double.NaN;
        }
    }

    private static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);

    private static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
