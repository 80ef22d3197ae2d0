using System.Globalization;
using System.Text.Json;

namespace Inference.Benchmarks;

/// <summary>What the benchmark prints, and the JSON it leaves in artifacts/bench/inference.json.</summary>
internal sealed class Report : IDisposable
{
    // A benchmark's report is its stdout; only the agent's stdout is reserved for ACP.
#pragma warning disable RS0030
    private readonly TextWriter _out = Console.Out;
#pragma warning restore RS0030

    public void Line(string text) => _out.WriteLine(text);

    public void Decode(BenchSettings settings, DecodeResult engine, DecodeResult agent, DecodeResult? node, RawLoopResult raw)
    {
        Line("");
        Line($"{"decode",-34} {"tok/s",8} {"first token/chunk",18} {"managed B/token",16} {"prompt",7}");
        foreach (DecodeResult result in node is null ? [engine, agent] : (DecodeResult[])[engine, agent, node])
        {
            string bytes = result.BytesPerToken is { } b ? F(b, "0.0") : "-";
            Line($"{result.Runner,-34} {F(result.TokensPerSecond, "0.0"),8} {F(result.FirstMs, "0.0") + " ms",18} {bytes,16} {result.Runs[0].PromptTokens,7}");
        }

        Line($"{"raw C loop on LLamaSharp's libllama",-34} {F(raw.TokensPerSecond, "0.0"),8} {F(Stats.Median(raw.Runs.Select(r => r.FirstMs)), "0.0") + " ms",18} {"-",16} {raw.PromptTokens,7}");

        // Each agent turn was followed by a raw loop run: a ratio per pair.
        double[] ratios = [.. agent.Runs.Zip(raw.Runs, (a, r) => r.TotalMs / a.TurnMs!.Value)];
        Line("");
        Line($"whole agent turn {F(agent.TurnMs ?? double.NaN, "0.0")} ms ({Range(agent.Runs.Select(r => r.TurnMs!.Value))}), raw C loop {F(raw.TotalMs, "0.0")} ms "
            + $"({Range(raw.Runs.Select(r => r.TotalMs))}) for {raw.PromptTokens} prompt + {settings.Tokens} generated tokens");
        Line($"raw / agent = {F(Stats.Median(ratios), "0.00")}x median of {ratios.Length} alternated pairs ({Range(ratios, "0.00")}) (goal >= 0.98x); raw C loop: {raw.Library}");
        Line($"first chunk {F(agent.FirstMs, "0.0")} ms ({Range(agent.Runs.Select(r => r.FirstMs))}); raw loop's first token {F(Stats.Median(raw.Runs.Select(r => r.FirstMs)), "0.0")} ms "
            + $"({Range(raw.Runs.Select(r => r.FirstMs))})");
        if (node is not null)
        {
            Line($"whole agent / node-llama-cpp: {F(agent.TokensPerSecond / node.TokensPerSecond, "0.00")}x decode (goal >= 1.3x); "
                + $"engine alone / node-llama-cpp: {F(engine.TokensPerSecond / node.TokensPerSecond, "0.00")}x");
        }

        Line($"managed bytes per token, engine alone: {F(engine.BytesPerToken ?? double.NaN, "0.0")} (goal 0), from the 17th of {settings.Tokens} tokens a run");
        Steps(settings, agent, raw);
    }

    // Where the agent's turn goes against the raw loop's run, step by step, from the agent's telemetry and the loop's own clock.
    private void Steps(BenchSettings settings, DecodeResult agent, RawLoopResult raw)
    {
        var pairs = agent.Runs.Zip(raw.Runs).Where(p => p.First.Steps is not null).ToList();
        if (pairs.Count == 0)
        {
            return;
        }

        (string Step, Func<DecodeRun, double> Agent, Func<RawLoopRun, double> Raw, bool PerToken)[] rows =
        [
            ("outside the generation (request, render, context, response)", a => a.TurnMs!.Value - a.Steps!.GenerationMs, r => r.TotalMs - r.PrefillMs - r.SampleMs - r.DecodeMs, false),
            ("prefill", a => a.Steps!.PrefillMs, r => r.PrefillMs, false),
            ("sampling", a => a.Steps!.SamplingMs, r => r.SampleMs, true),
            ("llama_decode of generated tokens", a => a.Steps!.DecodeMs, r => r.DecodeMs, true),
            ("delivery (parse, updates to stdout)", a => a.Steps!.DeliveryMs, _ => 0, true),
            ("rest of the generation", a => a.Steps!.GenerationMs - a.Steps.PrefillMs - a.Steps.SamplingMs - a.Steps.DecodeMs - a.Steps.DeliveryMs, _ => 0, false),
        ];
        double gap = Stats.Median(pairs.Select(p => p.First.TurnMs!.Value - p.Second.TotalMs));
        Line("");
        Line($"{"where the turn goes (medians over pairs)",-62} {"agent ms",9} {"raw ms",9} {"gap ms",8} {"µs/token",9} {"share",6}");
        foreach ((string step, Func<DecodeRun, double> agentMs, Func<RawLoopRun, double> rawMs, bool perToken) in rows)
        {
            double a = Stats.Median(pairs.Select(p => agentMs(p.First)));
            double r = Stats.Median(pairs.Select(p => rawMs(p.Second)));
            double d = Stats.Median(pairs.Select(p => agentMs(p.First) - rawMs(p.Second)));
            string token = perToken ? F(d * 1000 / settings.Tokens, "0.0") : "";
            Line($"{step,-62} {F(a, "0.0"),9} {F(r, "0.0"),9} {F(d, "0.0"),8} {token,9} {F(d / gap, "P0"),6}");
        }

        Line($"{"whole turn",-62} {F(agent.TurnMs ?? double.NaN, "0.0"),9} {F(raw.TotalMs, "0.0"),9} {F(gap, "0.0"),8}");
    }

    private static string Range(IEnumerable<double> values, string format = "0") =>
        values.Any() ? $"{F(values.Min(), format)}–{F(values.Max(), format)}" : "-";

    public void Cancels(IReadOnlyList<CancelResult> cancels)
    {
        if (cancels.Count == 0)
        {
            return;
        }

        Line("");
        Line($"{"cancel latency",-52} {"p50",9} {"p99",9} {"max",9} {"trials",7} {"of which llama.cpp stopping p50 / p99",38}");
        foreach (CancelResult cancel in cancels)
        {
            string missed = cancel.Missed > 0 ? $" ({cancel.Missed} too late)" : "";
            string native = cancel.NativeStopMs is { Count: > 0 } n ? $"{F(cancel.NativeP50, "0.0")} / {F(cancel.NativeP99, "0.0")} ms ({n.Count})" : "-";
            Line($"{cancel.Kind,-52} {F(cancel.P50, "0.0") + " ms",9} {F(cancel.P99, "0.0") + " ms",9} {F(cancel.Max, "0.0") + " ms",9} {cancel.LatenciesMs.Count,7} {native,38}{missed}");
        }

        Line("goal: p99 <= 10 ms; llama.cpp stopping: from the cancel to llama_decode's return with the KV cache trimmed (mid-decode, a cancel may also land between decodes)");
    }

    /// <summary>Many streams at once: aggregate and per-stream decode, first tokens under load, cancel of one among four.</summary>
    public void Concurrency(BenchSettings settings, ConcurrencyResult result)
    {
        Line("");
        Line($"{"streams at once (" + F(result.Tokens, "0") + " tokens each)",-50} {"streams",7} {"aggregate tok/s",15} {"per stream",10} {"first token median / max",24} {"reused",6} {"load",5}");
        foreach (ConcurrencyRun run in result.Runs)
        {
            string reused = run.ReusedTokens is { } r ? F(r, "0") : "-";
            Line($"{run.Runner,-50} {run.StreamCount,7} {F(run.AggregateTokensPerSecond, "0.0"),15} {F(run.StreamTokensPerSecond, "0.0"),10} "
                + $"{F(run.FirstMsMedian, "0") + " / " + F(run.FirstMsMax, "0") + " ms",24} {reused,6} {F(run.LoadAverage, "0.0"),5}");
            int ended = run.ShortStreams(result.Tokens);
            if (ended > 0)
            {
                Line($"  ({ended} streams ended before {result.Tokens} tokens: their figures count fewer)");
            }
        }

        foreach (ConcurrencyRun run in result.Runs.Where(r => r.Context is { } c && c.Contains("sequences", StringComparison.Ordinal)))
        {
            Line($"  {run.Runner}: {run.Context}");
        }

        if (result.NodeError is { } error)
        {
            Line($"node-llama-cpp: {error}");
        }

        ConcurrencyRun? single = result.Runs.FirstOrDefault(r => r.StreamCount == 1 && r.Runner.Contains("own context", StringComparison.Ordinal));
        ConcurrencyRun? four = result.Runs.FirstOrDefault(r => r.StreamCount == 4 && r.Runner.Contains("batched", StringComparison.Ordinal));
        if (single is not null && four is not null)
        {
            Line($"aggregate decode, 4 batched streams / 1 stream: {F(four.AggregateTokensPerSecond / single.AggregateTokensPerSecond, "0.00")}x (goal >= 2x)");
        }

        foreach (ConcurrencyRun batched in result.Runs.Where(r => r.Runner.StartsWith("engine, batched", StringComparison.Ordinal)))
        {
            ConcurrencyRun? racing = result.Runs.FirstOrDefault(r => r.StreamCount == batched.StreamCount && r.Runner.Contains("racing", StringComparison.Ordinal));
            ConcurrencyRun? node = result.Runs.FirstOrDefault(r => r.StreamCount == batched.StreamCount && r.Runner.StartsWith("node", StringComparison.Ordinal));
            string vsRacing = racing is null ? "" : $"{F(batched.AggregateTokensPerSecond / racing.AggregateTokensPerSecond, "0.00")}x the racing contexts";
            string vsNode = node is null ? "" : $"{F(batched.AggregateTokensPerSecond / node.AggregateTokensPerSecond, "0.00")}x node-llama-cpp";
            Line($"{batched.StreamCount} streams batched: {string.Join(", ", ((string[])[vsRacing, vsNode]).Where(t => t.Length > 0))}");
        }

        if (result.Steps.Count > 0)
        {
            BatchStep one = result.Steps[0];
            Line("batch decoder's step alone, every sequence generating: " + string.Join(", ", result.Steps.Select(s =>
                $"{s.Sequences} in {F(s.StepMs, "0.0")} ms ({F(s.TokensPerSecond, "0")} tok/s, {F(s.StepMs / one.StepMs, "0.00")}x the step of {one.Sequences})")));
            Line("of which the model without its output head (as many prompt tokens of one sequence, no logits): " + string.Join(", ", result.Steps.Select(s =>
                $"{F(s.BodyMs, "0.0")} ms for {s.Sequences}")));
        }

        if (result.Cancel is { } cancel)
        {
            Line("");
            Line($"{"cancel of 1 of " + F(cancel.StreamCount, "0") + " batched streams (" + F(cancel.Tokens, "0") + " tokens)",-40} {"p50",9} {"p99",9} {"max",9} {"trials",7} {"loop's stop p50 / p99",24} {"others whole and exact",23}");
            string missed = cancel.Missed > 0 ? $" ({cancel.Missed} ended without throwing)" : "";
            Line($"{"until its stream throws",-40} {F(cancel.P50, "0.00") + " ms",9} {F(cancel.P99, "0.00") + " ms",9} {F(cancel.Max, "0.00") + " ms",9} {cancel.LatenciesMs.Count,7} "
                + $"{F(cancel.LoopStopP50, "0.0") + " / " + F(cancel.LoopStopP99, "0.0") + " ms (" + F(cancel.LoopStopMs.Count, "0") + ")",24} {F(cancel.OthersExact, "0") + " / " + F(cancel.OthersTotal, "0"),23}{missed}");
            Line($"the others' wait for their next token across the cancel: median {F(Stats.Median(cancel.GapAcrossCancelMs), "0.0")} ms, max "
                + $"{F(cancel.GapAcrossCancelMs.Count > 0 ? cancel.GapAcrossCancelMs.Max() : double.NaN, "0.0")} ms, against {F(cancel.GapUsualMs, "0.0")} ms between tokens usually");
            Line("goal: p99 <= 10 ms (with fewer than 100 trials, p99 is the largest); loop's stop: from the cancel to the decode loop's report of the sequence's end");
        }

        Line(string.Create(CultureInfo.InvariantCulture, $"load average (1 min): {result.LoadAverageBefore:0.00} at the start, {string.Join(", ", result.Runs.Select(r => F(r.LoadAverage, "0.0")))} after each row"));
    }

    /// <summary>A run of the concurrency measurement alone: artifacts/bench/concurrency.json.</summary>
    public void SaveConcurrency(BenchSettings settings, BenchModel model, ConcurrencyResult concurrency)
    {
        string path = Path.Combine(BenchSettings.OutputDirectory, "concurrency.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { settings, model, concurrency = Summary(concurrency) }, s_json));
        Line($"saved {path}");
    }

    // The figures as printed, beside every round's streams.
    private static object Summary(ConcurrencyResult c) => new
    {
        c.Tokens,
        c.LoadAverageBefore,
        c.NodeError,
        c.Steps,
        runs = c.Runs.Select(r => new
        {
            r.Runner, r.StreamCount, r.AggregateTokensPerSecond, r.StreamTokensPerSecond, r.FirstMsMedian, r.FirstMsMax, r.ReusedTokens, r.Context, r.LoadAverage,
            rounds = r.Rounds.Select(round => new { round.AggregateTokensPerSecond, round.Streams }),
        }),
        cancel = c.Cancel is not { } x ? null : new
        {
            x.StreamCount, x.Tokens, x.P50, x.P99, x.Max, x.Missed, x.LoopStopP50, x.LoopStopP99, x.OthersExact, x.OthersTotal, x.GapUsualMs, x.LatenciesMs, x.LoopStopMs, x.GapAcrossCancelMs,
        },
    };

    public void Save(
        BenchSettings settings, BenchModel model, IReadOnlyList<DecodeResult> decodes, RawLoopResult raw, IReadOnlyList<CancelResult> cancels,
        ResumeResult? resume = null, AgentResumeResult? agentResume = null, ConcurrencyResult? concurrency = null)
    {
        string path = Path.Combine(BenchSettings.OutputDirectory, "inference.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            settings,
            model,
            decode = decodes.Select(d => new { d.Runner, d.TokensPerSecond, d.FirstLabel, d.FirstMs, d.BytesPerToken, d.TurnMs, d.Runs }),
            rawLoop = new { raw.Library, raw.PromptTokens, raw.TotalMs, raw.TokensPerSecond, raw.Runs },
            cancel = cancels.Select(c => new { c.Kind, c.P50, c.P99, c.Max, c.Missed, c.LatenciesMs, c.NativeStopMs }),
            resume,
            agentResume,
            concurrency = concurrency is null ? null : Summary(concurrency),
        }, s_json));
        Line($"saved {path}");
    }

    /// <summary>A run of the resume measurements alone: artifacts/bench/resume.json.</summary>
    public void SaveResume(BenchSettings settings, BenchModel model, ResumeResult? resume, AgentResumeResult? agentResume)
    {
        string path = Path.Combine(BenchSettings.OutputDirectory, "resume.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { settings, model, resume, agentResume }, s_json));
        Line($"saved {path}");
    }

    /// <summary>The remote engine's overhead, printed and saved to artifacts/bench/remote.json.</summary>
    public void Remote(BenchSettings settings, BenchModel model, RemoteResult result)
    {
        Line("");
        Line($"{"llama-server, " + settings.Tokens.ToString(CultureInfo.InvariantCulture) + " tokens",-34} {"first text",12} {"decode tok/s",14}");
        Line($"{"through the agent (stdio, ACP)",-34} {F(result.AgentFirstMs, "0.0") + " ms",12} {F(result.AgentRate, "0.0"),14}   ({Range(result.Agent.Select(r => r.FirstTextMs))} ms; {Range(result.Agent.Select(r => r.TokensPerSecond))} tok/s)");
        Line($"{"plain client of /completion",-34} {F(result.DirectFirstMs, "0.0") + " ms",12} {F(result.DirectRate, "0.0"),14}   ({Range(result.Direct.Select(r => r.FirstTextMs))} ms; {Range(result.Direct.Select(r => r.TokensPerSecond))} tok/s)");
        Line($"agent / direct: decode {F(result.AgentRate / result.DirectRate, "0.000")}x (goal >= 0.95x), first text +{F(result.AgentFirstMs - result.DirectFirstMs, "0.0")} ms "
            + $"({F(result.AgentFirstMs / result.DirectFirstMs, "0.00")}x); {result.Agent.Count} alternated pairs");
        string path = Path.Combine(BenchSettings.OutputDirectory, "remote.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new { settings = settings.ToString(), model = model.Description, result }, s_json));
        Line($"saved {path}");
    }

    public void Dispose() => _out.Flush();

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
