using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Tests.Support;
using Xunit.Abstractions;

namespace Acp.GptOss.Tests.Inference.Remote;

/// <summary>
/// The wire behaviour of the llama-server release tests/llama-server/build builds, which the remote engine's
/// llama-server dialect relies on: <c>POST /completion</c> with the prompt as token ids, streamed as server-sent
/// events, and the endpoints around it. Chain models make every answer exact.
/// </summary>
public sealed class LlamaServerProtocolTests(ITestOutputHelper output) : IAsyncLifetime
{
    private const string Hello = "<|channel|>final<|message|>Hello world<|return|>";
    private const string WeatherCall = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";

    private const int Return = 200002;
    private const int End = 200007;
    private const int Call = 200012;

    private readonly List<LlamaServer> _servers = [];
    private static readonly HttpClient s_client = new() { Timeout = ChildProcess.Timeout };

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (LlamaServer server in _servers)
        {
            output.WriteLine($"llama-server log ({server.BaseAddress}):\n{server.Log}");
            await server.DisposeAsync();
        }
    }

    [LlamaServerFact]
    public async Task Each_streamed_event_carries_one_generated_token_id_and_the_stop_token_comes_as_its_own_event()
    {
        LlamaServer server = await StartAsync(TestModels.Chain(Hello));
        int[] prompt = RawPrompts.Prompt("Hi");

        List<JsonElement> events = await StreamAsync(server, Completion(prompt, nPredict: 64));

        JsonElement last = events[^1];
        List<JsonElement> tokens = events[..^1];
        Assert.All(tokens, (e, i) =>
        {
            Assert.False(e.GetProperty("stop").GetBoolean());
            Assert.Equal(1, e.GetProperty("tokens").GetArrayLength());
            Assert.Equal(i + 1, e.GetProperty("tokens_predicted").GetInt32());
            Assert.Equal(prompt.Length, e.GetProperty("tokens_evaluated").GetInt32());
            // A token's event names no slot (-1) and has no timings; the final event has both.
            Assert.Equal(-1, e.GetProperty("id_slot").GetInt32());
            Assert.False(e.TryGetProperty("timings", out _));
        });
        Assert.Equal(RawPrompts.Tokenize(Hello), Ids(tokens));
        Assert.Equal(Return, Ids(tokens)[^1]);
        // The stop token's own event has no text: control tokens are not rendered without --special.
        Assert.Equal("", tokens[^1].GetProperty("content").GetString());
        // The gpt-oss markers are rendered: llama.cpp's vocabulary marks them user-defined for gpt-oss.
        Assert.Equal("<|channel|>final<|message|>Hello world", string.Concat(tokens.Select(e => e.GetProperty("content").GetString())));

        Assert.True(last.GetProperty("stop").GetBoolean());
        Assert.Equal("eos", last.GetProperty("stop_type").GetString());
        Assert.Equal(0, last.GetProperty("tokens").GetArrayLength());
        Assert.Equal("", last.GetProperty("content").GetString());
        Assert.Equal(tokens.Count, last.GetProperty("tokens_predicted").GetInt32());
        Assert.Equal(prompt.Length, last.GetProperty("tokens_evaluated").GetInt32());
        // The KV cache holds the prompt and every generated token but the last, which was sampled, never decoded.
        Assert.Equal(prompt.Length + tokens.Count - 1, last.GetProperty("tokens_cached").GetInt32());
        Assert.False(last.GetProperty("truncated").GetBoolean());
        JsonElement timings = last.GetProperty("timings");
        Assert.Equal(prompt.Length, timings.GetProperty("prompt_n").GetInt32());
        Assert.Equal(tokens.Count, timings.GetProperty("predicted_n").GetInt32());
        Assert.Equal(0, last.GetProperty("id_slot").GetInt32());
    }

    [LlamaServerFact]
    public async Task A_tool_call_ends_with_its_call_token_streamed_and_stop_type_eos()
    {
        LlamaServer server = await StartAsync(TestModels.Chain(WeatherCall));

        List<JsonElement> events = await StreamAsync(server, Completion(RawPrompts.Prompt("Weather in Paris?"), nPredict: 64));

        Assert.Equal(RawPrompts.Tokenize(WeatherCall), Ids(events));
        Assert.Equal(Call, Ids(events)[^1]);
        Assert.Equal("eos", events[^1].GetProperty("stop_type").GetString());
    }

    [LlamaServerFact]
    public async Task End_does_not_stop_generation_only_return_and_call_do()
    {
        // llama.cpp drops <|end|> from the end-of-generation tokens of a vocabulary that has <|return|> and <|call|>.
        const string Chain = "<|channel|>final<|message|>Hi<|end|>Bye<|return|>";
        LlamaServer server = await StartAsync(TestModels.Chain(Chain));

        List<JsonElement> events = await StreamAsync(server, Completion(RawPrompts.Prompt("Hi"), nPredict: 64));

        int[] ids = Ids(events);
        Assert.Equal(RawPrompts.Tokenize(Chain), ids);
        Assert.Contains(End, ids);
        Assert.Equal("eos", events[^1].GetProperty("stop_type").GetString());
        // <|end|> is rendered as text too: it is no longer a control token.
        Assert.Contains("<|end|>", string.Concat(events.Select(e => e.GetProperty("content").GetString())), StringComparison.Ordinal);
    }

    [LlamaServerFact]
    public async Task A_token_that_ends_inside_a_utf8_character_gets_no_event_of_its_own_and_its_id_is_not_streamed()
    {
        // o200k splits the llama emoji into three byte-level tokens; the first two end mid-character.
        const string Chain = "<|channel|>final<|message|>\U0001F999<|return|>";
        int[] emoji = RawPrompts.Tokenize("\U0001F999");
        Assert.Equal(3, emoji.Length);
        LlamaServer server = await StartAsync(TestModels.Chain(Chain));

        List<JsonElement> events = await StreamAsync(server, Completion(RawPrompts.Prompt("Hi"), nPredict: 64));

        // Streamed: <|channel|> final <|message|> and the emoji's last token, whose event brings the whole character;
        // tokens_predicted counts all, so a client sees the gap (and the final event's tokens are empty in a stream).
        JsonElement character = events.Single(e => e.GetProperty("content").GetString() == "\U0001F999");
        Assert.Equal([emoji[2]], character.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()));
        int[] expected = RawPrompts.Tokenize(Chain);
        Assert.Equal([.. expected[..3], emoji[2], Return], Ids(events));
        Assert.Equal(expected.Length, events[^1].GetProperty("tokens_predicted").GetInt32());
        Assert.Equal(6, character.GetProperty("tokens_predicted").GetInt32());
    }

    [LlamaServerFact]
    public async Task N_predict_cuts_generation_with_stop_type_limit()
    {
        LlamaServer server = await StartAsync(TestModels.Chain(Hello));

        List<JsonElement> events = await StreamAsync(server, Completion(RawPrompts.Prompt("Hi"), nPredict: 3));

        Assert.Equal(RawPrompts.Tokenize(Hello)[..3], Ids(events));
        Assert.Equal("limit", events[^1].GetProperty("stop_type").GetString());
        Assert.Equal(3, events[^1].GetProperty("tokens_predicted").GetInt32());
    }

    [LlamaServerFact]
    public async Task A_second_turn_reuses_only_the_prompt_up_to_its_last_checkpoint_by_default()
    {
        // gpt-oss has sliding-window layers, whose cache cannot be cut back: llama-server restores a checkpoint it took
        // while processing the previous prompt, a few tokens before its end, and processes the rest again.
        LlamaServer server = await StartAsync(TestModels.Chain(Hello));
        int[] prompt = RawPrompts.Prompt("Hi");
        int[] answer = Ids(await StreamAsync(server, Completion(prompt, nPredict: 64)));
        int[] next = [.. prompt, .. answer, .. RawPrompts.Tokenize("<|start|>user<|message|>Again<|end|><|start|>assistant")];

        JsonElement timings = (await StreamAsync(server, Completion(next, nPredict: 64)))[^1].GetProperty("timings");

        int cached = timings.GetProperty("cache_n").GetInt32();
        Assert.InRange(cached, 1, prompt.Length - 1);
        Assert.Equal(next.Length - cached, timings.GetProperty("prompt_n").GetInt32());
    }

    [LlamaServerFact]
    public async Task With_swa_full_a_second_turn_reuses_the_whole_previous_prompt_and_answer()
    {
        LlamaServer server = await StartAsync(TestModels.Chain(Hello), arguments: ["--swa-full"]);
        int[] prompt = RawPrompts.Prompt("Hi");
        int[] answer = Ids(await StreamAsync(server, Completion(prompt, nPredict: 64)));
        int[] next = [.. prompt, .. answer, .. RawPrompts.Tokenize("<|start|>user<|message|>Again<|end|><|start|>assistant")];

        JsonElement last = (await StreamAsync(server, Completion(next, nPredict: 64)))[^1];

        // Everything the first request decoded: its prompt and its answer but the stop token, sampled and never decoded.
        JsonElement timings = last.GetProperty("timings");
        Assert.Equal(prompt.Length + answer.Length - 1, timings.GetProperty("cache_n").GetInt32());
        Assert.Equal(next.Length - (prompt.Length + answer.Length - 1), timings.GetProperty("prompt_n").GetInt32());
        Assert.Equal(next.Length, last.GetProperty("tokens_evaluated").GetInt32());
    }

    [LlamaServerFact]
    public async Task Props_and_models_name_the_model_file_the_slot_context_and_the_build()
    {
        string model = TestModels.Chain(Hello);
        LlamaServer server = await StartAsync(model, contextSize: 2048, parallel: 2);

        JsonElement props = await GetJsonAsync(server, "props");
        JsonElement models = await GetJsonAsync(server, "v1/models");

        // -c is the whole KV cache: each of the --parallel slots gets its share.
        Assert.Equal(1024, props.GetProperty("default_generation_settings").GetProperty("n_ctx").GetInt32());
        Assert.Equal(2, props.GetProperty("total_slots").GetInt32());
        Assert.Equal(model, props.GetProperty("model_path").GetString());
        Assert.Equal("b1-de3ff81", props.GetProperty("build_info").GetString());
        JsonElement data = models.GetProperty("data").EnumerateArray().Single();
        Assert.Equal("list", models.GetProperty("object").GetString());
        // With no --alias the model's name is the path it was given.
        Assert.Equal(model, data.GetProperty("id").GetString());
        Assert.Equal(1024, data.GetProperty("meta").GetProperty("n_ctx").GetInt32());
        Assert.Equal(8192, data.GetProperty("meta").GetProperty("n_ctx_train").GetInt32());
        Assert.Equal(201088, data.GetProperty("meta").GetProperty("n_vocab").GetInt32());
    }

    [LlamaServerFact]
    public async Task Closing_the_stream_stops_the_generation_and_frees_the_slot()
    {
        // A chain whose last token follows itself: without a stop it generates until n_predict.
        const int Long = 6000;
        LlamaServer server = await StartAsync(TestModels.Chain("<|channel|>final<|message|> la"), contextSize: 8192);

        using (HttpResponseMessage response = await SendStreamAsync(server, Completion(RawPrompts.Prompt("Hi"), nPredict: Long)))
        {
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            for (int read = 0; read < 5;)
            {
                string? line = await reader.ReadLineAsync();
                Assert.NotNull(line);
                read += line.StartsWith("data: ", StringComparison.Ordinal) ? 1 : 0;
            }
        }

        // One slot: this request waits until the first has let it go, which it does when it finds its client gone.
        List<JsonElement> events = await StreamAsync(server, Completion(RawPrompts.Prompt("Hi"), nPredict: 4));
        Assert.Equal(4, Ids(events).Length);

        string metrics = await s_client.GetStringAsync(new Uri(server.BaseAddress, "metrics"));
        // A cancelled generation counts what it generated: at least the 5 read, far fewer than the 6000 asked for.
        double predicted = Metric(metrics, "llamacpp:tokens_predicted_total");
        Assert.InRange(predicted, 4 + 5, 4 + (Long / 2));
        JsonElement slot = (await GetJsonAsync(server, "slots")).EnumerateArray().Single();
        Assert.False(slot.GetProperty("is_processing").GetBoolean());
    }

    [LlamaServerFact]
    public async Task Bad_json_is_a_500_with_an_error_object()
    {
        LlamaServer server = await StartAsync(TestModels.Chain(Hello));

        using HttpResponseMessage response = await s_client.PostAsync(new Uri(server.BaseAddress, "completion"), new StringContent("{\"prompt\": [1, 2", Encoding.UTF8, "application/json"));
        string body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        JsonElement error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(500, error.GetProperty("code").GetInt32());
        Assert.Equal("server_error", error.GetProperty("type").GetString());
        Assert.Contains("parse error", error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [LlamaServerTheory]
    [InlineData("""{"prompt":[999999],"stream":true}""", "Prompt contains invalid tokens")]
    [InlineData("""{"stream":true}""", "key 'prompt' not found")]
    public async Task A_bad_request_is_a_400_invalid_request_error(string body, string message)
    {
        LlamaServer server = await StartAsync(TestModels.Chain(Hello));

        using HttpResponseMessage response = await SendStreamAsync(server, body);
        JsonElement error = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        Assert.Contains(message, error.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [LlamaServerFact]
    public async Task A_prompt_longer_than_the_slot_context_is_a_400_before_any_event()
    {
        LlamaServer server = await StartAsync(TestModels.Chain(Hello), contextSize: 256);
        int[] prompt = RawPrompts.Tokenize(RawPrompts.Words(300));

        using HttpResponseMessage response = await SendStreamAsync(server, Completion(prompt, nPredict: 8));
        string body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        JsonElement error = JsonDocument.Parse(body).RootElement.GetProperty("error");
        Assert.Equal(400, error.GetProperty("code").GetInt32());
        Assert.Equal("exceed_context_size_error", error.GetProperty("type").GetString());
        Assert.Equal(prompt.Length, error.GetProperty("n_prompt_tokens").GetInt32());
        Assert.Equal(256, error.GetProperty("n_ctx").GetInt32());
        Assert.Equal($"request ({prompt.Length} tokens) exceeds the available context size (256 tokens), try increasing it", error.GetProperty("message").GetString());
    }

    private async Task<LlamaServer> StartAsync(string model, int contextSize = 1024, int parallel = 1, string[]? arguments = null)
    {
        LlamaServer server = await LlamaServer.StartAsync(model, contextSize, parallel, arguments);
        _servers.Add(server);
        return server;
    }

    /// <summary>The request the llama-server dialect sends: token ids, streamed, greedy, raw ids back.</summary>
    private static string Completion(int[] prompt, int nPredict) => string.Create(CultureInfo.InvariantCulture,
        $$"""{"prompt":[{{string.Join(',', prompt)}}],"stream":true,"n_predict":{{nPredict}},"return_tokens":true,"temperature":0,"cache_prompt":true}""");

    private static async Task<HttpResponseMessage> SendStreamAsync(LlamaServer server, string body)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(server.BaseAddress, "completion"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/json"),
        };
        return await s_client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
    }

    /// <summary>Every event of a completion stream, in order; the stream ends when the server closes it, with no [DONE].</summary>
    private static async Task<List<JsonElement>> StreamAsync(LlamaServer server, string body)
    {
        using HttpResponseMessage response = await SendStreamAsync(server, body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        var events = new List<JsonElement>();
        while (await reader.ReadLineAsync() is { } line)
        {
            if (line.Length == 0)
            {
                continue;
            }

            Assert.StartsWith("data: ", line, StringComparison.Ordinal);
            events.Add(JsonDocument.Parse(line["data: ".Length..]).RootElement.Clone());
        }

        Assert.NotEmpty(events);
        Assert.True(events[^1].GetProperty("stop").GetBoolean());
        return events;
    }

    private static async Task<JsonElement> GetJsonAsync(LlamaServer server, string path)
    {
        string body = await s_client.GetStringAsync(new Uri(server.BaseAddress, path));
        return JsonDocument.Parse(body).RootElement.Clone();
    }

    private static int[] Ids(IEnumerable<JsonElement> events) =>
        [.. events.SelectMany(e => e.GetProperty("tokens").EnumerateArray().Select(t => t.GetInt32()))];

    private static double Metric(string metrics, string name) => double.Parse(
        metrics.Split('\n').Single(l => l.StartsWith(name + " ", StringComparison.Ordinal))[(name.Length + 1)..], CultureInfo.InvariantCulture);
}
