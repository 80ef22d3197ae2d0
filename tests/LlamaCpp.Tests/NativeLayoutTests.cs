using System.Runtime.InteropServices;
using LlamaCpp.Native;

namespace LlamaCpp.Tests;

/// <summary>
/// The binding's structs against llama.h of the pinned release, without loading any native library. The expected
/// numbers are offsetof() and sizeof() of that header, compiled with gcc on x86-64 (node-llama-cpp 3.22.1, llama.cpp
/// v0.5.0): a mismatch here is the access violation users would otherwise get at load.
/// </summary>
public sealed class NativeLayoutTests
{
    [Theory]
    [InlineData(nameof(LlamaModelParams.Devices), 0)]
    [InlineData(nameof(LlamaModelParams.TensorBufferTypeOverrides), 8)]
    [InlineData(nameof(LlamaModelParams.GpuLayerCount), 16)]
    [InlineData(nameof(LlamaModelParams.SplitMode), 20)]
    [InlineData(nameof(LlamaModelParams.LoadMode), 24)]
    [InlineData(nameof(LlamaModelParams.LazyMode), 28)]
    [InlineData(nameof(LlamaModelParams.MainGpu), 32)]
    [InlineData(nameof(LlamaModelParams.TensorSplit), 40)]
    [InlineData(nameof(LlamaModelParams.ProgressCallback), 48)]
    [InlineData(nameof(LlamaModelParams.ProgressCallbackUserData), 56)]
    [InlineData(nameof(LlamaModelParams.KvOverrides), 64)]
    [InlineData(nameof(LlamaModelParams.VocabOnly), 72)]
    [InlineData(nameof(LlamaModelParams.CheckTensors), 73)]
    [InlineData(nameof(LlamaModelParams.UseExtraBufferTypes), 74)]
    [InlineData(nameof(LlamaModelParams.NoHost), 75)]
    [InlineData(nameof(LlamaModelParams.NoAlloc), 76)]
    [InlineData(nameof(LlamaModelParams.LoadMtp), 77)]
    public void Model_params_fields_sit_where_llama_h_puts_them(string field, int offset)
    {
        Assert.Equal(offset, (int)Marshal.OffsetOf<LlamaModelParams>(field));
    }

    [Theory]
    [InlineData(nameof(LlamaContextParams.ContextSize), 0)]
    [InlineData(nameof(LlamaContextParams.BatchSize), 4)]
    [InlineData(nameof(LlamaContextParams.MicroBatchSize), 8)]
    [InlineData(nameof(LlamaContextParams.MaxSequences), 12)]
    [InlineData(nameof(LlamaContextParams.RecurrentStateSnapshots), 16)]
    [InlineData(nameof(LlamaContextParams.MaxOutputs), 20)]
    [InlineData(nameof(LlamaContextParams.MaxOutputsPerSequence), 24)]
    [InlineData(nameof(LlamaContextParams.Threads), 28)]
    [InlineData(nameof(LlamaContextParams.BatchThreads), 32)]
    [InlineData(nameof(LlamaContextParams.ContextType), 36)]
    [InlineData(nameof(LlamaContextParams.RopeScalingType), 40)]
    [InlineData(nameof(LlamaContextParams.PoolingType), 44)]
    [InlineData(nameof(LlamaContextParams.AttentionType), 48)]
    [InlineData(nameof(LlamaContextParams.FlashAttentionType), 52)]
    [InlineData(nameof(LlamaContextParams.RopeFrequencyBase), 56)]
    [InlineData(nameof(LlamaContextParams.RopeFrequencyScale), 60)]
    [InlineData(nameof(LlamaContextParams.YarnExtFactor), 64)]
    [InlineData(nameof(LlamaContextParams.YarnAttnFactor), 68)]
    [InlineData(nameof(LlamaContextParams.YarnBetaFast), 72)]
    [InlineData(nameof(LlamaContextParams.YarnBetaSlow), 76)]
    [InlineData(nameof(LlamaContextParams.YarnOriginalContext), 80)]
    [InlineData(nameof(LlamaContextParams.DefragThreshold), 84)]
    [InlineData(nameof(LlamaContextParams.EvalCallback), 88)]
    [InlineData(nameof(LlamaContextParams.EvalCallbackUserData), 96)]
    [InlineData(nameof(LlamaContextParams.TypeK), 104)]
    [InlineData(nameof(LlamaContextParams.TypeV), 108)]
    [InlineData(nameof(LlamaContextParams.AbortCallback), 112)]
    [InlineData(nameof(LlamaContextParams.AbortCallbackData), 120)]
    [InlineData(nameof(LlamaContextParams.Embeddings), 128)]
    [InlineData(nameof(LlamaContextParams.OffloadKqv), 129)]
    [InlineData(nameof(LlamaContextParams.NoPerf), 130)]
    [InlineData(nameof(LlamaContextParams.OpOffload), 131)]
    [InlineData(nameof(LlamaContextParams.SwaFull), 132)]
    [InlineData(nameof(LlamaContextParams.KvUnified), 133)]
    [InlineData(nameof(LlamaContextParams.Samplers), 136)]
    [InlineData(nameof(LlamaContextParams.SamplerCount), 144)]
    [InlineData(nameof(LlamaContextParams.OtherContext), 152)]
    public void Context_params_fields_sit_where_llama_h_puts_them(string field, int offset)
    {
        Assert.Equal(offset, (int)Marshal.OffsetOf<LlamaContextParams>(field));
    }

    [Theory]
    [InlineData(nameof(LlamaBatch.TokenCount), 0)]
    [InlineData(nameof(LlamaBatch.Token), 8)]
    [InlineData(nameof(LlamaBatch.Embeddings), 16)]
    [InlineData(nameof(LlamaBatch.Position), 24)]
    [InlineData(nameof(LlamaBatch.SequenceIdCount), 32)]
    [InlineData(nameof(LlamaBatch.SequenceId), 40)]
    [InlineData(nameof(LlamaBatch.Logits), 48)]
    public void Batch_fields_sit_where_llama_h_puts_them(string field, int offset)
    {
        Assert.Equal(offset, (int)Marshal.OffsetOf<LlamaBatch>(field));
    }

    [Theory]
    [InlineData(nameof(LlamaChatMessage.Role), 0)]
    [InlineData(nameof(LlamaChatMessage.Content), 8)]
    public void Chat_message_fields_sit_where_llama_h_puts_them(string field, int offset)
    {
        Assert.Equal(offset, (int)Marshal.OffsetOf<LlamaChatMessage>(field));
    }

    [Theory]
    [InlineData(nameof(GgmlThreadpoolParams.Threads), 512)]
    [InlineData(nameof(GgmlThreadpoolParams.Priority), 516)]
    [InlineData(nameof(GgmlThreadpoolParams.Poll), 520)]
    [InlineData(nameof(GgmlThreadpoolParams.StrictCpu), 524)]
    [InlineData(nameof(GgmlThreadpoolParams.Paused), 525)]
    public void Threadpool_params_fields_sit_where_ggml_h_puts_them(string field, int offset)
    {
        Assert.Equal(offset, (int)Marshal.OffsetOf<GgmlThreadpoolParams>(field));
    }

    [Fact]
    public unsafe void Struct_sizes_match_llama_h()
    {
        Assert.Equal(80, sizeof(LlamaModelParams));
        Assert.Equal(160, sizeof(LlamaContextParams));
        Assert.Equal(56, sizeof(LlamaBatch));
        Assert.Equal(1, sizeof(LlamaSamplerChainParams));
        Assert.Equal(16, sizeof(LlamaChatMessage));
        Assert.Equal(528, sizeof(GgmlThreadpoolParams));
        Assert.Equal(sizeof(LlamaModelParams), Marshal.SizeOf<LlamaModelParams>());
        Assert.Equal(sizeof(LlamaContextParams), Marshal.SizeOf<LlamaContextParams>());
    }
}
