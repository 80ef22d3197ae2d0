namespace Acp.GptOss.Agent;

/// <summary>A tool call the model made.</summary>
internal sealed record ParsedToolCall(string Recipient, string? Channel, string? ContentType, string Arguments);
