using System.Threading.Channels;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Harmony.Tokenizers;
using LlamaCpp.Gguf;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// A session opens without touching the model file (prompts are rendered with the built-in o200k_harmony
/// tokenizer), and the load refuses a GGUF whose vocabulary is another.
/// </summary>
public sealed class SessionStartTests
{
    [Fact]
    public async Task A_session_opens_without_its_model_file_and_its_first_prompt_reports_the_missing_file()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}.gguf");
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions { ModelPath = missing }, new Telemetry(NullLogger.Instance), NullLoggerFactory.Instance);

        await using IInferenceSession session = await engine.CreateSessionAsync("s1", CancellationToken.None).AsTask().WaitAsync(AgentHarness.Timeout);
        var error = await Assert.ThrowsAsync<InferenceException>(async () =>
        {
            await foreach (int _ in session.GenerateAsync(new[] { 1, 2 }, new GenerationOptions(4, ReadOnlyMemory<int>.Empty), CancellationToken.None))
            {
            }
        });

        Assert.IsType<O200kHarmonyTokenizer>(session.Tokenizer);
        Assert.Contains("does not exist", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_gguf_with_another_vocabulary_is_refused_by_name()
    {
        string path = Path.Combine(Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}.gguf");
        new GgufWriter()
            .Add("general.architecture", "gpt-oss")
            .Add("tokenizer.ggml.model", "llama")
            .Add("tokenizer.ggml.tokens", ["a", "b", "c"])
            .AddTensor("w", [32], GgmlType.F32, stream => stream.Write(new byte[128]))
            .Write(path);
        try
        {
            GgufFile file = GgufFile.Read(path);

            var error = Assert.Throws<InferenceException>(() => LlamaInferenceEngine.CheckVocabulary(file));

            Assert.Contains("o200k_harmony", error.Message, StringComparison.Ordinal);
            Assert.Contains("tokenizer llama", error.Message, StringComparison.Ordinal);
            Assert.Contains("3 tokens", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(path);
        }
    }

    [ModelFact]
    public void A_gpt_oss_vocabulary_passes()
    {
        GgufFile file = GgufFile.Read(TestModels.Vocabulary);

        LlamaInferenceEngine.CheckVocabulary(file);
    }

    [ModelFact]
    public async Task A_cancelled_prompt_leaves_the_context_it_waited_for_to_the_next_prompt()
    {
        string path = TestModels.Chain("<|channel|>final<|message|>Hi<|return|>");
        var telemetry = new Telemetry(NullLogger.Instance);
        var stages = Channel.CreateUnbounded<string>();
        telemetry.Subscribe(e => stages.Writer.TryWrite(e is LoadStageEvent load ? load.Stage : "inference"));
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions { ModelPath = path, ContextSize = 2048, Threads = 2, Sampling = new LlamaCpp.LlamaSamplingOptions { Temperature = 0 } },
            telemetry, NullLoggerFactory.Instance);
        await using IInferenceSession session = await engine.CreateSessionAsync("s1", CancellationToken.None).AsTask().WaitAsync(AgentHarness.Timeout);
        var encoding = new Harmony.Rendering.HarmonyEncoding(session.Tokenizer);
        int[] prompt = encoding.RenderForCompletion(new Harmony.Conversations.HarmonyConversation(
            new Harmony.Conversations.HarmonySystemContent(), null, [Harmony.Conversations.HarmonyMessage.User("Hi")]));
        var options = new GenerationOptions(32, encoding.SamplingStops.ToArray());

        // Cancelled before it starts: whatever it waits for (the load, the context), it ends cancelled.
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (int _ in session.GenerateAsync(prompt, options, cancelled.Token))
            {
            }
        });
        int[] answer = await session.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync().AsTask().WaitAsync(AgentHarness.Timeout);

        Assert.NotEmpty(answer);
        // One load and one context for the session: the cancel left both to the next prompt.
        var seen = new List<string>();
        while (stages.Reader.TryRead(out string? stage))
        {
            seen.Add(stage);
        }

        Assert.Equal(1, seen.Count(s => s == LoadStageEvent.WeightsMapped));
        Assert.Equal(1, seen.Count(s => s == LoadStageEvent.ContextCreated));
    }
}
