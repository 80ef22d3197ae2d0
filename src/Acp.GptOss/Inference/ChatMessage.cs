namespace Acp.GptOss.Inference;

/// <summary>A message of a chat: system, user or assistant.</summary>
internal sealed record ChatMessage(string Role, string Content);
