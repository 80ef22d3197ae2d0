namespace Inference.Benchmarks;

/// <summary>One decode run: how fast tokens came after the first, and how long the first took.</summary>
/// <param name="PromptTokens">The prompt's length.</param>
/// <param name="Generated">Tokens (or, over stdio, chunks) counted.</param>
/// <param name="FirstMs">From the request to the first token or chunk.</param>
/// <param name="TokensPerSecond">Tokens after the first, over the time since the first.</param>
/// <param name="BytesPerToken">Managed bytes allocated per token after the first, where measured.</param>
/// <param name="TurnMs">Over stdio: from sending session/prompt to reading its response.</param>
/// <param name="Steps">Over stdio: where the generation's time went, from the agent's telemetry.</param>
internal sealed record DecodeRun(int PromptTokens, int Generated, double FirstMs, double TokensPerSecond, double? BytesPerToken, double? TurnMs = null, GenerationSteps? Steps = null);

/// <summary>Where one generation's time went, as the agent's inference telemetry reports it.</summary>
/// <param name="PrefillMs">Decoding the prompt.</param>
/// <param name="SamplingMs">Choosing the generated tokens.</param>
/// <param name="DecodeMs">llama_decode of the generated tokens.</param>
/// <param name="DeliveryMs">The decode thread's time handing tokens on (parse, updates written), between decodes.</param>
/// <param name="GenerationMs">The whole generation on its thread.</param>
internal sealed record GenerationSteps(double PrefillMs, double SamplingMs, double DecodeMs, double DeliveryMs, double GenerationMs);

/// <summary>The runs of one runner, summarised by medians.</summary>
internal sealed record DecodeResult(string Runner, string FirstLabel, IReadOnlyList<DecodeRun> Runs)
{
    public double TokensPerSecond => Stats.Median(Runs.Select(r => r.TokensPerSecond));

    public double FirstMs => Stats.Median(Runs.Select(r => r.FirstMs));

    public double? BytesPerToken => Runs.All(r => r.BytesPerToken is not null) ? Stats.Median(Runs.Select(r => r.BytesPerToken!.Value)) : null;

    public double? TurnMs => Runs.All(r => r.TurnMs is not null) ? Stats.Median(Runs.Select(r => r.TurnMs!.Value)) : null;
}

/// <summary>Cancel latencies of one kind: from the cancel to the moment decoding is known to have stopped.</summary>
/// <param name="Kind">What was cancelled, and where it was measured.</param>
/// <param name="LatenciesMs">One per trial that met what it meant to cancel.</param>
/// <param name="Missed">Trials whose cancel came too late to meet it (the prefill had ended, say).</param>
/// <param name="NativeStopMs">Of those trials, from the cancel to llama_decode's return (the KV cache trimmed), as the telemetry reports it.</param>
internal sealed record CancelResult(string Kind, IReadOnlyList<double> LatenciesMs, int Missed, IReadOnlyList<double>? NativeStopMs = null)
{
    public double NativeP50 => NativeStopMs is { Count: > 0 } n ? Stats.Percentile(n, 0.50) : double.NaN;

    public double NativeP99 => NativeStopMs is { Count: > 0 } n ? Stats.Percentile(n, 0.99) : double.NaN;

    public double P50 => Stats.Percentile(LatenciesMs, 0.50);

    public double P99 => Stats.Percentile(LatenciesMs, 0.99);

    public double Max => LatenciesMs.Count == 0 ? double.NaN : LatenciesMs.Max();
}

internal static class Stats
{
    public static double Median(IEnumerable<double> values) => Percentile([.. values], 0.5);

    /// <summary>The nearest-rank percentile; with fewer than 100 samples, p99 is the largest.</summary>
    public static double Percentile(IReadOnlyList<double> values, double fraction)
    {
        if (values.Count == 0)
        {
            return double.NaN;
        }

        double[] sorted = [.. values.Order()];
        int rank = (int)Math.Ceiling(fraction * sorted.Length);
        return sorted[Math.Clamp(rank - 1, 0, sorted.Length - 1)];
    }
}
