using Harmony;
using Harmony.Conversations;

namespace Acp.GptOss.Inference.Remote;

/// <summary>One completion to ask a server for.</summary>
/// <param name="Prompt">The rendered prompt's token ids.</param>
/// <param name="Conversation">What the prompt was rendered from, for servers that take only messages; null when the caller rendered the prompt itself.</param>
/// <param name="MaxTokens">The most tokens to generate.</param>
/// <param name="StopTokens">The ids that end the completion.</param>
/// <param name="Temperature">The sampling temperature.</param>
/// <param name="TopP">Nucleus sampling.</param>
/// <param name="Seed">The sampling seed, or null for the server's choice.</param>
/// <param name="Tokenizer">The vocabulary: to turn text back into ids where a server gives text.</param>
internal sealed record RemoteRequest(
    ReadOnlyMemory<int> Prompt, HarmonyConversation? Conversation, int MaxTokens, ReadOnlyMemory<int> StopTokens, float Temperature, float TopP,
    uint? Seed, IHarmonyTokenizer Tokenizer)
{
    /// <summary>What the server said of the prompt, filled in by the dialect as the answer comes, for telemetry.</summary>
    public RemoteUsage Usage { get; } = new();
}

/// <summary>What a server reported of one completion, where it says.</summary>
internal sealed class RemoteUsage
{
    /// <summary>Prompt tokens the server found in its cache.</summary>
    public int? CachedTokens { get; set; }

    /// <summary>The milliseconds the server spent on the prompt.</summary>
    public double? PromptMs { get; set; }

    /// <summary>Why the server stopped: its own word (<c>eos</c>, <c>limit</c>, <c>stop</c>, <c>length</c>).</summary>
    public string? StopReason { get; set; }
}
