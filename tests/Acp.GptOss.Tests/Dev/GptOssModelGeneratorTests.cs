using Acp.GptOss.Tests.Support;
using static Acp.GptOss.Tests.Support.RawPrompts;
using Harmony;
using LlamaCpp;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Tests.Dev;

/// <summary>The generated models' tensor types, and that llama.cpp reads the quantized ones as they were meant.</summary>
public sealed class GptOssModelGeneratorTests
{
    private static readonly int[] s_stops = [.. HarmonySpecialTokens.O200kHarmony.SamplingStops];

    [ModelFact]
    public void The_benchmark_shape_is_written_in_the_released_models_tensor_types()
    {
        GgufFile file = GgufFile.Read(TestModels.Random);
        var types = file.Tensors.ToDictionary(t => t.Name, t => t.Type);

        Assert.Equal(GgmlType.Q80, types["token_embd.weight"]);
        Assert.Equal(GgmlType.Q80, types["output.weight"]);
        Assert.All(new[] { "attn_q", "attn_k", "attn_v", "attn_output" }, n => Assert.Equal(GgmlType.Q80, types[$"blk.0.{n}.weight"]));
        Assert.All(new[] { "ffn_gate_exps", "ffn_up_exps", "ffn_down_exps" }, n => Assert.Equal(GgmlType.MXFP4, types[$"blk.3.{n}.weight"]));
        Assert.Equal(GgmlType.F32, types["output_norm.weight"]);
        Assert.Equal(GgmlType.F32, types["blk.0.ffn_gate_inp.weight"]);
    }

    [ModelFact]
    public void A_chain_with_noise_in_q8_0_and_mxfp4_answers_its_chain()
    {
        const string Answer = "<|channel|>final<|message|>Quantized weights still say hello<|return|>";
        GgufFile file = GgufFile.Read(TestModels.ReleasedChain(Answer));
        using LlamaModel model = LlamaModel.Load(LlamaBackend.Initialize(), file.Path, new LlamaModelOptions { RequiredArchitecture = "gpt-oss" });
        using var generator = new LlamaGenerator(model, new LlamaContextOptions { ContextSize = 1024, Threads = 2 }, new LlamaSamplingOptions { Temperature = 0 });

        int[] answer = [.. generator.Generate(Prompt("Hi"), 64, s_stops, CancellationToken.None)];

        Assert.Equal(GgmlType.Q80, file.Tensors.Single(t => t.Name == "output.weight").Type);
        Assert.Equal(Tokenize(Answer), answer);
    }
}
