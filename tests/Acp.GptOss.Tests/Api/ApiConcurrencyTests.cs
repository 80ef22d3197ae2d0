using System.Text.Json;
using Acp.GptOss.Completions;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Api;

/// <summary>
/// Eight API clients at once on one model decoded together (<c>--parallel 4</c>), on real llama.cpp with a generated
/// chain model (its answer depends only on the prompt's last token, so each raw prompt has its own known answer):
/// each client gets its own answer exactly, as when it runs alone; a client that goes away mid-stream is cancelled
/// and the others' answers stay whole.
/// </summary>
public sealed class ApiConcurrencyTests
{
    // " world" follows itself once the chain ends: every answer runs to its token budget.
    private const string Endless = "<|channel|>final<|message|>Hello world";
    private const int Budget = 16;

    // Each prompt stops at another point of the chain: "<|start|>assistant", then 0 to 4 of its tokens.
    private static readonly string[] s_chain = ["<|channel|>", "final", "<|message|>", "Hello", " world"];

    [ModelFact]
    public async Task Eight_clients_at_once_each_get_their_own_answer_as_alone_and_one_that_leaves_disturbs_none()
    {
        await using LlamaInferenceEngine engine = LlamaInferenceEngine.Start(
            new LlamaEngineOptions { ModelPath = TestModels.Chain(Endless), ContextSize = 1024, Threads = 2, Parallel = 4, Sampling = new LlamaCpp.LlamaSamplingOptions { Temperature = 0 } },
            new Telemetry(NullLogger.Instance),
            NullLoggerFactory.Instance);
        await using ApiServer api = await ApiServer.StartAsync(engine, o => o with { Api = o.Api with { MaxConcurrentGenerations = 4 } });
        string[] prompts = [.. Enumerable.Range(0, 8).Select(i => $"<|start|>user<|message|>Question {i}<|end|><|start|>assistant" + string.Concat(s_chain[..(i % 5)]))];
        string[] alone = new string[8];
        for (int i = 0; i < 8; i++)
        {
            alone[i] = await CompleteAsync(api, prompts[i]);
        }

        // The ninth client streams and goes away after its first event, while the eight run: its connection closes
        // (a client that drained the rest to reuse the connection would not be going away).
        using var leavingClient = new HttpClient(new SocketsHttpHandler { MaxResponseDrainSize = 0 }) { Timeout = AgentHarness.Timeout };
        leavingClient.DefaultRequestHeaders.Authorization = api.Http.DefaultRequestHeaders.Authorization;
        using HttpResponseMessage leaving = await leavingClient.SendAsync(
            new HttpRequestMessage(HttpMethod.Post, new Uri(api.Address, "/v1/completions"))
            {
                Content = new StringContent(Body(prompts[0], stream: true, maxTokens: 900), System.Text.Encoding.UTF8, "application/json"),
            },
            HttpCompletionOption.ResponseHeadersRead);
        Task<string>[] together = [.. prompts.Select(p => CompleteAsync(api, p))];
        using (var reader = new StreamReader(await leaving.Content.ReadAsStreamAsync()))
        {
            Assert.StartsWith("data: ", await reader.ReadLineAsync(), StringComparison.Ordinal);
        }

        leaving.Dispose();
        string[] answers = await Task.WhenAll(together);

        Assert.Equal(alone, answers);
        for (int i = 0; i < 8; i++)
        {
            // The rest of the chain from where the prompt stopped, then " world" to the budget.
            string[] rest = s_chain[(i % 5)..];
            Assert.Equal(string.Concat(rest) + string.Concat(Enumerable.Repeat(" world", Budget - rest.Length)), answers[i]);
        }

        var ends = new List<CompletionFinishReason?>();
        for (int i = 0; i < 17; i++)
        {
            ends.Add(await api.NextGenerationEndAsync());
        }

        Assert.Equal(16, ends.Count(e => e == CompletionFinishReason.Length));
        Assert.Single(ends, e => e == CompletionFinishReason.Cancelled);
    }

    private static async Task<string> CompleteAsync(ApiServer api, string prompt)
    {
        using HttpResponseMessage response = await api.PostAsync("/v1/completions", Body(prompt, stream: false, maxTokens: Budget));
        JsonElement body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.True(response.IsSuccessStatusCode, body.GetRawText());
        return body.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    private static string Body(string prompt, bool stream, int maxTokens) =>
        JsonSerializer.Serialize(new { model = "gpt-oss", prompt, stream, max_tokens = maxTokens });
}
