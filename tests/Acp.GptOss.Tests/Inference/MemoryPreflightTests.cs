using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Tests.Inference;

/// <summary>The memory check before a model loads: weights plus the KV cache of the context, against what is available.</summary>
public sealed class MemoryPreflightTests : IDisposable
{
    // gpt-oss-20b's attention: 24 layers, 8 KV heads of 64: 24 × 8 × (64 + 64) × 2 bytes = 49,152 bytes per token.
    private const long PerToken = 49_152;

    private readonly string _path = Path.Combine(Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}.gguf");
    private readonly GgufFile _file;

    public MemoryPreflightTests()
    {
        new GgufWriter()
            .Add("general.architecture", "gpt-oss")
            .Add("gpt-oss.block_count", 24u)
            .Add("gpt-oss.embedding_length", 2880u)
            .Add("gpt-oss.attention.head_count", 64u)
            .Add("gpt-oss.attention.head_count_kv", 8u)
            .Add("gpt-oss.attention.key_length", 64u)
            .Add("gpt-oss.attention.value_length", 64u)
            .AddTensor("w", [1024], GgmlType.F32, s => s.Write(new byte[4096]))
            .Write(_path);
        _file = GgufFile.Read(_path);
    }

    public void Dispose() => File.Delete(_path);

    [Fact]
    public void The_kv_cache_per_token_follows_the_attention_shape()
    {
        Assert.Equal(PerToken, MemoryPreflight.KvBytesPerToken(_file));
    }

    [Fact]
    public void A_context_that_fits_is_kept()
    {
        int context = MemoryPreflight.FitContext(_file, 8192, Available(8192), out string? warning);

        Assert.Equal(8192, context);
        Assert.Null(warning);
    }

    [Fact]
    public void A_context_that_does_not_fit_shrinks_with_a_warning()
    {
        int context = MemoryPreflight.FitContext(_file, 8192, Available(3000), out string? warning);

        Assert.InRange(context, 1024, 3000);
        Assert.Equal(0, context % 256);
        Assert.Contains("8192-token context does not fit", warning, StringComparison.Ordinal);
    }

    [Fact]
    public void A_model_that_cannot_fit_even_a_small_context_is_a_clear_error()
    {
        var error = Assert.Throws<InferenceException>(() => MemoryPreflight.FitContext(_file, 8192, Available(100), out _));

        Assert.Contains("needs", error.Message, StringComparison.Ordinal);
        Assert.Contains("are available", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void This_machine_reports_its_memory()
    {
        Assert.True(MemoryPreflight.TotalMemory() > 0);
        Assert.InRange(MemoryPreflight.AvailableMemory() ?? -1, 1, MemoryPreflight.TotalMemory()!.Value);
    }

    // Memory for the weights and a context of the given size, as FitContext counts it (it keeps a tenth spare).
    private long Available(int contextTokens) => (long)((_file.Length + (PerToken * contextTokens)) / 0.9) + 1;
}
