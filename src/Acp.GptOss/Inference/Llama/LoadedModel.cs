using LlamaCpp;

namespace Acp.GptOss.Inference.Llama;

/// <summary>A loaded model, and the load it came from: contexts made for an earlier load must be made again.</summary>
internal sealed record LoadedModel(LlamaModel Model, int ContextSize, long Generation)
{
    /// <summary>KV cache bytes per token of context (<see cref="MemoryPreflight.KvBytesPerToken"/>); 0 when unknown.</summary>
    public long KvBytesPerToken { get; init; }
}
