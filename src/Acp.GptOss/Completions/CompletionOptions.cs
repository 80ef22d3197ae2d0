namespace Acp.GptOss.Completions;

/// <summary>How one completion runs: its budget, where it stops, and how it samples where the engine allows.</summary>
internal sealed record CompletionOptions
{
    /// <summary>The most tokens the completion may have; the context's room left caps it too.</summary>
    public required int MaxTokens { get; init; }

    /// <summary>Texts that end the answer where they first appear, themselves left out (OpenAI's <c>stop</c>).</summary>
    public IReadOnlyList<string> StopSequences { get; init; } = [];

    /// <summary>Token ids that end the completion besides Harmony's own sampling stops; left out of the output.</summary>
    public IReadOnlyList<int> StopTokens { get; init; } = [];

    /// <summary>Sampling temperature for this completion, or null for the engine's.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling for this completion, or null for the engine's.</summary>
    public float? TopP { get; init; }

    /// <summary>The sampling seed for this completion, or null for the engine's.</summary>
    public uint? Seed { get; init; }
}
