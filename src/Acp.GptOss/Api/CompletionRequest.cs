using Acp.GptOss.Completions;
using Harmony.Conversations;

namespace Acp.GptOss.Api;

/// <summary>A request read from <c>/v1/chat/completions</c> or <c>/v1/completions</c>, checked field by field.</summary>
/// <param name="Model">The model it names.</param>
/// <param name="Conversation">The chat, rendered by our renderer; null for a raw prompt.</param>
/// <param name="RawPrompt">The prompt of <c>/v1/completions</c>, with literal special spellings; null for a chat.</param>
/// <param name="Options">Budget, stops and sampling.</param>
/// <param name="Stream">Server-sent events rather than one JSON answer.</param>
/// <param name="IncludeUsage">Streamed: a last chunk with the usage (<c>stream_options.include_usage</c>).</param>
internal sealed record CompletionRequest(
    string Model, HarmonyConversation? Conversation, string? RawPrompt, CompletionOptions Options, bool Stream, bool IncludeUsage);
