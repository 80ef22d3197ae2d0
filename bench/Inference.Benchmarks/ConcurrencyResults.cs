namespace Inference.Benchmarks;

/// <summary>One stream of a round of concurrent streams, its times counted from the round's start (all prompts sent).</summary>
/// <param name="PromptTokens">The prompt's length.</param>
/// <param name="Generated">Tokens generated.</param>
/// <param name="FirstMs">From the round's start to this stream's first token.</param>
/// <param name="LastMs">From the round's start to this stream's last token.</param>
internal sealed record StreamRun(int PromptTokens, int Generated, double FirstMs, double LastMs)
{
    /// <summary>This stream's tokens after its first, over the time since its first.</summary>
    public double TokensPerSecond => Generated > 1 && LastMs > FirstMs ? (Generated - 1) / ((LastMs - FirstMs) / 1000) : double.NaN;
}

/// <summary>One round: every stream started at once.</summary>
internal sealed record ConcurrencyRound(IReadOnlyList<StreamRun> Streams)
{
    /// <summary>All streams' tokens after their first, over the time from the first first token to the last last token.</summary>
    public double AggregateTokensPerSecond
    {
        get
        {
            double span = Streams.Max(s => s.LastMs) - Streams.Min(s => s.FirstMs);
            return span > 0 ? Streams.Sum(s => s.Generated - 1) / (span / 1000) : double.NaN;
        }
    }
}

/// <summary>The measured rounds of one runner at one number of streams.</summary>
/// <param name="Runner">What decoded, and how.</param>
/// <param name="StreamCount">Streams at once.</param>
/// <param name="Rounds">The measured rounds (the warm-up left out).</param>
/// <param name="LoadAverage">The machine's one-minute load average when the rounds ended.</param>
/// <param name="ReusedTokens">Prompt tokens found in the cache, median per generation (our engine's telemetry); null where unknown.</param>
/// <param name="Context">How the context was made, from the engine's telemetry (sequences, tokens each).</param>
internal sealed record ConcurrencyRun(string Runner, int StreamCount, IReadOnlyList<ConcurrencyRound> Rounds, double LoadAverage, double? ReusedTokens = null, string? Context = null)
{
    public double AggregateTokensPerSecond => Stats.Median(Rounds.Select(r => r.AggregateTokensPerSecond));

    public double StreamTokensPerSecond => Stats.Median(Rounds.SelectMany(r => r.Streams).Select(s => s.TokensPerSecond));

    public double FirstMsMedian => Stats.Median(Rounds.SelectMany(r => r.Streams).Select(s => s.FirstMs));

    public double FirstMsMax => Rounds.SelectMany(r => r.Streams).Max(s => s.FirstMs);

    /// <summary>Streams that ended before their token budget (a stop token): each should generate it all.</summary>
    public int ShortStreams(int tokens) => Rounds.SelectMany(r => r.Streams).Count(s => s.Generated != tokens);
}

/// <summary>Cancels of one stream while the others decode with it in one batch.</summary>
/// <param name="StreamCount">Streams decoding together.</param>
/// <param name="Tokens">Tokens each stream asks for.</param>
/// <param name="LatenciesMs">From the cancel to the cancelled stream's <c>GenerateAsync</c> throwing.</param>
/// <param name="LoopStopMs">From the cancel to the decode loop's report that the sequence ended (its step aborted or skipped).</param>
/// <param name="Missed">Cancelled streams that ended without throwing.</param>
/// <param name="OthersExact">The other streams' answers that were whole and the same as without a cancel.</param>
/// <param name="OthersTotal">The other streams' answers.</param>
/// <param name="GapAcrossCancelMs">Per trial, the other streams' longest wait for a token across the cancel.</param>
/// <param name="GapUsualMs">The other streams' median wait between tokens.</param>
internal sealed record ConcurrentCancelResult(
    int StreamCount, int Tokens, IReadOnlyList<double> LatenciesMs, IReadOnlyList<double> LoopStopMs, int Missed, int OthersExact, int OthersTotal,
    IReadOnlyList<double> GapAcrossCancelMs, double GapUsualMs)
{
    public double P50 => Stats.Percentile(LatenciesMs, 0.50);

    public double P99 => Stats.Percentile(LatenciesMs, 0.99);

    public double Max => LatenciesMs.Count == 0 ? double.NaN : LatenciesMs.Max();

    public double LoopStopP50 => Stats.Percentile(LoopStopMs, 0.50);

    public double LoopStopP99 => Stats.Percentile(LoopStopMs, 0.99);
}

/// <summary>One <c>llama_decode</c> step of the batch decoder alone, every sequence in it generating.</summary>
/// <param name="Sequences">Sequences generating, one token each per step.</param>
/// <param name="StepMs">The median step.</param>
/// <param name="TokensPerSecond">Their tokens per second together at that step time.</param>
/// <param name="Steps">Steps timed.</param>
/// <param name="BodyMs">A step of one sequence reading as many prompt tokens, no logits asked: the model without its output head.</param>
internal sealed record BatchStep(int Sequences, double StepMs, double TokensPerSecond, int Steps, double BodyMs);

/// <summary>The whole concurrency measurement.</summary>
/// <param name="Tokens">Tokens each stream generates.</param>
/// <param name="Runs">Every runner at every number of streams.</param>
/// <param name="Steps">The batch decoder's step alone, by sequences generating.</param>
/// <param name="Cancel">Cancel under load; null when cancels were skipped.</param>
/// <param name="NodeError">Why node-llama-cpp has no rows, when it has none.</param>
/// <param name="LoadAverageBefore">The one-minute load average when the measurement began.</param>
internal sealed record ConcurrencyResult(
    int Tokens, IReadOnlyList<ConcurrencyRun> Runs, IReadOnlyList<BatchStep> Steps, ConcurrentCancelResult? Cancel, string? NodeError, double LoadAverageBefore);
