using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Bench.Shared;
using LlamaCpp;

namespace Latency.Benchmarks;

/// <summary>One row of the table: a measure's samples in milliseconds (or a ratio), and what it means.</summary>
internal sealed record Row(string Measure, IReadOnlyList<double> Values, string Unit = "ms", string Note = "", int Missed = 0);

/// <summary>The measurements, each driving fresh agent processes as an editor would.</summary>
internal sealed class LatencyBench(BenchOptions options, string model, string scripts)
{
    private const string ShortQuestion = "Count to ten, then keep going.";
    private static readonly string s_longQuestion = string.Join(' ', Enumerable.Range(0, 1000).Select(i => $"word{i}"));

    private readonly Random _random = new(13);
    private readonly string _cwd = Directory.CreateTempSubdirectory("latency-bench-").FullName;

    private string[] ModelArguments(int maxTokens) =>
    [
        "--model", model, "--temperature", "0", "--threads", options.Threads.ToString(CultureInfo.InvariantCulture),
        "--max-tokens", maxTokens.ToString(CultureInfo.InvariantCulture), "--ctx-size", "8192",
    ];

    public async Task<Row> SpawnAsync()
    {
        var times = new List<double>();
        for (int i = 0; i < options.Spawns; i++)
        {
            await using AgentProcess agent = AgentProcess.Start(options.Agent);
            long at = await agent.InitializeAsync();
            times.Add(Ms(agent.StartedAt, at));
        }

        return new Row("spawn → initialize answered", times, Note: "no model");
    }

    public async Task<Row[]> SessionNewAsync()
    {
        var first = new List<double>();
        var later = new List<double>();
        // The first session/new of a fresh agent starts the load; later ones come as an editor opens them, one at a
        // time (each waits for its context before the next, or the contexts made meanwhile would be what is timed).
        for (int agentIndex = 0; agentIndex < 5; agentIndex++)
        {
            await using AgentProcess agent = AgentProcess.Start(options.Agent, ModelArguments(16));
            await agent.InitializeAsync();
            (string session, long sent, long answered) = await agent.NewSessionAsync(_cwd);
            first.Add(Ms(sent, answered));
            await agent.FindAsync(l => l.LoadStage == "context_created" && l.LoadDetail?.Contains(session, StringComparison.Ordinal) == true);
            for (int i = 0; i < (options.Trials + 4) / 5; i++)
            {
                (session, sent, answered) = await agent.NewSessionAsync(_cwd);
                later.Add(Ms(sent, answered));
                await agent.FindAsync(l => l.LoadStage == "context_created" && l.LoadDetail?.Contains(session, StringComparison.Ordinal) == true);
            }
        }

        // Back to back, as a client that opens several sessions at once: each starts a context in the background.
        var burst = new List<double>();
        await using (AgentProcess agent = AgentProcess.Start(options.Agent, ModelArguments(16)))
        {
            await agent.InitializeAsync();
            for (int i = 0; i < options.Trials; i++)
            {
                (_, long sent, long answered) = await agent.NewSessionAsync(_cwd);
                burst.Add(Ms(sent, answered));
            }
        }

        return
        [
            new Row("session/new, first of a fresh agent", first, Note: "model configured; starts the load"),
            new Row("session/new, model configured", later, Note: "one at a time, model loaded or loading"),
            new Row("session/new, back to back", burst, Note: "from a fresh agent, while it loads"),
        ];
    }

    /// <summary>
    /// Cancels the first prompt of a fresh agent while its weights load, or while its context is made and warmed;
    /// also times the preflight the agent reports, and cold time to first token against load + prefill.
    /// </summary>
    public async Task<Row[]> ColdAsync()
    {
        var loading = new List<double>();
        var context = new List<double>();
        var preflight = new List<double>();
        var ratios = new List<double>();
        var coldFirst = new List<double>();
        int missedLoading = 0, missedContext = 0;

        // Calibration runs, uncancelled: where the stages fall after the prompt, and cold time to first token.
        double weightsMs = 0, readyMs = 0;
        int coldRuns = Math.Max(5, options.Trials / 4);
        for (int run = 0; run < coldRuns; run++)
        {
            await using AgentProcess agent = AgentProcess.Start(options.Agent, ModelArguments(16));
            await agent.InitializeAsync();
            (string session, long sessionSent, _) = await agent.NewSessionAsync(_cwd);
            (int id, long promptSent) = await agent.PromptAsync(session, ShortQuestion);
            Dictionary<string, (long At, double Elapsed)> stages = [];
            long firstChunk = 0;
            (JsonElement response, _, _) = await agent.ResponseAsync(id);
            foreach ((long at, AgentLine line) in agent.Seen)
            {
                if (line.LoadStage is { } stage && !stages.ContainsKey(stage))
                {
                    stages[stage] = (at, line.Message.GetProperty("params").GetProperty("elapsedMs").GetDouble());
                }

                if (line.IsChunk && firstChunk == 0)
                {
                    firstChunk = at;
                }
            }

            if (firstChunk == 0 || !stages.TryGetValue("weights_mapped", out var mapped) || !stages.TryGetValue("warm", out var warm))
            {
                throw new InvalidOperationException($"A cold prompt ended with {AgentProcess.StopReason(response)} without the expected chunks and load stages.");
            }

            if (stages.TryGetValue("open", out var open) && stages.TryGetValue("preflight", out var checkedAt))
            {
                preflight.Add(checkedAt.Elapsed - open.Elapsed);
            }

            weightsMs += Ms(promptSent, mapped.At) / coldRuns;
            readyMs += Ms(promptSent, warm.At) / coldRuns;

            // Load (until the model is ready: weights, context, warm-up) + prefill (a warm session's first chunk).
            (string warmSession, _, _) = await agent.NewSessionAsync(_cwd);
            await agent.FindAsync(l => l.LoadStage == "context_created" && l.LoadDetail?.Contains(warmSession, StringComparison.Ordinal) == true);
            (int warmId, long warmSent) = await agent.PromptAsync(warmSession, ShortQuestion);
            (long warmChunk, _) = await agent.WaitForAsync(l => l.IsChunk);
            await agent.ResponseAsync(warmId);
            double load = Ms(sessionSent, warm.At);
            double cold = Ms(sessionSent, firstChunk);
            coldFirst.Add(cold);
            ratios.Add(cold / (load + Ms(warmSent, warmChunk)));
        }

        for (int trial = 0; trial < options.Trials * 4 && (loading.Count < options.Trials || context.Count < options.Trials); trial++)
        {
            bool duringWeights = loading.Count < options.Trials && (context.Count >= options.Trials || trial % 2 == 0);
            await using AgentProcess agent = AgentProcess.Start(options.Agent, ModelArguments(16));
            await agent.InitializeAsync();
            (string session, _, _) = await agent.NewSessionAsync(_cwd);
            (int id, long promptSent) = await agent.PromptAsync(session, ShortQuestion);
            (long at, _) = await agent.FindAsync(l => l.LoadStage == (duringWeights ? "preflight" : "weights_mapped"));
            double window = duringWeights ? weightsMs - Ms(promptSent, at) : readyMs - Ms(promptSent, at);
            await Task.Delay(TimeSpan.FromMilliseconds(Math.Max(0, window * 0.8 * _random.NextDouble())));
            long cancelled = await agent.CancelAsync(session);
            (JsonElement response, long answered, List<(long At, AgentLine Line)> after) = await agent.ResponseAsync(id);
            // Counted where the cancel really fell: before the stage that ends the moment arrived.
            string ends = duringWeights ? "weights_mapped" : "warm";
            bool inMoment = !agent.Seen.Any(l => l.Line.LoadStage == ends && l.At < cancelled);
            bool ok = AgentProcess.StopReason(response) == "cancelled" && !after.Any(l => l.Line.IsChunk);
            if (!inMoment)
            {
                continue;
            }

            if (!ok)
            {
                _ = duringWeights ? missedLoading++ : missedContext++;
                continue;
            }

            (duringWeights ? loading : context).Add(Ms(cancelled, answered));
        }

        return
        [
            new Row("cancel while weights load", loading, Missed: missedLoading),
            new Row("cancel while context made / warmed", context, Missed: missedContext),
            new Row("preflight as the agent reports it", preflight, Note: "open → preflight stage, first load"),
            new Row("cold time to first chunk", coldFirst, Note: "session/new sent → first chunk"),
            new Row("cold first chunk / (load + prefill)", ratios, Unit: "x", Note: "goal ≤ 1.10"),
        ];
    }

    /// <summary>Cancels mid-prefill of a long prompt, and mid-decode, on a loaded model.</summary>
    public async Task<Row[]> WarmAsync()
    {
        await using AgentProcess agent = AgentProcess.Start(options.Agent, ModelArguments(256));
        await agent.InitializeAsync();
        double shortFirst = 0, longFirst = 0;
        for (int i = 0; i < 2; i++)
        {
            shortFirst = await FirstChunkAsync(agent, ShortQuestion);
            longFirst = await FirstChunkAsync(agent, s_longQuestion);
        }

        double prefill = longFirst - shortFirst;
        var prefills = new List<double>();
        var decodes = new List<double>();
        int missedPrefill = 0, missedDecode = 0;
        for (int trial = 0; trial < options.Trials; trial++)
        {
            string session = await ReadySessionAsync(agent);
            (int id, long sent) = await agent.PromptAsync(session, s_longQuestion);
            TimeSpan delay = TimeSpan.FromMilliseconds(shortFirst + (prefill * (0.1 + (0.8 * _random.NextDouble())))) - Stopwatch.GetElapsedTime(sent);
            await Task.Delay(delay > TimeSpan.Zero ? delay : TimeSpan.Zero);
            long cancelled = await agent.CancelAsync(session);
            (JsonElement response, long answered, List<(long At, AgentLine Line)> lines) = await agent.ResponseAsync(id);
            if (AgentProcess.StopReason(response) != "cancelled" || lines.Any(l => l.Line.IsChunk))
            {
                missedPrefill++;
            }
            else
            {
                prefills.Add(Ms(cancelled, answered));
            }
        }

        for (int trial = 0; trial < options.Trials; trial++)
        {
            string session = await ReadySessionAsync(agent);
            (int id, _) = await agent.PromptAsync(session, ShortQuestion);
            int chunks = _random.Next(5, 60);
            for (int seen = 0; seen < chunks;)
            {
                (_, AgentLine line) = await agent.NextAsync();
                seen += line.IsChunk ? 1 : 0;
            }

            long cancelled = await agent.CancelAsync(session);
            (JsonElement response, long answered, _) = await agent.ResponseAsync(id);
            if (AgentProcess.StopReason(response) != "cancelled")
            {
                missedDecode++;
            }
            else
            {
                decodes.Add(Ms(cancelled, answered));
            }
        }

        return
        [
            new Row("cancel mid-prefill", prefills, Note: $"{prefill:F0} ms prefill", Missed: missedPrefill),
            new Row("cancel mid-decode", decodes, Missed: missedDecode),
        ];
    }

    /// <summary>Cancels during a tool call (a command running) and during a permission request, with the scripted engine.</summary>
    public async Task<Row[]> ToolsAsync()
    {
        await using AgentProcess agent = AgentProcess.Start(options.Agent, "--script", Path.Combine(scripts, "tool"));
        await agent.InitializeAsync();
        var running = new List<double>();
        var asking = new List<double>();
        int missedRunning = 0, missedAsking = 0;
        for (int trial = 0; trial < options.Trials * 2; trial++)
        {
            bool duringPermission = trial % 2 == 0;
            (string session, _, _) = await agent.NewSessionAsync(_cwd);
            (int id, _) = await agent.PromptAsync(session, "Wait a while.");
            (_, AgentLine request) = await agent.WaitForAsync(l => l.IsPermissionRequest);
            JsonElement requestId = request.Message.GetProperty("id");
            if (!duringPermission)
            {
                await agent.AnswerAsync(requestId, new { outcome = new { outcome = "selected", optionId = "allow_once" } });
                await agent.WaitForAsync(l => l.IsToolCallInProgress);
            }

            await Task.Delay(TimeSpan.FromMilliseconds(20 * _random.NextDouble()));
            long cancelled = await agent.CancelAsync(session);
            (JsonElement response, long answered, _) = await agent.ResponseAsync(id);
            if (duringPermission)
            {
                // As an editor does on a cancel: the question is withdrawn.
                await agent.AnswerAsync(requestId, new { outcome = new { outcome = "cancelled" } });
            }

            bool ok = AgentProcess.StopReason(response) == "cancelled";
            if (!ok)
            {
                _ = duringPermission ? missedAsking++ : missedRunning++;
            }
            else
            {
                (duringPermission ? asking : running).Add(Ms(cancelled, answered));
            }
        }

        return
        [
            new Row("cancel during a tool call", running, Note: "scripted run_command: sleep 30", Missed: missedRunning),
            new Row("cancel during a permission request", asking, Note: "scripted", Missed: missedAsking),
        ];
    }

    /// <summary>Cancels in the scripted engine's per-token delay.</summary>
    public async Task<Row> ScriptedDelayAsync()
    {
        await using AgentProcess agent = AgentProcess.Start(options.Agent, "--script", Path.Combine(scripts, "slow.txt"), "--token-delay-ms", "80");
        await agent.InitializeAsync();
        var times = new List<double>();
        int missed = 0;
        for (int trial = 0; trial < options.Trials; trial++)
        {
            (string session, _, _) = await agent.NewSessionAsync(_cwd);
            (int id, _) = await agent.PromptAsync(session, ShortQuestion);
            await agent.WaitForAsync(l => l.IsChunk);
            await Task.Delay(TimeSpan.FromMilliseconds(80 * _random.NextDouble()));
            long cancelled = await agent.CancelAsync(session);
            (JsonElement response, long answered, _) = await agent.ResponseAsync(id);
            if (AgentProcess.StopReason(response) != "cancelled")
            {
                missed++;
            }
            else
            {
                times.Add(Ms(cancelled, answered));
            }
        }

        return new Row("cancel in the scripted token delay", times, Note: "--token-delay-ms 80", Missed: missed);
    }

    /// <summary>The GGUF preflight in this process: the header read and checked as a load does.</summary>
    public Row Preflight()
    {
        var times = new List<double>();
        for (int i = 0; i < options.Trials; i++)
        {
            long started = Stopwatch.GetTimestamp();
            LlamaModel.Preflight(model, new LlamaModelOptions { RequiredArchitecture = "gpt-oss" });
            times.Add(Stopwatch.GetElapsedTime(started).TotalMilliseconds);
        }

        return new Row("GGUF preflight (this process)", times, Note: $"{new FileInfo(model).Length / 1e6:F0} MB file, page cache warm");
    }

    // A new session whose context is made: prompts to it measure prefill and decode alone.
    private async Task<string> ReadySessionAsync(AgentProcess agent)
    {
        (string session, _, _) = await agent.NewSessionAsync(_cwd);
        await agent.FindAsync(l => l.LoadStage == "context_created" && l.LoadDetail?.Contains(session, StringComparison.Ordinal) == true);
        return session;
    }

    private async Task<double> FirstChunkAsync(AgentProcess agent, string question)
    {
        string session = await ReadySessionAsync(agent);
        (int id, long sent) = await agent.PromptAsync(session, question);
        (long first, _) = await agent.WaitForAsync(l => l.IsChunk);
        await agent.CancelAsync(session);
        await agent.ResponseAsync(id);
        return Ms(sent, first);
    }

    private static double Ms(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
