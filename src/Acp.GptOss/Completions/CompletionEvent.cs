namespace Acp.GptOss.Completions;

/// <summary>What one completion streams, in order: text deltas and tool calls, then exactly one <see cref="CompletionEnded"/>.</summary>
internal abstract record CompletionEvent;

/// <summary>Reasoning text (Harmony's analysis channel): never part of the answer.</summary>
internal sealed record ReasoningDelta(string Text) : CompletionEvent;

/// <summary>Answer text: the final channel, and commentary preambles, a blank line between two messages.</summary>
internal sealed record ContentDelta(string Text) : CompletionEvent;

/// <summary>The model called a function.</summary>
/// <param name="Id">An id for the call, unique to this process (<c>call_...</c>).</param>
/// <param name="Name">The function's name as the caller declared it; the recipient as written when no declared function matches.</param>
/// <param name="Arguments">The arguments as the model wrote them: JSON text, <c>{}</c> when it wrote nothing.</param>
internal sealed record ToolCallDelta(string Id, string Name, string Arguments) : CompletionEvent;

/// <summary>The last event.</summary>
internal sealed record CompletionEnded(CompletionFinishReason FinishReason, CompletionUsage Usage) : CompletionEvent;
