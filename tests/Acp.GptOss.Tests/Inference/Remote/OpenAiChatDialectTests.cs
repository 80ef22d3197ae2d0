using System.Net;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Remote;
using Acp.GptOss.Tests.Support;
using Harmony;
using Harmony.Conversations;
using Harmony.Parsing;
using Microsoft.Extensions.Logging.Abstractions;
using static Acp.GptOss.Tests.Support.FakeServingEngineKit;

namespace Acp.GptOss.Tests.Inference.Remote;

/// <summary>
/// The chat fallback against a fake OpenAI-compatible server: requests as OpenAI's chat completions API takes them
/// (messages, tools, tool_calls with ids, role tool with tool_call_id, reasoning_effort), and streamed
/// <c>chat.completion.chunk</c> events as vLLM's chat serving writes them (vllm/entrypoints/openai/protocol.py
/// DeltaMessage: <c>reasoning_content</c>, newer releases <c>reasoning</c>; DeltaToolCall fragments: id, type and name
/// first, then arguments; <c>finish_reason</c> "stop", "tool_calls" or "length"; then <c>data: [DONE]</c>). What comes
/// back is checked as Harmony: its literal spelling and what the project's stream parser makes of it.
/// </summary>
public sealed class OpenAiChatDialectTests
{
    private const string Model = "gpt-oss-20b";

    [Fact]
    public async Task Generate_sends_the_conversation_as_chat_messages_and_tools()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions").Data(Chunk("""{"content":"Done."}""")).Data(Chunk("{}", "stop")).Done().End();
        using RemoteServer server = Server(fake);
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}""");
        var conversation = new HarmonyConversation(
            new HarmonySystemContent { ReasoningEffort = ReasoningEffort.High },
            new HarmonyDeveloperContent("Answer briefly.", [new HarmonyFunctionTool("read-file", "Reads a file.", schema.RootElement), new HarmonyFunctionTool("list files", "Lists files.")]),
            [
                HarmonyMessage.User("What is in a.txt and b.txt?"),
                HarmonyMessage.Assistant(HarmonyChannel.Analysis, "Read both."),
                HarmonyMessage.Assistant(HarmonyChannel.Commentary, "Reading a.txt first."),
                HarmonyMessage.ToolCall("functions.read_file", """{"path":"a.txt"}"""),
                HarmonyMessage.ToolResult("functions.read_file", "hello"),
                HarmonyMessage.Assistant(HarmonyChannel.Analysis, "Now b."),
                HarmonyMessage.ToolCall("functions.read_file", """{"path":"b.txt"}"""),
                HarmonyMessage.ToolResult("functions.read_file", "world"),
                HarmonyMessage.Assistant(HarmonyChannel.Final, "hello and world"),
                HarmonyMessage.User("Thanks; list the files."),
            ]);

        await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(conversation), CancellationToken.None));

        JsonElement body = Assert.Single(fake.Posts("v1/chat/completions")).Json;
        Assert.Equal(Model, body.GetProperty("model").GetString());
        Assert.True(body.GetProperty("stream").GetBoolean());
        Assert.Equal("high", body.GetProperty("reasoning_effort").GetString());
        Assert.Equal(256, body.GetProperty("max_tokens").GetInt32());
        Assert.Equal(0.5, body.GetProperty("temperature").GetDouble(), 3);
        Assert.Equal(0.9, body.GetProperty("top_p").GetDouble(), 3);
        Assert.Equal(7, body.GetProperty("seed").GetInt32());
        Assert.Equal(
            """
            [{"role":"system","content":"Answer briefly."},
            {"role":"user","content":"What is in a.txt and b.txt?"},
            {"role":"assistant","content":"Reading a.txt first.","reasoning":"Read both.","tool_calls":[{"id":"call_1","type":"function","function":{"name":"read_file","arguments":"{\u0022path\u0022:\u0022a.txt\u0022}"}}]},
            {"role":"tool","tool_call_id":"call_1","content":"hello"},
            {"role":"assistant","content":null,"reasoning":"Now b.","tool_calls":[{"id":"call_2","type":"function","function":{"name":"read_file","arguments":"{\u0022path\u0022:\u0022b.txt\u0022}"}}]},
            {"role":"tool","tool_call_id":"call_2","content":"world"},
            {"role":"assistant","content":"hello and world"},
            {"role":"user","content":"Thanks; list the files."}]
            """.Replace("\n", "", StringComparison.Ordinal),
            body.GetProperty("messages").GetRawText());
        Assert.Equal(
            """
            [{"type":"function","function":{"name":"read_file","description":"Reads a file.","parameters":{"type":"object","properties":{"path":{"type":"string"}},"required":["path"]}}},
            {"type":"function","function":{"name":"list_files","description":"Lists files.","parameters":{"type":"object","properties":{}}}}]
            """.Replace("\n", "", StringComparison.Ordinal),
            body.GetProperty("tools").GetRawText());
    }

    [Fact]
    public async Task Reasoning_and_content_come_back_as_the_analysis_and_final_messages()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions")
            .Data(Chunk("""{"role":"assistant","content":""}"""))
            .Data(Chunk("""{"reasoning_content":"User asks: \"What is 2 + 2?\""}"""))
            .Data(Chunk("""{"reasoning_content":" Simple arithmetic."}"""))
            .Data(Chunk("""{"content":"2 + 2"}"""))
            .Data(Chunk("""{"content":" = 4. ✓"}"""))
            .Data(Chunk("{}", "stop"))
            .Done().End();
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync(Conversation());

        List<int> tokens = await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), request, CancellationToken.None));

        Assert.Equal(Answer, await RenderAsync(tokens));
        Parsed parsed = await ParseAsync(tokens);
        Assert.Equal("User asks: \"What is 2 + 2?\" Simple arithmetic.", parsed.Analysis.ToString());
        Assert.Equal("2 + 2 = 4. ✓", parsed.Final.ToString());
        Assert.Equal(HarmonyStopReason.EndTurn, parsed.Stop);
        Assert.Equal("stop", request.Usage.StopReason);
    }

    [Fact]
    public async Task A_tool_call_comes_back_as_a_commentary_message_to_the_function()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions")
            .Data(Chunk("""{"role":"assistant","content":""}"""))
            .Data(Chunk("""{"reasoning":"Need to read the file."}"""))
            .Data(Chunk("""{"tool_calls":[{"id":"chatcmpl-tool-5f1e","type":"function","index":0,"function":{"name":"read_file","arguments":""}}]}"""))
            .Data(Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"{\"path\":"}}]}"""))
            .Data(Chunk("""{"tool_calls":[{"index":0,"function":{"arguments":"\"a.txt\"}"}}]}"""))
            .Data(Chunk("{}", "tool_calls"))
            .Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(Conversation()), CancellationToken.None));

        Assert.Equal(Call, await RenderAsync(tokens));
        Parsed parsed = await ParseAsync(tokens);
        Assert.Equal(("functions.read_file", """{"path":"a.txt"}"""), Assert.Single(parsed.Calls));
        Assert.Equal(HarmonyStopReason.ToolCall, parsed.Stop);
    }

    [Fact]
    public async Task Content_before_a_call_stays_visible_and_only_the_first_of_several_calls_is_taken()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions")
            .Data(Chunk("""{"content":"Let me look."}"""))
            .Data(Chunk("""{"tool_calls":[{"id":"a","type":"function","index":0,"function":{"name":"read_file","arguments":"{\"path\":\"a.txt\"}"}}]}"""))
            .Data(Chunk("""{"tool_calls":[{"id":"b","type":"function","index":1,"function":{"name":"read_file","arguments":"{\"path\":\"b.txt\"}"}}]}"""))
            .Data(Chunk("{}", "tool_calls"))
            .Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(Conversation()), CancellationToken.None));

        Assert.Equal(
            """<|channel|>final<|message|>Let me look.<|end|><|start|>assistant<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{"path":"a.txt"}<|call|>""",
            await RenderAsync(tokens));
        Parsed parsed = await ParseAsync(tokens);
        Assert.Equal("Let me look.", parsed.Final.ToString());
        Assert.Equal(("functions.read_file", """{"path":"a.txt"}"""), Assert.Single(parsed.Calls));
    }

    [Fact]
    public async Task An_answer_without_reasoning_is_a_final_message()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions").Data(Chunk("""{"role":"assistant","content":"Hi"}""")).Data(Chunk("{}", "stop")).Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(Conversation()), CancellationToken.None));

        Assert.Equal("<|channel|>final<|message|>Hi<|return|>", await RenderAsync(tokens));
    }

    [Fact]
    public async Task Text_is_streamed_as_it_comes()
    {
        var fake = Chat();
        FakeServingEngineStream stream = fake.Stream("v1/chat/completions").Data(Chunk("""{"content":"Hel"}"""));
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync(Conversation());
        IAsyncEnumerator<int> tokens = new OpenAiChatDialect().GenerateAsync(server, Info(), request, CancellationToken.None).GetAsyncEnumerator();
        var seen = new List<int>();
        try
        {
            // The header and "Hel" arrive before the server has sent anything more.
            int[] expected = await IdsAsync("<|channel|>final<|message|>Hel");
            while (seen.Count < expected.Length && await tokens.MoveNextAsync())
            {
                seen.Add(tokens.Current);
            }

            Assert.Equal(expected, seen);
            stream.Data(Chunk("""{"content":"lo"}""")).Data(Chunk("{}", "stop")).Done().End();
            while (await tokens.MoveNextAsync())
            {
                seen.Add(tokens.Current);
            }
        }
        finally
        {
            await tokens.DisposeAsync();
        }

        Assert.Equal("<|channel|>final<|message|>Hello<|return|>", await RenderAsync(seen));
    }

    [Fact]
    public async Task The_length_limit_ends_without_a_terminator()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions").Data(Chunk("""{"reasoning_content":"Thinking"}""")).Data(Chunk("{}", "length")).Done().End();
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync(Conversation());

        List<int> tokens = await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), request, CancellationToken.None));

        Assert.Equal("<|channel|>analysis<|message|>Thinking", await RenderAsync(tokens));
        Assert.Equal("length", request.Usage.StopReason);
        Assert.Equal(HarmonyStopReason.MaxTokens, (await ParseAsync(tokens)).Stop);
    }

    [Fact]
    public async Task A_call_cut_by_the_length_limit_is_no_call()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions")
            .Data(Chunk("""{"tool_calls":[{"id":"a","type":"function","index":0,"function":{"name":"read_file","arguments":"{\"pa"}}]}"""))
            .Data(Chunk("{}", "length"))
            .Done().End();
        using RemoteServer server = Server(fake);

        List<int> tokens = await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(Conversation()), CancellationToken.None));

        Assert.Equal("""<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{"pa""", await RenderAsync(tokens));
        Parsed parsed = await ParseAsync(tokens);
        Assert.Empty(parsed.Calls);
        Assert.Equal(HarmonyStopReason.MaxTokens, parsed.Stop);
    }

    [Fact]
    public async Task An_endpoint_given_with_its_v1_takes_the_paths_below_it()
    {
        var fake = new FakeServingEngine().Get("api/v1/models", """{"object":"list","data":[{"id":"openai/gpt-oss-20b","object":"model"}]}""");
        fake.Stream("api/v1/chat/completions").Data(Chunk("""{"content":"Hi"}""")).Data(Chunk("{}", "stop")).Done().End();
        using RemoteServer server = Server(fake, "https://router.example/api/v1");
        var dialect = new OpenAiChatDialect();

        RemoteModelInfo info = await dialect.ProbeAsync(server, null, CancellationToken.None);
        List<int> tokens = await CollectAsync(dialect.GenerateAsync(server, info, await RequestAsync(Conversation()), CancellationToken.None));

        Assert.Equal("openai/gpt-oss-20b", info.Model);
        Assert.Equal("<|channel|>final<|message|>Hi<|return|>", await RenderAsync(tokens));
    }

    [Fact]
    public async Task A_raw_prompt_without_its_conversation_is_refused()
    {
        using RemoteServer server = Server(Chat());

        var e = await Assert.ThrowsAsync<RemoteRequestException>(async () => await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(), CancellationToken.None)));

        Assert.Equal("This server takes only chat messages; a raw prompt needs llama-server, vLLM or SGLang.", e.Message);
    }

    [Fact]
    public async Task Generate_fails_with_the_servers_message_on_an_error_status()
    {
        var fake = Chat();
        fake.Fail("v1/chat/completions", HttpStatusCode.Unauthorized,
            """{"error":{"message":"Incorrect API key provided.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}""");
        using RemoteServer server = Server(fake);
        RemoteRequest request = await RequestAsync(Conversation());

        var e = await Assert.ThrowsAsync<InferenceException>(() => CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), request, CancellationToken.None)));

        Assert.Contains("401", e.Message, StringComparison.Ordinal);
        Assert.Contains("--api-key-file", e.Message, StringComparison.Ordinal);
        Assert.Contains("Incorrect API key provided.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Generate_fails_on_an_error_event_inside_the_stream()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions")
            .Data(Chunk("""{"content":"Hi"}"""))
            .Data("""{"error":{"message":"The server had an error while processing your request.","type":"server_error","param":null,"code":null}}""")
            .Done().End();
        using RemoteServer server = Server(fake);

        var e = await Assert.ThrowsAsync<InferenceException>(async () => await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(Conversation()), CancellationToken.None)));

        Assert.Contains("had an error while processing", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task Generate_fails_when_the_stream_ends_before_a_finish_reason(bool done)
    {
        var fake = Chat();
        FakeServingEngineStream stream = fake.Stream("v1/chat/completions").Data(Chunk("""{"content":"Hi"}"""));
        if (done)
        {
            stream.Done();
        }

        stream.End();
        using RemoteServer server = Server(fake);

        var e = await Assert.ThrowsAsync<InferenceException>(async () => await CollectAsync(new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(Conversation()), CancellationToken.None)));

        Assert.Contains("closed the stream before the completion ended", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_and_closes_the_response()
    {
        var fake = Chat();
        FakeServingEngineStream stream = fake.Stream("v1/chat/completions").Data(Chunk("""{"content":"Hi"}"""));
        using RemoteServer server = Server(fake);
        using var cancel = new CancellationTokenSource();
        IAsyncEnumerator<int> tokens = new OpenAiChatDialect().GenerateAsync(server, Info(), await RequestAsync(Conversation()), cancel.Token).GetAsyncEnumerator(cancel.Token);
        try
        {
            Assert.True(await tokens.MoveNextAsync());
            cancel.Cancel();

            await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            {
                while (await tokens.MoveNextAsync())
                {
                }
            });
        }
        finally
        {
            await tokens.DisposeAsync();
        }

        await stream.Abandoned.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.False(stream.ReadToEnd);
    }

    [Fact]
    public async Task Probe_takes_the_model_asked_for_or_the_first_and_names_the_served_ones_otherwise()
    {
        using RemoteServer server = Server(Chat());
        var dialect = new OpenAiChatDialect();

        Assert.Equal(new RemoteModelInfo(RemoteKind.OpenAi, Model, null, null), await dialect.ProbeAsync(server, null, CancellationToken.None));
        Assert.Equal("gpt-oss-120b", (await dialect.ProbeAsync(server, "gpt-oss-120b", CancellationToken.None)).Model);
        var e = await Assert.ThrowsAsync<InferenceException>(() => dialect.ProbeAsync(server, "llama3", CancellationToken.None));
        Assert.Contains("serves gpt-oss-20b, gpt-oss-120b, not llama3", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Probe_of_a_server_that_lists_no_models_needs_the_model_named()
    {
        using RemoteServer server = Server(new FakeServingEngine());
        var dialect = new OpenAiChatDialect();

        Assert.Equal("gpt-oss:20b", (await dialect.ProbeAsync(server, "gpt-oss:20b", CancellationToken.None)).Model);
        var e = await Assert.ThrowsAsync<InferenceException>(() => dialect.ProbeAsync(server, null, CancellationToken.None));
        Assert.Contains("--remote-model", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_engine_falls_back_to_chat_and_streams_harmony_for_the_agent()
    {
        var fake = Chat();
        fake.Stream("v1/chat/completions").Data(Chunk("""{"reasoning_content":"Easy."}""")).Data(Chunk("""{"content":"4"}""")).Data(Chunk("{}", "stop")).Done().End();
        await using RemoteInferenceEngine engine = RemoteInferenceEngine.Start(
            new RemoteEngineOptions { Endpoint = new Uri("http://gpu-box:8000/") }, new Telemetry(NullLogger.Instance), NullLoggerFactory.Instance, handler: fake);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);
        var options = new GenerationOptions(128, HarmonySpecialTokens.O200kHarmony.SamplingStops.ToArray()) { Conversation = Conversation() };

        List<int> tokens = await CollectAsync(session.GenerateAsync((await RequestAsync()).Prompt, options, CancellationToken.None));

        Assert.Equal("<|channel|>analysis<|message|>Easy.<|end|><|start|>assistant<|channel|>final<|message|>4<|return|>", await RenderAsync(tokens));
        Assert.Contains("openai", engine.Description, StringComparison.Ordinal);
    }

    /// <summary>A server with OpenAI's chat API only.</summary>
    private static FakeServingEngine Chat() => new FakeServingEngine()
        .Get("v1/models", """{"object":"list","data":[{"id":"gpt-oss-20b","object":"model","created":1754000000,"owned_by":"openai"},{"id":"gpt-oss-120b","object":"model","created":1754000000,"owned_by":"openai"}]}""");

    private static RemoteModelInfo Info() => new(RemoteKind.OpenAi, Model, null, null);

    private static HarmonyConversation Conversation() => new(new HarmonySystemContent(), null, [HarmonyMessage.User("What is 2 + 2?")]);

    // One chat.completion.chunk with this delta.
    private static string Chunk(string delta, string? finish = null) =>
        $$"""{"id":"chatcmpl-7d2","object":"chat.completion.chunk","created":1754000000,"model":"{{Model}}","choices":[{"index":0,"delta":{{delta}},"logprobs":null,"finish_reason":{{(finish is null ? "null" : $"\"{finish}\"")}}}]}""";

    private static async Task<string> RenderAsync(List<int> tokens)
    {
        var tokenizer = await TokenizerAsync();
        return HarmonyLiteralText.Render(tokens.ToArray(), tokenizer);
    }

    private static async Task<Parsed> ParseAsync(List<int> tokens)
    {
        var parsed = new Parsed();
        var parser = new HarmonyStreamParser(await TokenizerAsync(), parsed);
        foreach (int token in tokens)
        {
            if (!parser.IsStopped)
            {
                parser.Push(token);
            }
        }

        if (!parser.IsStopped)
        {
            parser.Finish();
        }

        return parsed;
    }

    private sealed class Parsed : IHarmonyStreamListener
    {
        public StringBuilder Analysis { get; } = new();

        public StringBuilder Final { get; } = new();

        public List<(string Recipient, string Arguments)> Calls { get; } = [];

        public HarmonyStopReason? Stop { get; private set; }

        public void OnText(HarmonyRoute route, ReadOnlySpan<char> text) =>
            (route switch { HarmonyRoute.Analysis => Analysis, HarmonyRoute.Final => Final, _ => null })?.Append(text);

        public void OnMessageCompleted(in HarmonyCompletedMessage message)
        {
        }

        public void OnToolCall(in HarmonyToolCall toolCall) => Calls.Add((toolCall.Recipient, toolCall.Arguments.ToString()));

        public void OnStopped(HarmonyStopReason reason) => Stop = reason;
    }
}
