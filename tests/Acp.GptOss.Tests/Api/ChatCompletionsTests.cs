using System.Net;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Completions;
using Acp.GptOss.Inference;
using Acp.GptOss.Relay;
using Acp.GptOss.Tests.Support;
using Harmony;

namespace Acp.GptOss.Tests.Api;

/// <summary>The OpenAI-compatible API over HTTP, on a fake engine whose completions are exact.</summary>
public sealed class ChatCompletionsTests : IAsyncLifetime
{
    private const string Answer = "<|channel|>analysis<|message|>The user asks about Paris.<|end|><|start|>assistant<|channel|>final<|message|>Sunny, 21 °C.<|return|>";
    private const string WeatherCall = "<|channel|>analysis<|message|>Need the weather.<|end|>"
        + "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";

    private const string Question = """{"role":"user","content":"Weather in Paris?"}""";
    private const string WeatherTool = """{"type":"function","function":{"name":"get_weather","description":"Gets the weather.","parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}""";

    private readonly List<ApiServer> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (ApiServer server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_chat_completion_has_the_final_text_in_content_the_analysis_in_reasoning_content_and_usage()
    {
        var engine = new FakeEngine(Answer);
        ApiServer api = await StartAsync(engine);

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","messages":[{{Question}}]}""");
        JsonElement body = await JsonAsync(response);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("chat.completion", body.GetProperty("object").GetString());
        Assert.StartsWith("chatcmpl-", body.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("gpt-oss", body.GetProperty("model").GetString());
        JsonElement choice = body.GetProperty("choices").EnumerateArray().Single();
        Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
        Assert.Equal("assistant", choice.GetProperty("message").GetProperty("role").GetString());
        Assert.Equal("Sunny, 21 °C.", choice.GetProperty("message").GetProperty("content").GetString());
        Assert.Equal("The user asks about Paris.", choice.GetProperty("message").GetProperty("reasoning_content").GetString());
        JsonElement usage = body.GetProperty("usage");
        Assert.Equal(engine.PromptTokens.Single().Length, usage.GetProperty("prompt_tokens").GetInt32());
        Assert.Equal(Tokens(Answer), usage.GetProperty("completion_tokens").GetInt32());
        Assert.Equal(engine.PromptTokens.Single().Length + Tokens(Answer), usage.GetProperty("total_tokens").GetInt32());
        Assert.Equal(CompletionFinishReason.Stop, await api.NextGenerationEndAsync());
    }

    [Fact]
    public async Task Messages_render_to_harmony_with_system_as_instructions_and_the_reasoning_effort_asked()
    {
        var engine = new FakeEngine(Answer);
        ApiServer api = await StartAsync(engine);

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions",
            $$"""{"model":"gpt-oss","reasoning_effort":"high","messages":[{"role":"system","content":"Be brief."},{"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        string prompt = engine.Prompts.Single();
        Assert.StartsWith("<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\nKnowledge cutoff: 2024-06\nCurrent date: 2026-01-02\n\nReasoning: high\n", prompt, StringComparison.Ordinal);
        Assert.EndsWith("<|end|><|start|>developer<|message|># Instructions\n\nBe brief.<|end|><|start|>user<|message|>Hi there<|end|><|start|>assistant", prompt, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stream_is_server_sent_chunks_ending_with_usage_and_done()
    {
        ApiServer api = await StartAsync(new FakeEngine(Answer));

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions",
            $$"""{"model":"gpt-oss","stream":true,"stream_options":{"include_usage":true},"messages":[{{Question}}]}""");
        List<string> events = await EventsAsync(response);

        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("[DONE]", events[^1]);
        JsonElement[] chunks = [.. events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement)];
        Assert.All(chunks, c => Assert.Equal("chat.completion.chunk", c.GetProperty("object").GetString()));
        Assert.Single(chunks.Select(c => c.GetProperty("id").GetString()).Distinct());
        Assert.Equal("assistant", chunks[0].GetProperty("choices")[0].GetProperty("delta").GetProperty("role").GetString());
        Assert.Equal("Sunny, 21 °C.", Deltas(chunks, "content"));
        Assert.Equal("The user asks about Paris.", Deltas(chunks, "reasoning_content"));
        Assert.Equal("stop", chunks[^2].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Empty(chunks[^1].GetProperty("choices").EnumerateArray());
        Assert.Equal(Tokens(Answer), chunks[^1].GetProperty("usage").GetProperty("completion_tokens").GetInt32());
        Assert.True(chunks.Length > 10, "The answer came in one piece rather than streamed.");
    }

    [Fact]
    public async Task Tools_go_in_a_call_comes_out_as_tool_calls_and_its_result_goes_back_into_the_prompt()
    {
        var engine = new FakeEngine(WeatherCall, "<|channel|>final<|message|>It is 21 °C in Paris.<|return|>");
        ApiServer api = await StartAsync(engine);

        using HttpResponseMessage first = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","tools":[{{WeatherTool}}],"messages":[{{Question}}]}""");
        JsonElement choice = (await JsonAsync(first)).GetProperty("choices")[0];
        JsonElement call = choice.GetProperty("message").GetProperty("tool_calls").EnumerateArray().Single();
        string id = call.GetProperty("id").GetString()!;
        using HttpResponseMessage second = await api.PostAsync("/v1/chat/completions", $$$"""
            {"model":"gpt-oss","tools":[{{{WeatherTool}}}],"messages":[{{{Question}}},
              {"role":"assistant","content":null,"tool_calls":[{"id":"{{{id}}}","type":"function","function":{"name":"get_weather","arguments":"{\"city\":\"Paris\"}"}}]},
              {"role":"tool","tool_call_id":"{{{id}}}","content":"{\"temperature\":21}"}]}
            """);
        JsonElement answer = (await JsonAsync(second)).GetProperty("choices")[0];

        Assert.Equal("tool_calls", choice.GetProperty("finish_reason").GetString());
        Assert.Equal(JsonValueKind.Null, choice.GetProperty("message").GetProperty("content").ValueKind);
        Assert.Equal("function", call.GetProperty("type").GetString());
        Assert.Equal("get_weather", call.GetProperty("function").GetProperty("name").GetString());
        Assert.Equal("{\"city\":\"Paris\"}", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Contains("type get_weather = (_: {", engine.Prompts[0], StringComparison.Ordinal);
        Assert.EndsWith(
            "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>"
            + "<|start|>functions.get_weather to=assistant<|channel|>commentary<|message|>{\"temperature\":21}<|end|><|start|>assistant",
            engine.Prompts[1], StringComparison.Ordinal);
        Assert.Equal("stop", answer.GetProperty("finish_reason").GetString());
        Assert.Equal("It is 21 °C in Paris.", answer.GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_streamed_tool_call_is_one_delta_with_index_id_name_and_arguments()
    {
        ApiServer api = await StartAsync(new FakeEngine(WeatherCall));

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions",
            $$"""{"model":"gpt-oss","stream":true,"tools":[{{WeatherTool}}],"messages":[{{Question}}]}""");
        JsonElement[] chunks = [.. (await EventsAsync(response)).SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement)];

        JsonElement call = chunks.Select(c => c.GetProperty("choices")[0].GetProperty("delta"))
            .Where(d => d.TryGetProperty("tool_calls", out _)).Single().GetProperty("tool_calls").EnumerateArray().Single();
        Assert.Equal(0, call.GetProperty("index").GetInt32());
        Assert.StartsWith("call_", call.GetProperty("id").GetString(), StringComparison.Ordinal);
        Assert.Equal("{\"city\":\"Paris\"}", call.GetProperty("function").GetProperty("arguments").GetString());
        Assert.Equal("tool_calls", chunks[^1].GetProperty("choices")[0].GetProperty("finish_reason").GetString());
    }

    [Fact]
    public async Task Max_tokens_cuts_the_answer_with_length_and_stop_ends_it_before_the_sequence()
    {
        ApiServer api = await StartAsync(new FakeEngine("<|channel|>final<|message|>one, two, three<|return|>"));

        using HttpResponseMessage cut = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","max_tokens":10,"messages":[{{Question}}]}""");
        using HttpResponseMessage stopped = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","stop":[", t"],"messages":[{{Question}}]}""");

        JsonElement cutChoice = (await JsonAsync(cut)).GetProperty("choices")[0];
        Assert.Equal("length", cutChoice.GetProperty("finish_reason").GetString());
        Assert.Equal("one", cutChoice.GetProperty("message").GetProperty("content").GetString());
        JsonElement stoppedChoice = (await JsonAsync(stopped)).GetProperty("choices")[0];
        Assert.Equal("stop", stoppedChoice.GetProperty("finish_reason").GetString());
        Assert.Equal("one", stoppedChoice.GetProperty("message").GetProperty("content").GetString());
    }

    [Fact]
    public async Task A_raw_completion_takes_harmony_the_caller_rendered_and_answers_with_literal_spellings()
    {
        const string Completion = "<|channel|>final<|message|>Hi!<|return|>";
        var engine = new FakeEngine(Completion);
        ApiServer api = await StartAsync(engine);

        using HttpResponseMessage whole = await api.PostAsync("/v1/completions", """{"model":"gpt-oss","prompt":"<|start|>user<|message|>Hi<|end|><|start|>assistant"}""");
        using HttpResponseMessage streamed = await api.PostAsync("/v1/completions", """{"model":"gpt-oss","stream":true,"prompt":"<|start|>user<|message|>Hi<|end|><|start|>assistant"}""");

        JsonElement body = await JsonAsync(whole);
        Assert.Equal("text_completion", body.GetProperty("object").GetString());
        Assert.Equal(Completion, body.GetProperty("choices")[0].GetProperty("text").GetString());
        Assert.Equal("stop", body.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
        Assert.Equal("<|start|>user<|message|>Hi<|end|><|start|>assistant", engine.Prompts[0]);
        Assert.Equal(HarmonySpecialTokens.O200kHarmony.Start, engine.PromptTokens[0][0]);
        List<string> events = await EventsAsync(streamed);
        Assert.Equal("[DONE]", events[^1]);
        Assert.Equal(Completion, string.Concat(events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement.GetProperty("choices")[0].GetProperty("text").GetString())));
    }

    [Theory]
    [InlineData("{}", 400, "model", null)]
    [InlineData("""{"model":"gpt-oss"}""", 400, "messages", null)]
    [InlineData("""{"model":"gpt-oss","messages":[]}""", 400, "messages", null)]
    [InlineData("""{"model":"gpt-oss","temperature":3,"messages":[{"role":"user","content":"x"}]}""", 400, "temperature", null)]
    [InlineData("""{"model":"gpt-oss","top_p":0,"messages":[{"role":"user","content":"x"}]}""", 400, "top_p", null)]
    [InlineData("""{"model":"gpt-oss","max_tokens":0,"messages":[{"role":"user","content":"x"}]}""", 400, "max_tokens", null)]
    [InlineData("""{"model":"gpt-oss","n":2,"messages":[{"role":"user","content":"x"}]}""", 400, "n", null)]
    [InlineData("""{"model":"gpt-oss","reasoning_effort":"extreme","messages":[{"role":"user","content":"x"}]}""", 400, "reasoning_effort", null)]
    [InlineData("""{"model":"gpt-oss","stop":["a","b","c","d","e"],"messages":[{"role":"user","content":"x"}]}""", 400, "stop", null)]
    [InlineData("""{"model":"gpt-oss","messages":[{"role":"wizard","content":"x"}]}""", 400, "messages[0].role", null)]
    [InlineData("""{"model":"gpt-oss","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"x"}}]}]}""", 400, "messages[0].content[0].type", null)]
    [InlineData("""{"model":"gpt-oss","messages":[{"role":"user","content":"x"},{"role":"tool","tool_call_id":"call_nope","content":"1"}]}""", 400, "messages[1].tool_call_id", null)]
    [InlineData("""{"model":"gpt-oss","tools":[{"type":"retrieval"}],"messages":[{"role":"user","content":"x"}]}""", 400, "tools[0].type", null)]
    [InlineData("not json", 400, null, null)]
    [InlineData("""{"model":"gpt-5","messages":[{"role":"user","content":"x"}]}""", 404, "model", "model_not_found")]
    public async Task Bad_requests_get_openai_errors_naming_the_field(string body, int status, string? param, string? code)
    {
        var engine = new FakeEngine(Answer);
        ApiServer api = await StartAsync(engine);

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions", body);
        JsonElement error = (await JsonAsync(response)).GetProperty("error");

        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Equal(param, error.GetProperty("param").GetString());
        Assert.Equal(code, error.GetProperty("code").GetString());
        Assert.False(string.IsNullOrWhiteSpace(error.GetProperty("message").GetString()));
        Assert.Empty(engine.Prompts);
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer wrong")]
    public async Task Without_the_token_every_endpoint_answers_401_in_openai_s_shape(string? authorization)
    {
        ApiServer api = await StartAsync(new FakeEngine(Answer));
        using var client = new HttpClient();
        foreach (string path in new[] { "/v1/models", "/metrics" })
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(api.Address, path));
            if (authorization is not null)
            {
                request.Headers.TryAddWithoutValidation("Authorization", authorization);
            }

            using HttpResponseMessage response = await client.SendAsync(request);

            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Equal("Bearer", response.Headers.WwwAuthenticate.Single().Scheme);
            Assert.Equal("invalid_api_key", (await JsonAsync(response)).GetProperty("error").GetProperty("code").GetString());
        }
    }

    [Fact]
    public async Task A_body_over_the_size_limit_gets_413()
    {
        var engine = new FakeEngine(Answer);
        ApiServer api = await StartAsync(engine, o => o with { Api = o.Api with { MaxRequestBytes = 2048 } });

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions",
            $$"""{"model":"gpt-oss","messages":[{"role":"user","content":"{{new string('x', 4096)}}"}]}""");

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("request_too_large", (await JsonAsync(response)).GetProperty("error").GetProperty("code").GetString());
        Assert.Empty(engine.Prompts);
    }

    [Fact]
    public async Task A_prompt_longer_than_the_context_is_a_400_and_the_model_is_not_run()
    {
        var engine = new FakeEngine(Answer) { ContextSize = 64 };
        ApiServer api = await StartAsync(engine);

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","messages":[{{Question}}]}""");
        JsonElement error = (await JsonAsync(response)).GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("context_length_exceeded", error.GetProperty("code").GetString());
        Assert.Equal("messages", error.GetProperty("param").GetString());
        Assert.Empty(engine.Prompts);
    }

    [Fact]
    public async Task While_the_model_loads_a_client_that_will_not_wait_gets_503_with_retry_after_and_the_load_starts()
    {
        var model = new LoadingModel();
        ApiServer api = await StartAsync(new EngineWithModel(new FakeEngine(Answer), model));

        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(api.Address, "/v1/chat/completions"))
        {
            Content = new StringContent($$"""{"model":"gpt-oss","messages":[{{Question}}]}""", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("Prefer", "wait=0");
        using HttpResponseMessage response = await api.Http.SendAsync(request);
        JsonElement error = (await JsonAsync(response)).GetProperty("error");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("model_loading", error.GetProperty("code").GetString());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Equal(TimeSpan.FromSeconds(5), response.Headers.RetryAfter?.Delta);
        Assert.Equal(1, model.StartLoadingCalls);
        string metrics = await api.MetricsAsync();
        Assert.Contains("acp_gptoss_model_state{model=\"gpt-oss\",state=\"loading\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("acp_gptoss_api_requests_total{endpoint=\"/v1/chat/completions\",status=\"503\"} 1", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_model_a_completion_is_a_503_that_says_why()
    {
        ApiServer api = await StartAsync(new UnavailableInferenceEngine());

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","messages":[{{Question}}]}""");
        JsonElement error = (await JsonAsync(response)).GetProperty("error");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal("model_unavailable", error.GetProperty("code").GetString());
        Assert.Contains("No model is configured", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unknown_endpoints_are_404_and_wrong_methods_405_in_openai_s_shape()
    {
        ApiServer api = await StartAsync(new FakeEngine(Answer));

        using HttpResponseMessage unknown = await api.PostAsync("/v1/embeddings", "{}");
        using HttpResponseMessage wrongMethod = await api.Http.GetAsync(new Uri(api.Address, "/v1/chat/completions"));

        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        Assert.Equal("unknown_url", (await JsonAsync(unknown)).GetProperty("error").GetProperty("code").GetString());
        Assert.Equal(HttpStatusCode.MethodNotAllowed, wrongMethod.StatusCode);
    }

    [Fact]
    public async Task A_page_from_a_foreign_origin_is_refused_and_an_allowed_one_gets_cors_and_its_preflight()
    {
        ApiServer api = await StartAsync(new FakeEngine(Answer), o => o with { AllowedOrigins = ["https://editor.example"] });

        using var foreign = new HttpRequestMessage(HttpMethod.Get, new Uri(api.Address, "/v1/models"));
        foreign.Headers.Add("Origin", "https://evil.example");
        using HttpResponseMessage refused = await api.Http.SendAsync(foreign);
        using var preflight = new HttpRequestMessage(HttpMethod.Options, new Uri(api.Address, "/v1/chat/completions"));
        preflight.Headers.Add("Origin", "https://editor.example");
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        using var noToken = new HttpClient();
        using HttpResponseMessage allowed = await noToken.SendAsync(preflight);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, allowed.StatusCode);
        Assert.Equal("https://editor.example", allowed.Headers.GetValues("Access-Control-Allow-Origin").Single());
        Assert.Contains("authorization", allowed.Headers.GetValues("Access-Control-Allow-Headers").Single(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_client_that_disconnects_mid_stream_cancels_its_generation_in_the_engine()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>Hello, this answer goes on and on and on.<|return|>");
        Task held = engine.HoldFirstCallAt(12);
        ApiServer api = await StartAsync(engine);

        HttpResponseMessage response = await api.PostAsync("/v1/chat/completions",
            $$"""{"model":"gpt-oss","stream":true,"messages":[{{Question}}]}""", HttpCompletionOption.ResponseHeadersRead);
        await held;
        Stream stream = await response.Content.ReadAsStreamAsync();
        byte[] buffer = new byte[64];
        Assert.True(await stream.ReadAsync(buffer) > 0);
        // Going away: the engine's hold only ends when the generation's token is cancelled.
        response.Dispose();

        Assert.Equal(CompletionFinishReason.Cancelled, await api.NextGenerationEndAsync());
        string metrics = await api.MetricsAsync();
        Assert.Contains("acp_gptoss_api_generations_total{finish_reason=\"cancelled\"} 1", metrics, StringComparison.Ordinal);
        Assert.Contains("acp_gptoss_api_generations_running 0", metrics, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Requests_at_once_wait_their_turn_for_the_one_session_and_each_gets_a_whole_answer()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>First.<|return|>", "<|channel|>final<|message|>Second.<|return|>", "<|channel|>final<|message|>Third.<|return|>");
        ApiServer api = await StartAsync(engine);

        HttpResponseMessage[] responses = await Task.WhenAll(Enumerable.Range(0, 3).Select(_ =>
            api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","stream":true,"messages":[{{Question}}]}""")));
        string[] answers = await Task.WhenAll(responses.Select(async r =>
        {
            List<string> events = await EventsAsync(r);
            Assert.Equal("[DONE]", events[^1]);
            return Deltas([.. events.SkipLast(1).Select(e => JsonDocument.Parse(e).RootElement)], "content");
        }));

        // One session served them in turn: the fake plays its rounds in order, whichever request came first.
        Assert.Equal(["First.", "Second.", "Third."], answers.Order(StringComparer.Ordinal));
        Assert.Equal(3, engine.Prompts.Count);
        Assert.Contains("acp_gptoss_api_generations_total{finish_reason=\"stop\"} 3\n", await api.MetricsAsync(), StringComparison.Ordinal);
        foreach (HttpResponseMessage response in responses)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task Models_lists_the_served_model_with_its_state_and_the_others_found_on_disk()
    {
        ApiServer api = await StartAsync(
            new EngineWithModel(new FakeEngine(Answer), new LoadingModel()),
            o => o with { Api = o.Api with { DiscoverModels = () => ["/models/gpt-oss-120b-mxfp4.gguf", LoadingModel.FilePath] } });

        JsonElement list = JsonDocument.Parse(await api.Http.GetStringAsync(new Uri(api.Address, "/v1/models"))).RootElement;

        Assert.Equal("list", list.GetProperty("object").GetString());
        JsonElement[] data = [.. list.GetProperty("data").EnumerateArray()];
        Assert.Equal(["gpt-oss", "gpt-oss-120b-mxfp4"], data.Select(d => d.GetProperty("id").GetString()));
        Assert.Equal(["loading", "available"], data.Select(d => d.GetProperty("state").GetString()));
        Assert.Equal("gpt-oss-20b", data[0].GetProperty("aliases")[0].GetString());
        Assert.All(data, d => Assert.Equal("model", d.GetProperty("object").GetString()));
    }

    [Fact]
    public async Task The_served_model_answers_to_its_file_name_too()
    {
        ApiServer api = await StartAsync(new EngineWithModel(new FakeEngine(Answer), new LoadingModel { State = ModelState.Ready }));

        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss-20b","messages":[{{Question}}]}""");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("gpt-oss-20b", (await JsonAsync(response)).GetProperty("model").GetString());
    }

    [Fact]
    public async Task Metrics_count_requests_tokens_and_time_to_first_token_in_prometheus_text()
    {
        ApiServer api = await StartAsync(new FakeEngine(Answer));
        using HttpResponseMessage response = await api.PostAsync("/v1/chat/completions", $$"""{"model":"gpt-oss","messages":[{{Question}}]}""");
        int prompt = (await JsonAsync(response)).GetProperty("usage").GetProperty("prompt_tokens").GetInt32();

        using HttpResponseMessage metrics = await api.Http.GetAsync(new Uri(api.Address, "/metrics"));
        string text = await metrics.Content.ReadAsStringAsync();

        Assert.Equal("text/plain", metrics.Content.Headers.ContentType?.MediaType);
        Assert.Contains("acp_gptoss_api_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains("acp_gptoss_api_generations_total{finish_reason=\"stop\"} 1\n", text, StringComparison.Ordinal);
        Assert.Contains($"acp_gptoss_api_prompt_tokens_total {prompt}\n", text, StringComparison.Ordinal);
        Assert.Contains($"acp_gptoss_api_completion_tokens_total {Tokens(Answer)}\n", text, StringComparison.Ordinal);
        Assert.Contains("acp_gptoss_api_time_to_first_token_seconds_count 1\n", text, StringComparison.Ordinal);
        Assert.Contains("# TYPE acp_gptoss_api_time_to_first_token_seconds histogram\n", text, StringComparison.Ordinal);
        Assert.All(text.Split('\n', StringSplitOptions.RemoveEmptyEntries), line =>
            Assert.Matches(@"^(# (HELP|TYPE) \w+ .+|\w+(\{[^}]*\})? [-+0-9.eE]+|\w+(\{[^}]*\})? \+Inf)$", line));
    }

    private async Task<ApiServer> StartAsync(IInferenceEngine engine, Func<RelayOptions, RelayOptions>? configure = null)
    {
        ApiServer server = await ApiServer.StartAsync(engine, configure);
        _servers.Add(server);
        return server;
    }

    private static int Tokens(string literal)
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize(literal, O200kByteTokenizer.Instance, tokens);
        return tokens.Count;
    }

    private static async Task<JsonElement> JsonAsync(HttpResponseMessage response) =>
        JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;

    /// <summary>The data of each server-sent event, checking the framing: every event is one <c>data:</c> line and a blank line.</summary>
    internal static async Task<List<string>> EventsAsync(HttpResponseMessage response)
    {
        string text = await response.Content.ReadAsStringAsync();
        Assert.EndsWith("\n\n", text, StringComparison.Ordinal);
        var events = new List<string>();
        foreach (string block in text[..^2].Split("\n\n"))
        {
            Assert.StartsWith("data: ", block, StringComparison.Ordinal);
            Assert.DoesNotContain('\n', block);
            events.Add(block["data: ".Length..]);
        }

        return events;
    }

    private static string Deltas(JsonElement[] chunks, string field) => string.Concat(chunks
        .SelectMany(c => c.GetProperty("choices").EnumerateArray())
        .Select(c => c.GetProperty("delta").TryGetProperty(field, out JsonElement v) ? v.GetString() : ""));

    /// <summary>A GPT-OSS model file that is loading and never finishes by itself.</summary>
    private sealed class LoadingModel : IModel
    {
        public const string FilePath = "/models/gpt-oss-20b.gguf";

        public int StartLoadingCalls { get; private set; }

        public ModelRole Role => ModelRole.GptOss;

        public ModelState State { get; init; } = ModelState.Loading;

        public ModelStatus GetStatus() => new(Role, State, FilePath) { LoadProgress = 0.4 };

        public void StartLoading() => StartLoadingCalls++;

        public Task LoadAsync(CancellationToken cancellationToken) => Task.Delay(Timeout.Infinite, cancellationToken);

        public Task UnloadAsync() => Task.CompletedTask;
    }

    /// <summary>An engine that reports a model of its own, for state and names.</summary>
    private sealed class EngineWithModel(IInferenceEngine inner, IModel model) : IInferenceEngine
    {
        public string Description => inner.Description;

        public IReadOnlyList<IModel> Models => [model];

        public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => inner.CreateSessionAsync(cancellationToken);

        public ValueTask DisposeAsync() => inner.DisposeAsync();
    }
}
