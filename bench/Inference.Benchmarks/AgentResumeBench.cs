using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Bench.Shared;

namespace Inference.Benchmarks;

/// <summary>
/// Warm resume as a user meets it, through the built agent over stdio: one agent process answers a conversation of
/// about 4,000 tokens and exits, leaving the session's journal and saved state (<c>&lt;id&gt;.jsonl</c>,
/// <c>&lt;id&gt;.kv</c>) in its state folder. Then, alternating, a fresh agent process on a fresh copy of that folder
/// resumes the session with the state (warm) or without it (cold), waits until the session is ready, and sends the
/// next prompt: each trial is timed from that prompt to its first chunk, and the agent's telemetry says how long the
/// restore took and how many tokens the generation reused and prefilled.
/// </summary>
internal static class AgentResumeBench
{
    private const int AnswerTokens = 32;

    private const string NextRequest = "Go on.";

    private const string Cwd = "/tmp";

    public static async Task<AgentResumeResult> RunAsync(BenchModel model, BenchSettings settings, Report report)
    {
        string root = Path.Combine(BenchSettings.OutputDirectory, "agent-resume");
        if (Directory.Exists(root))
        {
            Directory.Delete(root, recursive: true);
        }

        // The first turn: the long question answered; the agent writes the session's state as it exits.
        string firstState = Path.Combine(root, "first");
        string session;
        int firstTokens;
        await using (AgentProcess agent = Start(model, settings, firstState))
        {
            await agent.InitializeAsync();
            session = (await agent.NewSessionAsync(Cwd)).Session;
            await agent.ContextReadyAsync(session);
            (int id, _) = await agent.PromptAsync(session, BenchModel.LongQuestion(settings.ResumeWords));
            (JsonElement response, _, List<(long At, AgentLine Line)> updates) = await agent.ResponseAsync(id);
            if (AgentProcess.StopReason(response) != "max_tokens")
            {
                throw new InvalidOperationException($"The first turn ended with {AgentProcess.StopReason(response)}; the benchmark model answers until the budget.");
            }

            firstTokens = updates.Select(u => u.Line).Where(l => l.UpdateKind == "usage_update")
                .Select(l => l.Message.GetProperty("params").GetProperty("update").GetProperty("used").GetInt32()).Last();
        }

        // What every trial starts from: the session's files as the first agent left them.
        string template = Path.Combine(root, "template");
        Directory.CreateDirectory(template);
        string sessions = SessionsFolder(firstState);
        foreach (string extension in (string[])[".jsonl", ".kv"])
        {
            string file = Path.Combine(sessions, session + extension);
            if (!File.Exists(file))
            {
                throw new InvalidOperationException($"The first agent left no {file}.");
            }

            File.Copy(file, Path.Combine(template, session + extension));
        }

        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"agent resume: first turn {firstTokens} tokens ({settings.ResumeWords}-word question + {AnswerTokens} generated); "
            + $"state file {new FileInfo(Path.Combine(template, session + ".kv")).Length / 1024.0 / 1024.0:F1} MiB"));

        var warm = new List<AgentResumeTrial>();
        var cold = new List<AgentResumeTrial>();
        for (int pair = 0; pair < settings.AgentResumeTrials; pair++)
        {
            foreach (bool restore in pair % 2 == 0 ? new[] { true, false } : [false, true])
            {
                string folder = Path.Combine(root, $"{(restore ? "warm" : "cold")}-{pair}");
                AgentResumeTrial trial = await TrialAsync(model, settings, template, session, folder, restore);
                report.Line(string.Create(CultureInfo.InvariantCulture,
                    $"  pair {pair} {(restore ? "warm" : "cold")}: first chunk {trial.FirstChunkMs:F1} ms after the prompt; session/resume to ready {trial.ReadyMs:F1} ms"
                    + $"{(restore ? $" (restore {trial.RestoreMs:F1} ms, {trial.Restored} tokens)" : "")}; reused {trial.Reused}, prefilled {trial.Prefilled} of {trial.PromptTokens} in {trial.PrefillMs:F1} ms"));
                (restore ? warm : cold).Add(trial);
                Directory.Delete(folder, recursive: true);
            }
        }

        Directory.Delete(root, recursive: true);
        var outcome = new AgentResumeResult(firstTokens, warm, cold);
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"agent resume: first chunk of the next prompt after session/resume in a fresh agent, median of {warm.Count} pairs: "
            + $"warm (state restored) {outcome.WarmMedian:F1} ms ({warm.Min(t => t.FirstChunkMs):F1}–{warm.Max(t => t.FirstChunkMs):F1}), "
            + $"cold (prefilled whole) {outcome.ColdMedian:F1} ms ({cold.Min(t => t.FirstChunkMs):F1}–{cold.Max(t => t.FirstChunkMs):F1}); "
            + $"warm ÷ cold {outcome.Ratio:P1} (per pair {outcome.PairRatios.Min():P1}–{outcome.PairRatios.Max():P1}); goal ≤ 20 %"));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"agent resume: warm restore + first chunk {outcome.WarmWithRestoreMedian:F1} ms against cold first chunk {outcome.ColdMedian:F1} ms: {outcome.WithRestoreRatio:P1}"));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"agent resume: from session/resume to ready (model load, context, warm-up, and the restore when warm) warm {Median(warm, t => t.ReadyMs):F1} ms, "
            + $"cold {Median(cold, t => t.ReadyMs):F1} ms; to the first chunk warm {Median(warm, t => t.ResumeToChunkMs):F1} ms, cold {Median(cold, t => t.ResumeToChunkMs):F1} ms"));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"agent resume: first chunk less the prefill (rendering, the first tokens, a fresh process's first turn) warm {Median(warm, t => t.FirstChunkMs - t.PrefillMs):F1} ms, "
            + $"cold {Median(cold, t => t.FirstChunkMs - t.PrefillMs):F1} ms"));
        return outcome;
    }

    // A fresh agent on a fresh state folder holding the session's journal, and its state when warm.
    private static async Task<AgentResumeTrial> TrialAsync(BenchModel model, BenchSettings settings, string template, string session, string folder, bool restore)
    {
        string sessions = SessionsFolder(folder);
        Directory.CreateDirectory(sessions);
        File.Copy(Path.Combine(template, session + ".jsonl"), Path.Combine(sessions, session + ".jsonl"));
        if (restore)
        {
            File.Copy(Path.Combine(template, session + ".kv"), Path.Combine(sessions, session + ".kv"));
        }

        await using AgentProcess agent = Start(model, settings, folder);
        await agent.InitializeAsync();
        (int resumeId, long resumeSent) = await agent.SendAsync("session/resume", new { sessionId = session, cwd = Cwd, mcpServers = Array.Empty<object>() });
        (JsonElement resumed, _, _) = await agent.ResponseAsync(resumeId);
        if (!resumed.TryGetProperty("result", out _))
        {
            throw new InvalidOperationException($"session/resume failed: {resumed}");
        }

        // Ready: warm once the state is in the context (after the context is made and warmed up), cold once the
        // context is made and warmed up: neither prompt waits for setup.
        await agent.FindAsync(l => l.LoadStage == "context_created" && l.Text.Contains(session, StringComparison.Ordinal));
        (long readyAt, AgentLine ready) = await agent.FindAsync(l => l.LoadStage == "warm");
        double restoreMs = 0;
        int restored = 0;
        if (restore)
        {
            try
            {
                (readyAt, ready) = await agent.FindAsync(l => l.LoadStage == "state_restored" && l.Text.Contains(session, StringComparison.Ordinal));
            }
            catch (TimeoutException e)
            {
                throw new InvalidOperationException("The resumed agent restored no state (the file was refused: see the agent's log).", e);
            }

            JsonElement stage = ready.Message.GetProperty("params");
            restoreMs = stage.GetProperty("elapsedMs").GetDouble();
            restored = int.Parse(ready.LoadDetail!.Split(' ')[0], CultureInfo.InvariantCulture);
        }

        (int promptId, long sent) = await agent.PromptAsync(session, NextRequest);
        (_, _, List<(long At, AgentLine Line)> updates) = await agent.ResponseAsync(promptId);
        long firstChunk = updates.FirstOrDefault(u => u.Line.IsChunk).At;
        if (firstChunk == 0)
        {
            throw new InvalidOperationException("The resumed session's turn wrote no chunk.");
        }

        // Reported as the generation ends: maybe after the turn's response.
        (_, AgentLine inference) = await agent.FindAsync(l => l.TelemetryKind == "inference" && l.Text.Contains(session, StringComparison.Ordinal));
        JsonElement generation = inference.Message.GetProperty("params");
        return new AgentResumeTrial(
            Stopwatch.GetElapsedTime(sent, firstChunk).TotalMilliseconds, Stopwatch.GetElapsedTime(resumeSent, readyAt).TotalMilliseconds, restoreMs, restored,
            generation.GetProperty("reusedTokens").GetInt32(), generation.GetProperty("prefilledTokens").GetInt32(), generation.GetProperty("promptTokens").GetInt32(),
            generation.GetProperty("prefillMs").GetDouble(), Stopwatch.GetElapsedTime(resumeSent, firstChunk).TotalMilliseconds);
    }

    private static double Median(IEnumerable<AgentResumeTrial> trials, Func<AgentResumeTrial, double> value) => Stats.Median(trials.Select(value));

    private static string SessionsFolder(string stateHome) => Path.Combine(stateHome, "acp-gptoss", "sessions");

    private static AgentProcess Start(BenchModel model, BenchSettings settings, string stateHome) =>
        AgentProcess.Start(
            BenchSettings.Agent,
            new Dictionary<string, string> { ["XDG_STATE_HOME"] = stateHome },
            "--model", model.Path, "--temperature", "0",
            "--threads", settings.Threads.ToString(CultureInfo.InvariantCulture),
            "--max-tokens", AnswerTokens.ToString(CultureInfo.InvariantCulture),
            "--ctx-size", settings.ContextSize.ToString(CultureInfo.InvariantCulture));
}

/// <summary>One resume through the agent.</summary>
/// <param name="FirstChunkMs">From the next prompt written to its first agent_message_chunk read.</param>
/// <param name="ReadyMs">From session/resume written to the session's readiness (see <see cref="AgentResumeBench"/>).</param>
/// <param name="RestoreMs">The restore's own time, as the agent's state_restored telemetry reports it; 0 when cold.</param>
/// <param name="Restored">The tokens the restore put in the context; 0 when cold.</param>
/// <param name="Reused">The next prompt's tokens the generation found in the context.</param>
/// <param name="Prefilled">The next prompt's tokens the generation decoded.</param>
/// <param name="PromptTokens">The next prompt's length.</param>
/// <param name="PrefillMs">Decoding what was prefilled, as the agent's inference telemetry reports it.</param>
/// <param name="ResumeToChunkMs">From session/resume written to the next prompt's first chunk read: the whole wait of a
/// user who prompts as soon as the session is ready.</param>
internal sealed record AgentResumeTrial(
    double FirstChunkMs, double ReadyMs, double RestoreMs, int Restored, int Reused, int Prefilled, int PromptTokens, double PrefillMs, double ResumeToChunkMs);

/// <summary>Warm and cold resumes through the agent, in pairs.</summary>
internal sealed record AgentResumeResult(int FirstTurnTokens, IReadOnlyList<AgentResumeTrial> Warm, IReadOnlyList<AgentResumeTrial> Cold)
{
    public double WarmMedian => Stats.Median(Warm.Select(t => t.FirstChunkMs));

    public double ColdMedian => Stats.Median(Cold.Select(t => t.FirstChunkMs));

    /// <summary>The goal: warm ÷ cold time to first chunk.</summary>
    public double Ratio => WarmMedian / ColdMedian;

    public IReadOnlyList<double> PairRatios => [.. Warm.Zip(Cold, (w, c) => w.FirstChunkMs / c.FirstChunkMs)];

    /// <summary>Warm with the restore counted in, which a prompt sent right after session/resume would wait for.</summary>
    public double WarmWithRestoreMedian => Stats.Median(Warm.Select(t => t.RestoreMs + t.FirstChunkMs));

    public double WithRestoreRatio => WarmWithRestoreMedian / ColdMedian;
}
