namespace Acp.GptOss.Agent.Commands;

/// <summary>
/// The prompt response's <c>_meta.gptoss.usage</c>: the tokens of the turn's model calls, summed (each tool round reads
/// the conversation again), and the context after the last one (schemas/gptoss-extensions.schema.json).
/// </summary>
/// <param name="PromptTokens">Prompt tokens, summed over the turn's model calls.</param>
/// <param name="CompletionTokens">Generated tokens, summed over them.</param>
/// <param name="ContextUsed">Tokens in the context after the last call: its prompt and completion.</param>
/// <param name="ContextSize">The context's size.</param>
internal sealed record PromptUsage(long PromptTokens, long CompletionTokens, long ContextUsed, long ContextSize);
