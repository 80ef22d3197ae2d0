namespace Acp.GptOss.Inference.Llama;

/// <summary>What one generation decodes: the prompt, the ids that end it, and how it samples (the engine's way when null).</summary>
internal sealed record LlamaRequest(ReadOnlyMemory<int> Prompt, ReadOnlyMemory<int> StopTokens, LlamaCpp.LlamaSamplingOptions? Sampling = null);
