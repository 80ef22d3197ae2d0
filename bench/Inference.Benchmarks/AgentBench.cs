using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Bench.Shared;

namespace Inference.Benchmarks;

/// <summary>The whole agent, as a client sees it over stdio: prompt written, chunks and the response read back.</summary>
internal static class AgentBench
{
    /// <summary>
    /// The whole agent's turns, each followed by a run of the raw C loop on the same prompt length: the machine's
    /// load then weighs on both alike, and each pair gives a ratio.
    /// </summary>
    public static async Task<(DecodeResult Agent, RawLoopResult Raw)> DecodeAsync(BenchModel model, BenchSettings settings, string rawLoop)
    {
        await using AgentProcess agent = await StartAsync(model, settings);
        var runs = new List<DecodeRun>();
        var rawRuns = new List<RawLoopRun>();
        int promptTokens = 0;
        for (int repetition = 0; repetition <= settings.Repetitions; repetition++)
        {
            // A session per run: each starts with an empty KV cache. The warm-up also waits for the model to load.
            string session = (await agent.NewSessionAsync("/tmp")).Session;
            if (!settings.PromptAtOnce)
            {
                await agent.ContextReadyAsync(session);
            }

            (int id, long sent) = await agent.PromptAsync(session, BenchModel.Question);
            (JsonElement response, long answered, List<(long At, AgentLine Line)> updates) = await agent.ResponseAsync(id);
            long[] chunks = [.. updates.Where(u => u.Line.IsChunk).Select(u => u.At)];
            int used = updates.Select(u => u.Line).Where(l => l.UpdateKind == "usage_update")
                .Select(l => l.Message.GetProperty("params").GetProperty("update").GetProperty("used").GetInt32()).Single();
            if (AgentProcess.StopReason(response) != "max_tokens" || chunks.Length < 2)
            {
                throw new InvalidOperationException($"The agent ended with {AgentProcess.StopReason(response)} after {chunks.Length} chunks; the benchmark model answers until the budget.");
            }

            JsonElement inference = updates.Select(u => u.Line).Where(l => l.TelemetryKind == "inference").Select(l => l.Message.GetProperty("params")).Last();
            promptTokens = used - settings.Tokens;
            RawLoopRun raw = await RawLoopBench.RunAsync(rawLoop, model, settings, promptTokens);
            if (repetition > 0)
            {
                runs.Add(new DecodeRun(promptTokens, chunks.Length, Stopwatch.GetElapsedTime(sent, chunks[0]).TotalMilliseconds,
                    (chunks.Length - 1) / Stopwatch.GetElapsedTime(chunks[0], chunks[^1]).TotalSeconds, null, Stopwatch.GetElapsedTime(sent, answered).TotalMilliseconds,
                    new GenerationSteps(Number(inference, "prefillMs"), Number(inference, "samplingMs"), Number(inference, "decodeMs"), Number(inference, "deliveryMs"),
                        Number(inference, "generationMs"))));
                rawRuns.Add(raw);
            }
        }

        return (new DecodeResult("whole agent over stdio", "first chunk", runs), new RawLoopResult(RawLoopBench.Library, promptTokens, rawRuns));
    }

    private static double Number(JsonElement element, string name) => element.TryGetProperty(name, out JsonElement value) ? value.GetDouble() : double.NaN;

    /// <summary>Sends session/cancel after a random number of chunks; measures until the cancelled response is read.</summary>
    public static async Task<CancelResult> CancelDuringDecodeAsync(BenchModel model, BenchSettings settings)
    {
        await using AgentProcess agent = await StartAsync(model, settings);
        string session = (await agent.NewSessionAsync("/tmp")).Session;
        var random = new Random(13);
        var latencies = new List<double>();
        int missed = 0;
        for (int trial = 0; trial <= settings.CancelTrials; trial++)
        {
            int cancelAt = random.Next(8, settings.Tokens - 16);
            (int id, _) = await agent.PromptAsync(session, BenchModel.Question);
            int chunks = 0;
            while (chunks < cancelAt)
            {
                (_, AgentLine line) = await agent.NextAsync();
                chunks += line.IsChunk ? 1 : 0;
            }

            long cancelled = await agent.NotifyAsync("session/cancel", new { sessionId = session });
            (JsonElement response, long answered, _) = await agent.ResponseAsync(id);
            if (AgentProcess.StopReason(response) != "cancelled")
            {
                missed++;
            }
            else if (trial > 0)
            {
                latencies.Add(Stopwatch.GetElapsedTime(cancelled, answered).TotalMilliseconds);
            }
        }

        return new CancelResult("agent over stdio, during decode", latencies, missed, agent.NativeStops);
    }

    /// <summary>Sends session/cancel at a random moment of a long prompt's prefill; measures until the cancelled response is read.</summary>
    public static async Task<CancelResult> CancelDuringPrefillAsync(BenchModel model, BenchSettings settings)
    {
        await using AgentProcess agent = await StartAsync(model, settings);
        string question = BenchModel.LongQuestion(settings.LongPromptWords);
        // Until the first chunk, a new session's turn creates its context, then prefills: cancel in the second part.
        await TimeFirstChunkAsync(agent, BenchModel.Question);
        TimeSpan setup = await TimeFirstChunkAsync(agent, BenchModel.Question);
        TimeSpan firstChunk = await TimeFirstChunkAsync(agent, question);
        TimeSpan prefill = firstChunk - setup;
        agent.NativeStops.Clear();
        var random = new Random(17);
        var latencies = new List<double>();
        int missed = 0;
        for (int trial = 0; trial < settings.CancelTrials; trial++)
        {
            string session = (await agent.NewSessionAsync("/tmp")).Session;
            (int id, long sent) = await agent.PromptAsync(session, question);
            TimeSpan delay = setup + (prefill * (0.1 + (0.8 * random.NextDouble()))) - Stopwatch.GetElapsedTime(sent);
            await Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
            long cancelled = await agent.NotifyAsync("session/cancel", new { sessionId = session });
            (JsonElement response, long answered, List<(long At, AgentLine Line)> updates) = await agent.ResponseAsync(id);
            if (AgentProcess.StopReason(response) != "cancelled" || updates.Any(u => u.Line.IsChunk))
            {
                missed++;
            }
            else
            {
                latencies.Add(Stopwatch.GetElapsedTime(cancelled, answered).TotalMilliseconds);
            }
        }

        return new CancelResult(string.Create(CultureInfo.InvariantCulture, $"agent over stdio, mid-prefill ({prefill.TotalMilliseconds:F0} ms prefill)"), latencies, missed, agent.NativeStops);
    }

    // In a new session: from the prompt to its first chunk; then the turn is cancelled.
    private static async Task<TimeSpan> TimeFirstChunkAsync(AgentProcess agent, string question)
    {
        string session = (await agent.NewSessionAsync("/tmp")).Session;
        (int id, long sent) = await agent.PromptAsync(session, question);
        long first;
        while (true)
        {
            (long at, AgentLine line) = await agent.NextAsync();
            if (line.IsChunk)
            {
                first = at;
                break;
            }
        }

        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        await agent.ResponseAsync(id);
        return Stopwatch.GetElapsedTime(sent, first);
    }

    /// <summary>Starts the built agent on the model and initializes it, with telemetry: each generation's inference
    /// event says where its time went.</summary>
    private static async Task<AgentProcess> StartAsync(BenchModel model, BenchSettings settings)
    {
        AgentProcess agent = AgentProcess.Start(
            BenchSettings.Agent,
            "--model", model.Path, "--temperature", "0",
            "--threads", settings.Threads.ToString(CultureInfo.InvariantCulture),
            "--max-tokens", settings.Tokens.ToString(CultureInfo.InvariantCulture),
            "--ctx-size", settings.ContextSize.ToString(CultureInfo.InvariantCulture));
        try
        {
            await agent.InitializeAsync();
            return agent;
        }
        catch
        {
            await agent.DisposeAsync();
            throw;
        }
    }
}
