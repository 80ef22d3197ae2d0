namespace Acp.GptOss.Inference.Remote;

/// <summary>What a probe learned about the server and the model it serves.</summary>
/// <param name="Kind">The server's kind.</param>
/// <param name="Model">The model's name, as requests must give it.</param>
/// <param name="ContextSize">The context the server gives one request, if it says.</param>
/// <param name="Version">The server's version or build, if it says.</param>
internal sealed record RemoteModelInfo(RemoteKind Kind, string Model, int? ContextSize, string? Version);
