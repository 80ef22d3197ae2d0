using Acp.GptOss.Completions;

namespace Acp.GptOss.Api;

/// <summary>How the OpenAI-compatible API answers: its defaults and what it may list.</summary>
internal sealed record ApiOptions
{
    /// <summary>The completion budget when a request gives none (the agent's <c>--max-tokens</c>).</summary>
    public int DefaultMaxTokens { get; init; } = 4096;

    /// <summary>The largest request body; a larger one gets 413 (the relay's <c>--max-message-bytes</c>).</summary>
    public int MaxRequestBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>
    /// Generations that run at once; the rest wait their turn. Each holds a session of the engine: with
    /// <c>--parallel</c> (the relay passes it here) they are decoded together in one shared context.
    /// </summary>
    public int MaxConcurrentGenerations { get; init; } = 1;

    /// <summary>Requests that may wait for a generation; one more is refused with 429 and <c>Retry-After</c>.</summary>
    public int MaxQueuedRequests { get; init; } = 32;

    /// <summary>GPT-OSS models on this machine that this process does not serve, listed by <c>/v1/models</c>; none when null.</summary>
    public Func<IReadOnlyList<string>>? DiscoverModels { get; init; }

    /// <summary>Called as each generation ends, with its finish reason (null when the engine failed), after its metrics are counted.</summary>
    public Action<CompletionFinishReason?>? GenerationEnded { get; init; }

    /// <summary>Today's date, for the system message.</summary>
    public Func<DateOnly> Today { get; init; } = () => DateOnly.FromDateTime(DateTime.Now);
}
