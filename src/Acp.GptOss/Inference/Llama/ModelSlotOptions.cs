using LlamaCpp.Gguf;

namespace Acp.GptOss.Inference.Llama;

/// <summary>How a slot loads its model.</summary>
internal sealed record ModelSlotOptions
{
    /// <summary>What the model is for: the name in status, logs and telemetry.</summary>
    public required ModelRole Role { get; init; }

    public required string Path { get; init; }

    /// <summary>The architecture the file must have, if any.</summary>
    public string? RequiredArchitecture { get; init; }

    /// <summary>The context size asked for; shrunk when it does not fit in memory.</summary>
    public int ContextSize { get; init; } = 8192;

    /// <summary>Where the native runtime is, if not beside the application.</summary>
    public string? NativeDirectory { get; init; }

    /// <summary>Unload after this long without use; never when null.</summary>
    public TimeSpan? IdleUnload { get; init; }

    /// <summary>Layers offloaded to a GPU (llama.cpp's n_gpu_layers): -1 every layer when a GPU backend is present, 0 none.</summary>
    public int GpuLayers { get; init; } = -1;

    /// <summary>
    /// Checks the file's header beyond what llama.cpp needs (that its vocabulary is the one prompts are rendered
    /// with, say) before the weights load; throws <see cref="InferenceException"/> to refuse it.
    /// </summary>
    public Action<GgufFile>? CheckHeader { get; init; }
}
