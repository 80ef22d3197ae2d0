using System.Runtime.InteropServices;

namespace LlamaCpp.Native;

// Mirrors of llama.h structs of the pinned release (node-llama-cpp 3.22.1, llama.cpp v0.5.0), field for field.
// C bools are bytes. Layout tests check every offset against offsetof() of that header.

/// <summary><c>struct llama_model_params</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaModelParams
{
    public nint Devices;
    public nint TensorBufferTypeOverrides;
    public int GpuLayerCount;
    public int SplitMode;
    public int LoadMode;
    public int LazyMode;
    public int MainGpu;
    public nint TensorSplit;
    public nint ProgressCallback;
    public nint ProgressCallbackUserData;
    public nint KvOverrides;
    public byte VocabOnly;
    public byte CheckTensors;
    public byte UseExtraBufferTypes;
    public byte NoHost;
    public byte NoAlloc;
    public byte LoadMtp;
}

/// <summary><c>struct llama_context_params</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaContextParams
{
    public uint ContextSize;
    public uint BatchSize;
    public uint MicroBatchSize;
    public uint MaxSequences;
    public uint RecurrentStateSnapshots;
    public uint MaxOutputs;
    public uint MaxOutputsPerSequence;
    public int Threads;
    public int BatchThreads;
    public int ContextType;
    public int RopeScalingType;
    public int PoolingType;
    public int AttentionType;
    public int FlashAttentionType;
    public float RopeFrequencyBase;
    public float RopeFrequencyScale;
    public float YarnExtFactor;
    public float YarnAttnFactor;
    public float YarnBetaFast;
    public float YarnBetaSlow;
    public uint YarnOriginalContext;
    public float DefragThreshold;
    public nint EvalCallback;
    public nint EvalCallbackUserData;
    public int TypeK;
    public int TypeV;
    public nint AbortCallback;
    public nint AbortCallbackData;
    public byte Embeddings;
    public byte OffloadKqv;
    public byte NoPerf;
    public byte OpOffload;
    public byte SwaFull;
    public byte KvUnified;
    public nint Samplers;
    public nuint SamplerCount;
    public nint OtherContext;
}

/// <summary><c>struct llama_batch</c>: arrays allocated by <c>llama_batch_init</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LlamaBatch
{
    public int TokenCount;
    public int* Token;
    public float* Embeddings;
    public int* Position;
    public int* SequenceIdCount;
    public int** SequenceId;
    public sbyte* Logits;
}

/// <summary><c>struct llama_chat_message</c>: two NUL-terminated UTF-8 strings the caller keeps alive.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct LlamaChatMessage
{
    public byte* Role;
    public byte* Content;
}

/// <summary><c>struct llama_sampler_chain_params</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal struct LlamaSamplerChainParams
{
    public byte NoPerf;
}

/// <summary><c>struct ggml_threadpool_params</c>: filled by <c>ggml_threadpool_params_init</c>.</summary>
[StructLayout(LayoutKind.Sequential)]
internal unsafe struct GgmlThreadpoolParams
{
    /// <summary>GGML_MAX_N_THREADS bools; all zero keeps the inherited affinity.</summary>
    public fixed byte CpuMask[512];
    public int Threads;
    public int Priority;
    public uint Poll;
    public byte StrictCpu;
    public byte Paused;
}
