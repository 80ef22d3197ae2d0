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
/// The SGLang dialect against a fake that answers as SGLang's native API does: python/sglang/srt/entrypoints/http_server.py
/// (/get_model_info, /get_server_info, /v1/models, /generate streaming <c>data: {json}</c> then <c>data: [DONE]</c>,
/// errors as <c>{"error": {"message": ...}}</c>) and managers/tokenizer_manager.py (each event's <c>text</c>,
/// <c>output_ids</c> cumulative unless <c>--incremental-streaming-output</c>, and <c>meta_info</c> with
/// <c>finish_reason</c> {"type": "stop", "matched": id} | {"type": "length", ...} | {"type": "abort", "message": ...}).
/// </summary>
public sealed class SglangDialectTests
{
    private const string Model = "openai/gpt-oss-20b";

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Generate_sends_the_input_ids_and_fields_and_yields_each_id_once(bool incremental)
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Answer);
        FakeServingEngineStream stream = fake.Stream("generate");
        int[][] chunks = [.. Chunks(answer, 3)];
        int sent = 0;
        for (int i = 0; i < chunks.Length; i++)
        {
            sent += chunks[i].Length;
            int[] ids = incremental ? chunks[i] : answer[..sent];
            stream.Data(Event(ids, sent, i == chunks.Length - 1 ? """{"type":"stop","matched":200002}""" : "null"));
        }

        stream.Done().End();
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync();

        List<int> tokens = await CollectAsync(new SglangDialect().GenerateAsync(server, Info(), request, CancellationToken.None));

        Assert.Equal(answer, tokens);
        Assert.Equal("stop", request.Usage.StopReason);
        Assert.Equal(12, request.Usage.CachedTokens);
        JsonElement body = Assert.Single(fake.Posts("generate")).Json;
        Assert.Equal(request.Prompt.ToArray(), body.GetProperty("input_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(body.GetProperty("stream").GetBoolean());
        JsonElement sampling = body.GetProperty("sampling_params");
        Assert.Equal(256, sampling.GetProperty("max_new_tokens").GetInt32());
        Assert.Equal(0.5, sampling.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.9, sampling.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(HarmonySpecialTokens.O200kHarmony.SamplingStops.ToArray(), sampling.GetProperty("stop_token_ids").EnumerateArray().Select(e => e.GetInt32()));
        Assert.False(sampling.GetProperty("skip_special_tokens").GetBoolean());
        Assert.True(sampling.GetProperty("no_stop_trim").GetBoolean());
        Assert.Equal(7, sampling.GetProperty("sampling_seed").GetInt32());
    }

    [Fact]
    public async Task Generate_sends_no_seed_unless_asked()
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Answer);
        fake.Stream("generate").Data(Event(answer, answer.Length, """{"type":"stop","matched":200002}""")).Done().End();
        using RemoteServer server = Server(fake);

        await CollectAsync(new SglangDialect().GenerateAsync(server, Info(), await RequestAsync(seed: null), CancellationToken.None));

        Assert.False(Assert.Single(fake.Posts("generate")).Json.GetProperty("sampling_params").TryGetProperty("sampling_seed", out _));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Generate_puts_back_a_stop_token_the_server_trimmed(bool incremental)
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Call);
        int[] body = answer[..^1];
        fake.Stream("generate")
            .Data(Event(body[..5], 5, "null"))
            .Data(Event(incremental ? body[5..] : body, answer.Length, """{"type":"stop","matched":200012}"""))
            .Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new SglangDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None));

        Assert.Equal(answer, tokens);
    }

    [Fact]
    public async Task Generate_ends_without_a_stop_token_at_the_length_limit()
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Answer);
        fake.Stream("generate").Data(Event(answer[..4], 4, "null")).Data(Event(answer[..8], 8, """{"type":"length","length":8}""")).Done().End();
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync();

        List<int> tokens = await CollectAsync(new SglangDialect().GenerateAsync(server, Info(), request, CancellationToken.None));

        Assert.Equal(answer[..8], tokens);
        Assert.Equal("length", request.Usage.StopReason);
    }

    [Fact]
    public async Task Generate_fails_with_the_servers_message_on_an_error_status()
    {
        var fake = Sglang();
        fake.Fail("generate", HttpStatusCode.BadRequest,
            """{"error":{"message":"The input (140000 tokens) is longer than the model's context length (131072 tokens)."}}""");
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync();

        var e = await Assert.ThrowsAsync<RemoteRequestException>(() => CollectAsync(new SglangDialect().GenerateAsync(server, Info(), request, CancellationToken.None)));

        Assert.Contains("http://gpu-box:8000/", e.Message, StringComparison.Ordinal);
        Assert.Contains("400", e.Message, StringComparison.Ordinal);
        Assert.Contains("longer than the model's context length", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_fails_on_an_error_event_inside_the_stream()
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Answer);
        fake.Stream("generate").Data(Event(answer[..3], 3, "null")).Data("""{"error":{"message":"Scheduler died"}}""").Done().End();
        using RemoteServer server = Server(fake);
        var tokens = new List<int>();

        var e = await Assert.ThrowsAsync<InferenceException>(async () =>
        {
            await foreach (int token in new SglangDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None))
            {
                tokens.Add(token);
            }
        });

        Assert.Equal(answer[..3], tokens);
        Assert.Contains("Scheduler died", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_fails_when_the_server_aborts_the_request()
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Answer);
        fake.Stream("generate")
            .Data(Event(answer[..3], 3, """{"type":"abort","message":"Request aborted: KV cache is full","status_code":503,"err_type":null}"""))
            .Done().End();
        using RemoteServer server = Server(fake);

        var e = await Assert.ThrowsAsync<InferenceException>(async () => await CollectAsync(new SglangDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None)));

        Assert.Contains("KV cache is full", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Generate_fails_when_the_stream_ends_before_a_finish_reason(bool done)
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Answer);
        FakeServingEngineStream stream = fake.Stream("generate").Data(Event(answer[..4], 4, "null"));
        if (done)
        {
            stream.Done();
        }

        stream.End();
        using RemoteServer server = Server(fake);

        var e = await Assert.ThrowsAsync<InferenceException>(async () => await CollectAsync(new SglangDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None)));

        Assert.Contains("closed the stream before the completion ended", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_and_closes_the_response()
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Answer);
        FakeServingEngineStream stream = fake.Stream("generate").Data(Event(answer[..2], 2, "null"));
        using RemoteServer server = Server(fake);

        await AssertCancelClosesTheResponseAsync(new SglangDialect(), Info(), server, stream);
    }

    [Fact]
    public async Task Probe_reads_the_model_its_context_and_the_version()
    {
        using RemoteServer server = Server(Sglang());

        RemoteModelInfo info = await new SglangDialect().ProbeAsync(server, null, CancellationToken.None);

        Assert.Equal(new RemoteModelInfo(RemoteKind.Sglang, Model, 131072, "SGLang 0.5.2"), info);
    }

    [Theory]
    [InlineData(Model)]
    [InlineData("gpt-oss-20b")]
    public async Task Probe_takes_the_model_by_its_served_name_or_path(string model)
    {
        using RemoteServer server = Server(Sglang());

        RemoteModelInfo info = await new SglangDialect().ProbeAsync(server, model, CancellationToken.None);

        Assert.Equal(Model, info.Model);
    }

    [Fact]
    public async Task Probe_of_a_model_not_served_names_the_served_one()
    {
        using RemoteServer server = Server(Sglang());

        var e = await Assert.ThrowsAsync<InferenceException>(() => new SglangDialect().ProbeAsync(server, "openai/gpt-oss-120b", CancellationToken.None));

        Assert.Contains($"serves {Model}, not openai/gpt-oss-120b", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_of_another_server_says_it_is_not_sglang()
    {
        using RemoteServer server = Server(VllmDialectTests.Vllm());

        var e = await Assert.ThrowsAsync<InferenceException>(() => new SglangDialect().ProbeAsync(server, null, CancellationToken.None));

        Assert.Contains("not SGLang", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Detection_tells_sglang_from_vllm_and_llama_server()
    {
        var dialect = new SglangDialect();
        using RemoteServer sglang = Server(Sglang());
        using RemoteServer vllm = Server(VllmDialectTests.Vllm());
        using RemoteServer llama = Server(new FakeServingEngine().Get("props", """{"default_generation_settings":{"n_ctx":8192}}"""));

        Assert.True(await dialect.IsServedByAsync(sglang, CancellationToken.None));
        Assert.False(await dialect.IsServedByAsync(vllm, CancellationToken.None));
        Assert.False(await dialect.IsServedByAsync(llama, CancellationToken.None));
        Assert.False(await new VllmDialect().IsServedByAsync(sglang, CancellationToken.None));
        Assert.False(await new LlamaServerDialect().IsServedByAsync(sglang, CancellationToken.None));
    }

    [Fact]
    public async Task The_engine_detects_sglang_and_generates_through_it()
    {
        var fake = Sglang();
        int[] answer = await IdsAsync(Call);
        fake.Stream("generate").Data(Event(answer, answer.Length, """{"type":"stop","matched":200012}""")).Done().End();
        await using RemoteInferenceEngine engine = RemoteInferenceEngine.Start(
            new RemoteEngineOptions { Endpoint = new Uri("http://gpu-box:8000/") }, new Telemetry(NullLogger.Instance), NullLoggerFactory.Instance, handler: fake);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);

        List<int> tokens = await CollectAsync(session.GenerateAsync(
            (await RequestAsync()).Prompt, new GenerationOptions(128, HarmonySpecialTokens.O200kHarmony.SamplingStops.ToArray()), CancellationToken.None));

        Assert.Equal(answer, tokens);
        Assert.Equal(131072, session.ContextSize);
        Assert.Contains("sglang", engine.Description, StringComparison.Ordinal);
    }

    /// <summary>An SGLang 0.5 server serving gpt-oss-20b.</summary>
    internal static FakeServingEngine Sglang() => new FakeServingEngine()
        .Get("get_model_info", $$"""{"model_path":"{{Model}}","tokenizer_path":"{{Model}}","is_generation":true,"preferred_sampling_params":null,"weight_version":"default"}""")
        .Get("get_server_info", $$"""{"model_path":"{{Model}}","context_length":null,"max_total_num_tokens":1048576,"max_req_input_len":131066,"internal_states":[{}],"version":"0.5.2"}""")
        .Get("v1/models", $$"""{"object":"list","data":[{"id":"{{Model}}","object":"model","created":1754000000,"owned_by":"sglang","root":"{{Model}}","max_model_len":131072}]}""")
        .Get("health", "");

    private static RemoteModelInfo Info() => new(RemoteKind.Sglang, Model, 131072, "SGLang 0.5.2");

    // One streamed event of /generate: the text (left out here), output_ids and meta_info.
    private static string Event(int[] ids, int completionTokens, string finishReason) =>
        $$$"""{"text":"…","output_ids":[{{{string.Join(',', ids)}}}],"meta_info":{"id":"9c1f","finish_reason":{{{finishReason}}},"prompt_tokens":20,"weight_version":"default","completion_tokens":{{{completionTokens}}},"cached_tokens":12,"e2e_latency":0.05}}""";
}
