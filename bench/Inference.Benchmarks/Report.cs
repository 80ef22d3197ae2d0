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

    public void Decode(BenchSettings settings, DecodeResult engine, DecodeResult agent, DecodeResult node, RawLoopResult raw)
    {
        Line("");
        Line($"{"decode",-34} {"tok/s",8} {"first token/chunk",18} {"managed B/token",16} {"prompt",7}");
        foreach (DecodeResult result in (DecodeResult[])[engine, agent, node])
        {
            string bytes = result.BytesPerToken is { } b ? F(b, "0.0") : "-";
            Line($"{result.Runner,-34} {F(result.TokensPerSecond, "0.0"),8} {F(result.FirstMs, "0.0") + " ms",18} {bytes,16} {result.Runs[0].PromptTokens,7}");
        }

        Line($"{"raw C loop on LLamaSharp's libllama",-34} {F(raw.TokensPerSecond, "0.0"),8} {F(Stats.Median(raw.Runs.Select(r => r.FirstMs)), "0.0") + " ms",18} {"-",16} {raw.PromptTokens,7}");

        Line("");
        Line($"whole agent turn {F(agent.TurnMs ?? double.NaN, "0.0")} ms, raw C loop {F(raw.TotalMs, "0.0")} ms for {raw.PromptTokens} prompt + {settings.Tokens} generated tokens: "
            + $"raw / agent = {F(raw.TotalMs / (agent.TurnMs ?? double.NaN), "0.00")}x (goal >= 0.98x); raw C loop: {raw.Library}");
        Line($"whole agent / node-llama-cpp: {F(agent.TokensPerSecond / node.TokensPerSecond, "0.00")}x decode (goal >= 1.3x); "
            + $"engine alone / node-llama-cpp: {F(engine.TokensPerSecond / node.TokensPerSecond, "0.00")}x");
        Line($"managed bytes per token, engine alone: {F(engine.BytesPerToken ?? double.NaN, "0.0")} (goal 0), from the 17th of {settings.Tokens} tokens a run");
    }

    public void Cancels(IReadOnlyList<CancelResult> cancels)
    {
        Line("");
        Line($"{"cancel latency",-52} {"p50",9} {"p99",9} {"max",9} {"trials",7}");
        foreach (CancelResult cancel in cancels)
        {
            string missed = cancel.Missed > 0 ? $" ({cancel.Missed} too late)" : "";
            Line($"{cancel.Kind,-52} {F(cancel.P50, "0.0") + " ms",9} {F(cancel.P99, "0.0") + " ms",9} {F(cancel.Max, "0.0") + " ms",9} {cancel.LatenciesMs.Count,7}{missed}");
        }

        Line("goal: p99 <= 10 ms");
    }

    public void Save(BenchSettings settings, BenchModel model, IReadOnlyList<DecodeResult> decodes, RawLoopResult raw, IReadOnlyList<CancelResult> cancels)
    {
        string path = Path.Combine(BenchSettings.OutputDirectory, "inference.json");
        File.WriteAllText(path, JsonSerializer.Serialize(new
        {
            settings,
            model,
            decode = decodes.Select(d => new { d.Runner, d.TokensPerSecond, d.FirstLabel, d.FirstMs, d.BytesPerToken, d.TurnMs, d.Runs }),
            rawLoop = new { raw.Library, raw.PromptTokens, raw.TotalMs, raw.TokensPerSecond, raw.Runs },
            cancel = cancels.Select(c => new { c.Kind, c.P50, c.P99, c.Max, c.Missed, c.LatenciesMs }),
        }, s_json));
        Line($"saved {path}");
    }

    public void Dispose() => _out.Flush();

    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    private static string F(double value, string format) => value.ToString(format, CultureInfo.InvariantCulture);
}
