using LlamaCpp;

namespace Acp.GptOss.Inference.Llama;

/// <summary>How the embedded engine runs.</summary>
internal sealed record LlamaEngineOptions
{
    /// <summary>The GPT-OSS GGUF.</summary>
    public required string ModelPath { get; init; }

    /// <summary>The context size of each session, shrunk if it does not fit in memory.</summary>
    public int ContextSize { get; init; } = 8192;

    /// <summary>CPU threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Sampling: OpenAI's recommended temperature 1.0 and top-p 1.0 unless told otherwise.</summary>
    public LlamaSamplingOptions Sampling { get; init; } = new();

    /// <summary>Where the native runtime is, if not beside the application.</summary>
    public string? NativeDirectory { get; init; }

    /// <summary>Layers offloaded to a GPU: -1 every layer when a GPU backend is present, 0 none.</summary>
    public int GpuLayers { get; init; } = -1;

    /// <summary>
    /// How many sessions are decoded together in one shared context (continuous batching), at most: 1 gives each
    /// session a context of its own, decoded on its own. The memory available may allow fewer; the rest wait.
    /// </summary>
    public int Parallel { get; init; } = 1;

    /// <summary>Unload the weights after this long without a prompt; never when null.</summary>
    public TimeSpan? IdleUnload { get; init; }
}
