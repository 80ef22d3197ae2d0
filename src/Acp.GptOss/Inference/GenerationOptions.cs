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

    /// <summary>
    /// What the prompt was rendered from, for engines that take messages rather than tokens (a remote server that
    /// speaks only OpenAI's chat API); null when the caller rendered the prompt from raw text.
    /// </summary>
    public Harmony.Conversations.HarmonyConversation? Conversation { get; init; }
}
