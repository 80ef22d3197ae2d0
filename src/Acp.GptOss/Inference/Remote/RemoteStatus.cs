namespace Acp.GptOss.Inference.Remote;

/// <summary>The server behind a remote model, for <c>_gptoss/status</c>.</summary>
/// <param name="Endpoint">Its base address.</param>
/// <param name="Kind">llama-server, vllm, sglang or openai, once known.</param>
/// <param name="Model">The model asked for, or the one it serves.</param>
/// <param name="Version">Its version or build, if it says.</param>
internal sealed record RemoteStatus(string Endpoint, string? Kind, string? Model, string? Version);
