namespace Acp.GptOss.Agent;

/// <summary>The end of one tool call, as the turn needs it.</summary>
/// <param name="Recipient">The recipient to record the call under: <c>functions.NAME</c> once resolved.</param>
/// <param name="Result">The tool message for the model.</param>
/// <param name="Cancelled">Whether the turn was cancelled during the call: the turn ends <c>cancelled</c>.</param>
internal sealed record ToolCallOutcome(string Recipient, string Result, bool Cancelled);
