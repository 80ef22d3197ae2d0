using System.CommandLine;
using Acp.GptOss.Cli;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// <c>--gpu-layers</c>: on this CPU-only machine all a test can show is that the number reaches llama.cpp's model
/// parameters (and the load telemetry) and that CPU runs answer the same whatever it is.
/// </summary>
public sealed class GpuLayersTests
{
    [Theory]
    [InlineData(new string[0], -1)]
    [InlineData(new[] { "--gpu-layers", "0" }, 0)]
    [InlineData(new[] { "--gpu-layers", "12" }, 12)]
    public void The_option_reaches_the_engine_options(string[] arguments, int expected)
    {
        var options = new AgentCommandLine();
        var command = new RootCommand();
        options.AddTo(command, withEngine: true);

        ParseResult result = command.Parse(arguments);

        Assert.Empty(result.Errors);
        Assert.Equal(expected, options.LlamaOptions(result, "model.gguf").GpuLayers);
    }

    [ModelFact]
    public async Task The_model_loads_with_it_the_load_event_shows_it_and_the_cpu_answers_the_same()
    {
        const string Completion = "<|channel|>final<|message|>Hello world<|return|>";
        string path = TestModels.Chain(Completion);

        (int[] everyLayer, int everyLayerLoaded, string everyLayerEvent) = await AnswerAsync(path, gpuLayers: -1);
        (int[] cpuOnly, int cpuOnlyLoaded, string cpuOnlyEvent) = await AnswerAsync(path, gpuLayers: 0);

        Assert.Equal(-1, everyLayerLoaded);
        Assert.Equal(0, cpuOnlyLoaded);
        Assert.Contains("gpu layers -1", everyLayerEvent, StringComparison.Ordinal);
        Assert.Contains("gpu layers 0", cpuOnlyEvent, StringComparison.Ordinal);
        Assert.Equal(everyLayer, cpuOnly);
        Assert.Equal(Acp.GptOss.Dev.GptOssModelGenerator.ChainTokens(TestModels.VocabularyModel.Vocabulary, Completion).Skip(1), cpuOnly);
    }

    private static async Task<(int[] Answer, int LoadedGpuLayers, string WeightsEvent)> AnswerAsync(string path, int gpuLayers)
    {
        var recorded = new RecordedTelemetry<LoadStageEvent>();
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions { ModelPath = path, ContextSize = 2048, Threads = 2, GpuLayers = gpuLayers, Sampling = new LlamaCpp.LlamaSamplingOptions { Temperature = 0 } },
            recorded.Telemetry, NullLoggerFactory.Instance);
        await using IInferenceSession session = await engine.CreateSessionAsync("s1", CancellationToken.None);
        var encoding = new Harmony.Rendering.HarmonyEncoding(session.Tokenizer);
        int[] prompt = encoding.RenderForCompletion(new Harmony.Conversations.HarmonyConversation(
            new Harmony.Conversations.HarmonySystemContent(), null, [Harmony.Conversations.HarmonyMessage.User("Hi")]));

        int[] answer = await session.GenerateAsync(prompt, new GenerationOptions(32, encoding.SamplingStops.ToArray()), CancellationToken.None).ToArrayAsync();
        LoadedModel loaded = await ((ModelSlot)engine.Models[0]).LoadAsync(CancellationToken.None);
        return (answer, loaded.Model.GpuLayers, recorded.Events.Single(e => e.Stage == LoadStageEvent.WeightsMapped).Detail ?? "");
    }
}
