namespace Acp.GptOss.Inference.Llama;

/// <summary>What one generation decodes: the prompt and the ids that end it.</summary>
internal sealed record LlamaRequest(ReadOnlyMemory<int> Prompt, ReadOnlyMemory<int> StopTokens);
