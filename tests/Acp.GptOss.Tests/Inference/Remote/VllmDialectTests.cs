using System.Net;
using System.Text.Json;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Remote;
using Acp.GptOss.Tests.Support;
using Harmony;
using Microsoft.Extensions.Logging.Abstractions;
using static Acp.GptOss.Tests.Support.FakeServingEngineKit;

namespace Acp.GptOss.Tests.Inference.Remote;

/// <summary>
/// The vLLM dialect against a fake that answers as vLLM's OpenAI-compatible server does: the shapes of
/// vllm/entrypoints/openai/protocol.py (ModelCard, CompletionStreamResponse, CompletionLogProbs, ErrorResponse) and
/// completion/serving.py (completion_stream_generator: one chunk per engine step, <c>token_ids</c> with
/// <c>return_token_ids</c>, logprob tokens spelled <c>token_id:N</c>, errors as a data event, then <c>data: [DONE]</c>).
/// </summary>
public sealed class VllmDialectTests
{
    private const string Model = "openai/gpt-oss-20b";

    [Fact]
    public async Task Generate_sends_the_prompt_ids_and_fields_and_yields_the_servers_token_ids()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Answer);
        FakeServingEngineStream stream = fake.Stream("v1/completions");
        int[][] chunks = [.. Chunks(answer, 3)];
        for (int i = 0; i < chunks.Length; i++)
        {
            // <|return|> is gpt-oss's EOS: finish_reason "stop" with no stop_reason.
            stream.Data(Event(chunks[i], i == chunks.Length - 1 ? "stop" : null, stopReason: null, tokenIds: true, logprobs: true, promptIds: i == 0 ? [1, 2] : null));
        }

        stream.Done().End();
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync();

        List<int> tokens = await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), request, CancellationToken.None));

        Assert.Equal(answer, tokens);
        Assert.Equal("stop", request.Usage.StopReason);
        JsonElement body = Assert.Single(fake.Posts("v1/completions")).Json;
        Assert.Equal(Model, body.GetProperty("model").GetString());
        Assert.Equal(request.Prompt.ToArray(), body.GetProperty("prompt").EnumerateArray().Select(e => e.GetInt32()));
        Assert.Equal(256, body.GetProperty("max_tokens").GetInt32());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(7, body.GetProperty("seed").GetInt32());
        Assert.Equal(HarmonySpecialTokens.O200kHarmony.SamplingStops.ToArray(), body.GetProperty("stop_token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.False(body.GetProperty("skip_special_tokens").GetBoolean());
        Assert.True(body.GetProperty("include_stop_str_in_output").GetBoolean());
        Assert.True(body.GetProperty("return_token_ids").GetBoolean());
        Assert.Equal(1, body.GetProperty("logprobs").GetInt32());
        Assert.True(body.GetProperty("return_tokens_as_token_ids").GetBoolean());
    }

    [Fact]
    public async Task Generate_reads_the_ids_from_the_logprob_tokens_where_the_server_has_no_return_token_ids()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Call);
        FakeServingEngineStream stream = fake.Stream("v1/completions");
        int[][] chunks = [.. Chunks(answer, 4)];
        for (int i = 0; i < chunks.Length; i++)
        {
            // Older vLLM: no token_ids; <|call|> is one of gpt-oss's extra EOS ids, so stop_reason names it.
            stream.Data(Event(chunks[i], i == chunks.Length - 1 ? "stop" : null, i == chunks.Length - 1 ? 200012 : null, tokenIds: false, logprobs: true));
        }

        stream.Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None));

        Assert.Equal(answer, tokens);
    }

    [Fact]
    public async Task Generate_puts_back_a_stop_token_that_the_server_left_out_of_the_ids()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Call);
        fake.Stream("v1/completions")
            .Data(Event(answer[..^1], null, null, tokenIds: true, logprobs: false))
            .Data(Event([], "stop", 200012, tokenIds: true, logprobs: false))
            .Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None));

        Assert.Equal(answer, tokens);
        Assert.Equal(200012, tokens[^1]);
    }

    [Fact]
    public async Task Generate_puts_back_the_eos_that_ended_the_completion_without_a_stop_reason()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Answer);
        fake.Stream("v1/completions")
            .Data(Event(answer[..^1], null, null, tokenIds: true, logprobs: false))
            .Data(Event([], "stop", null, tokenIds: true, logprobs: false))
            .Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None));

        Assert.Equal(answer, tokens);
        Assert.Equal(200002, tokens[^1]);
    }

    [Fact]
    public async Task Generate_ends_without_a_stop_token_at_the_length_limit()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Answer);
        fake.Stream("v1/completions").Data(Event(answer[..5], null, null, true, true)).Data(Event(answer[5..8], "length", null, true, true)).Done().End();
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync();

        List<int> tokens = await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), request, CancellationToken.None));

        Assert.Equal(answer[..8], tokens);
        Assert.Equal("length", request.Usage.StopReason);
    }

    [Fact]
    public async Task Generate_fails_with_the_servers_message_on_an_error_status()
    {
        var fake = Vllm();
        fake.Fail("v1/completions", HttpStatusCode.BadRequest,
            """{"object":"error","message":"This model's maximum context length is 131072 tokens. However, you requested 140000 tokens.","type":"BadRequestError","param":null,"code":400}""");
        using RemoteServer server = Server(fake);

        RemoteRequest request = await RequestAsync();

        var e = await Assert.ThrowsAsync<RemoteRequestException>(() => CollectAsync(new VllmDialect().GenerateAsync(server, Info(), request, CancellationToken.None)));

        Assert.Contains("http://gpu-box:8000/", e.Message, StringComparison.Ordinal);
        Assert.Contains("400", e.Message, StringComparison.Ordinal);
        Assert.Contains("maximum context length is 131072", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_fails_on_an_error_event_inside_the_stream()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Answer);
        fake.Stream("v1/completions")
            .Data(Event(answer[..3], null, null, true, true))
            .Data("""{"error":{"message":"CUDA out of memory","type":"InternalServerError","param":null,"code":500}}""")
            .Done().End();
        using RemoteServer server = Server(fake);
        var tokens = new List<int>();

        var e = await Assert.ThrowsAsync<InferenceException>(async () =>
        {
            await foreach (int token in new VllmDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None))
            {
                tokens.Add(token);
            }
        });

        Assert.Equal(answer[..3], tokens);
        Assert.Contains("CUDA out of memory", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_fails_on_the_flat_error_event_of_older_releases()
    {
        var fake = Vllm();
        fake.Stream("v1/completions").Data("""{"object":"error","message":"Engine loop has died","type":"InternalServerError","param":null,"code":500}""").Done().End();
        using RemoteServer server = Server(fake);

        var e = await Assert.ThrowsAsync<InferenceException>(async () => await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None)));

        Assert.Contains("Engine loop has died", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Generate_fails_when_the_stream_ends_before_a_finish_reason(bool done)
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Answer);
        FakeServingEngineStream stream = fake.Stream("v1/completions").Data(Event(answer[..4], null, null, true, true));
        if (done)
        {
            stream.Done();
        }

        stream.End();
        using RemoteServer server = Server(fake);

        var e = await Assert.ThrowsAsync<InferenceException>(async () => await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None)));

        Assert.Contains("closed the stream before the completion ended", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_fails_clearly_when_the_server_gives_text_without_ids()
    {
        var fake = Vllm();
        fake.Stream("v1/completions").Data("""{"id":"cmpl-1","object":"text_completion","created":1,"model":"m","choices":[{"index":0,"text":"Hello","logprobs":null,"finish_reason":null,"stop_reason":null}]}""").Done().End();
        using RemoteServer server = Server(fake);

        var e = await Assert.ThrowsAsync<InferenceException>(async () => await CollectAsync(new VllmDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None)));

        Assert.Contains("without token ids", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_and_closes_the_response()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Answer);
        FakeServingEngineStream stream = fake.Stream("v1/completions").Data(Event(answer[..2], null, null, true, true));
        using RemoteServer server = Server(fake);

        await AssertCancelClosesTheResponseAsync(new VllmDialect(), Info(), server, stream);
    }

    [Fact]
    public async Task Probe_reads_the_model_its_context_and_the_version()
    {
        using RemoteServer server = Server(Vllm());

        RemoteModelInfo info = await new VllmDialect().ProbeAsync(server, Model, CancellationToken.None);

        Assert.Equal(new RemoteModelInfo(RemoteKind.Vllm, Model, 131072, "vLLM 0.10.1.1"), info);
    }

    [Fact]
    public async Task Probe_without_a_model_takes_the_first_served()
    {
        using RemoteServer server = Server(Vllm());

        RemoteModelInfo info = await new VllmDialect().ProbeAsync(server, null, CancellationToken.None);

        Assert.Equal(Model, info.Model);
    }

    [Fact]
    public async Task Probe_of_a_model_not_served_names_the_served_ones()
    {
        using RemoteServer server = Server(Vllm());

        var e = await Assert.ThrowsAsync<InferenceException>(() => new VllmDialect().ProbeAsync(server, "openai/gpt-oss-120b", CancellationToken.None));

        Assert.Contains("openai/gpt-oss-20b, my-lora", e.Message, StringComparison.Ordinal);
        Assert.Contains("openai/gpt-oss-120b", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detection_tells_vllm_from_sglang_and_llama_server()
    {
        var dialect = new VllmDialect();
        using RemoteServer vllm = Server(Vllm());
        // SGLang's /v1/models cards are owned by "sglang" (its ModelCard's default).
        using RemoteServer sglang = Server(new FakeServingEngine()
            .Get("get_model_info", """{"model_path":"openai/gpt-oss-20b","is_generation":true}""")
            .Get("v1/models", """{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","created":1,"owned_by":"sglang","root":"openai/gpt-oss-20b","max_model_len":131072}]}"""));
        using RemoteServer sglangWithVersion = Server(new FakeServingEngine()
            .Get("version", """{"version":"0.5.2"}""")
            .Get("v1/models", """{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model","created":1,"owned_by":"sglang"}]}"""));
        using RemoteServer llama = Server(new FakeServingEngine()
            .Get("props", """{"default_generation_settings":{"n_ctx":8192},"build_info":"b6100"}""")
            .Get("v1/models", """{"object":"list","data":[{"id":"gpt-oss-20b","object":"model","created":1,"owned_by":"llamacpp","meta":{}}]}"""));

        Assert.True(await dialect.IsServedByAsync(vllm, CancellationToken.None));
        Assert.False(await dialect.IsServedByAsync(sglang, CancellationToken.None));
        Assert.False(await dialect.IsServedByAsync(sglangWithVersion, CancellationToken.None));
        Assert.False(await dialect.IsServedByAsync(llama, CancellationToken.None));
        Assert.False(await new LlamaServerDialect().IsServedByAsync(vllm, CancellationToken.None));
    }

    [Fact]
    public async Task The_engine_detects_vllm_and_a_session_stops_after_the_stop_token()
    {
        var fake = Vllm();
        int[] answer = await IdsAsync(Answer);
        // The server goes on after <|return|> (as with ignore_eos); the session stops at the stop token itself.
        fake.Stream("v1/completions").Data(Event([.. answer, 200006, 17196], null, null, true, true));
        await using RemoteInferenceEngine engine = RemoteInferenceEngine.Start(
            new RemoteEngineOptions { Endpoint = new Uri("http://gpu-box:8000/") }, new Telemetry(NullLogger.Instance), NullLoggerFactory.Instance, handler: fake);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);

        List<int> tokens = await CollectAsync(session.GenerateAsync(
            (await RequestAsync()).Prompt, new GenerationOptions(128, HarmonySpecialTokens.O200kHarmony.SamplingStops.ToArray()), CancellationToken.None));

        Assert.Equal(answer, tokens);
        Assert.Equal(131072, session.ContextSize);
        Assert.Contains("vllm", engine.Description, StringComparison.Ordinal);
    }

    /// <summary>A vLLM 0.10 server serving gpt-oss-20b and a LoRA adapter.</summary>
    internal static FakeServingEngine Vllm() => new FakeServingEngine()
        .Get("version", """{"version":"0.10.1.1"}""")
        .Get("v1/models", $$"""
            {"object":"list","data":[
              {"id":"{{Model}}","object":"model","created":1754000000,"owned_by":"vllm","root":"{{Model}}","parent":null,"max_model_len":131072,"permission":[]},
              {"id":"my-lora","object":"model","created":1754000000,"owned_by":"vllm","root":"/adapters/my-lora","parent":"{{Model}}","max_model_len":null,"permission":[]}]}
            """)
        .Get("health", "");

    private static RemoteModelInfo Info() => new(RemoteKind.Vllm, Model, 131072, "vLLM 0.10.1.1");

    // One CompletionStreamResponse chunk, as serialized with exclude_unset.
    private static string Event(int[] ids, string? finish, int? stopReason, bool tokenIds, bool logprobs, int[]? promptIds = null)
    {
        var choice = new Dictionary<string, object?>
        {
            ["index"] = 0,
            ["text"] = "…",
            ["logprobs"] = logprobs
                ? new Dictionary<string, object?>
                {
                    ["text_offset"] = ids.Select((_, i) => i).ToArray(),
                    ["token_logprobs"] = ids.Select(_ => -0.01).ToArray(),
                    ["tokens"] = ids.Select(id => $"token_id:{id}").ToArray(),
                    ["top_logprobs"] = ids.Select(id => new Dictionary<string, double> { [$"token_id:{id}"] = -0.01 }).ToArray(),
                }
                : null,
            ["finish_reason"] = finish,
            ["stop_reason"] = stopReason,
        };
        if (tokenIds)
        {
            choice["token_ids"] = ids;
            if (promptIds is not null)
            {
                choice["prompt_token_ids"] = promptIds;
            }
        }

        return JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["id"] = "cmpl-8f2c",
            ["object"] = "text_completion",
            ["created"] = 1754000000,
            ["model"] = Model,
            ["choices"] = new[] { choice },
        });
    }
}
