namespace Acp.GptOss.Inference;

/// <summary>How to generate.</summary>
/// <param name="MaxTokens">The most tokens one completion may have.</param>
/// <param name="StopTokens">The ids that end sampling, included in the stream.</param>
internal sealed record GenerationOptions(int MaxTokens, ReadOnlyMemory<int> StopTokens)
{
    /// <summary>Sampling temperature for this generation (an API request's), or null for the engine's own setting.</summary>
    public float? Temperature { get; init; }

    /// <summary>Nucleus sampling for this generation, or null for the engine's own setting.</summary>
    public float? TopP { get; init; }

    /// <summary>The sampling seed for this generation, or null for the engine's own setting.</summary>
    public uint? Seed { get; init; }
}
