namespace Acp.GptOss.Inference;

/// <summary>How to generate.</summary>
/// <param name="MaxTokens">The most tokens one completion may have.</param>
/// <param name="StopTokens">The ids that end sampling, included in the stream.</param>
internal sealed record GenerationOptions(int MaxTokens, ReadOnlyMemory<int> StopTokens);
