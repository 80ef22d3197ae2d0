using System.Net;
using System.Text.Json;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Api;

/// <summary>The API end to end on llama.cpp: a generated chain GGUF with the real vocabulary, decoded greedily.</summary>
public sealed class ApiModelTests
{
    [ModelFact]
    public async Task A_chain_model_answers_a_chat_completion_whole_and_streamed_and_metrics_show_it_ready()
    {
        var telemetry = new Telemetry(NullLogger.Instance);
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions
            {
                ModelPath = TestModels.Chain("<|channel|>final<|message|>Hello from the chain.<|return|>"),
                ContextSize = 2048,
                Threads = 2,
                Sampling = new LlamaCpp.LlamaSamplingOptions { Temperature = 0 },
            },
            telemetry, NullLoggerFactory.Instance);
        await using ApiServer api = await ApiServer.StartAsync(engine, telemetry: telemetry);
        const string Body = """{"model":"gpt-oss","messages":[{"role":"user","content":"Say hello."}]}""";

        using HttpResponseMessage whole = await api.PostAsync("/v1/chat/completions", Body);
        JsonElement body = JsonDocument.Parse(await whole.Content.ReadAsStringAsync()).RootElement;
        using HttpResponseMessage streamed = await api.PostAsync("/v1/chat/completions", Body.Replace("{\"model\"", "{\"stream\":true,\"model\"", StringComparison.Ordinal));
        List<string> events = await ChatCompletionsTests.EventsAsync(streamed);
        string metrics = await api.MetricsAsync();

        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal("Hello from the chain.", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal("Hello from the chain.", string.Concat(events.SkipLast(1)
            .Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("delta"))
            .Select(d => d.TryGetProperty("content", out JsonElement c) ? c.GetString() : "")));
        Assert.Contains("acp_gptoss_model_state{model=\"gpt-oss\",state=\"ready\"} 1\n", metrics, StringComparison.Ordinal);
        Assert.Contains("acp_gptoss_inference_decode_tokens_per_second{model=\"gpt-oss\"}", metrics, StringComparison.Ordinal);
        Assert.Contains("acp_gptoss_api_generations_total{finish_reason=\"stop\"} 2\n", metrics, StringComparison.Ordinal);
    }
}
