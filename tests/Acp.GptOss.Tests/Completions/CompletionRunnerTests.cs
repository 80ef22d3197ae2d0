using System.Text;
using System.Text.Json;
using Acp.GptOss.Completions;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Scripted;
using Acp.GptOss.Tests.Support;
using Harmony;
using Harmony.Conversations;
using Harmony.Rendering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Completions;

/// <summary>The completion core on the scripted engine: exact text, tool calls, stops, budgets and cancel.</summary>
public sealed class CompletionRunnerTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("completions-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task Reasoning_and_answer_come_apart_and_the_end_says_stop_with_usage()
    {
        const string Completion = "<|channel|>analysis<|message|>User greets. Reply.<|end|><|start|>assistant<|channel|>final<|message|>Hello there.<|return|>";
        IInferenceSession session = await ScriptedSessionAsync(Completion);
        HarmonyConversation conversation = Conversation("Hi!");

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamChatAsync(session, conversation, new CompletionOptions { MaxTokens = 1000 }, default));

        Assert.Equal("User greets. Reply.", string.Concat(events.OfType<ReasoningDelta>().Select(e => e.Text)));
        Assert.Equal("Hello there.", Content(events));
        var end = Assert.IsType<CompletionEnded>(events[^1]);
        Assert.Equal(CompletionFinishReason.Stop, end.FinishReason);
        Assert.Equal(new HarmonyEncoding(session.Tokenizer).RenderForCompletion(conversation).Length, end.Usage.PromptTokens);
        Assert.Equal(Tokens(Completion).Count, end.Usage.CompletionTokens);
        Assert.Single(events.OfType<CompletionEnded>());
    }

    [Fact]
    public async Task A_preamble_is_content_and_a_function_call_comes_back_under_its_declared_name()
    {
        const string Completion = "<|channel|>commentary<|message|>Checking the weather.<|end|>"
            + "<|start|>assistant<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\": \"Paris\"}<|call|>";
        IInferenceSession session = await ScriptedSessionAsync(Completion);
        using JsonDocument schema = JsonDocument.Parse("""{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}""");
        HarmonyConversation conversation = Conversation("Weather in Paris?", new HarmonyFunctionTool("get-weather", "Gets the weather.", schema.RootElement.Clone()));

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamChatAsync(session, conversation, new CompletionOptions { MaxTokens = 1000 }, default));

        Assert.Equal("Checking the weather.", Content(events));
        ToolCallDelta call = Assert.Single(events.OfType<ToolCallDelta>());
        Assert.Equal("get-weather", call.Name);
        Assert.Equal("{\"city\": \"Paris\"}", call.Arguments);
        Assert.StartsWith("call_", call.Id, StringComparison.Ordinal);
        Assert.Equal(CompletionFinishReason.ToolCalls, Assert.IsType<CompletionEnded>(events[^1]).FinishReason);
    }

    [Fact]
    public async Task Visible_messages_after_the_first_start_with_a_blank_line_and_a_call_without_arguments_gets_an_empty_object()
    {
        IInferenceSession session = await ScriptedSessionAsync(
            "<|channel|>commentary<|message|>One.<|end|><|start|>assistant<|channel|>final<|message|>Two.<|end|>"
            + "<|start|>assistant to=functions.list<|channel|>commentary<|message|><|call|>");

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamChatAsync(
            session, Conversation("Go.", new HarmonyFunctionTool("list", "Lists.")), new CompletionOptions { MaxTokens = 1000 }, default));

        Assert.Equal("One.\n\nTwo.", Content(events));
        Assert.Equal("{}", Assert.Single(events.OfType<ToolCallDelta>()).Arguments);
    }

    [Fact]
    public async Task The_budget_running_out_ends_with_length_and_the_text_so_far()
    {
        const string Head = "<|channel|>final<|message|>";
        IInferenceSession session = await ScriptedSessionAsync(Head + "A long answer.<|return|>");

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamChatAsync(
            session, Conversation("Go."), new CompletionOptions { MaxTokens = Tokens(Head).Count + 6 }, default));

        Assert.Equal("A long", Content(events));
        var end = Assert.IsType<CompletionEnded>(events[^1]);
        Assert.Equal(CompletionFinishReason.Length, end.FinishReason);
        Assert.Equal(Tokens(Head).Count + 6, end.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_stop_sequence_ends_the_answer_before_it_and_stops_sampling()
    {
        const string Completion = "<|channel|>final<|message|>Count: one, two, three.<|return|>";
        IInferenceSession session = await ScriptedSessionAsync(Completion);

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamChatAsync(
            session, Conversation("Count."), new CompletionOptions { MaxTokens = 1000, StopSequences = ["two", "xyz"] }, default));

        Assert.Equal("Count: one, ", Content(events));
        var end = Assert.IsType<CompletionEnded>(events[^1]);
        Assert.Equal(CompletionFinishReason.Stop, end.FinishReason);
        Assert.Equal(Tokens("<|channel|>final<|message|>Count: one, two").Count, end.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_stop_sequence_that_never_comes_holds_nothing_back_at_the_end()
    {
        IInferenceSession session = await ScriptedSessionAsync("<|channel|>final<|message|>Almost th<|return|>");

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamChatAsync(
            session, Conversation("Go."), new CompletionOptions { MaxTokens = 1000, StopSequences = ["the end"] }, default));

        Assert.Equal("Almost th", Content(events));
        Assert.Equal(CompletionFinishReason.Stop, Assert.IsType<CompletionEnded>(events[^1]).FinishReason);
    }

    [Fact]
    public async Task Cancelling_mid_stream_ends_with_cancelled_and_stops_the_engine()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>A story that goes on and on.<|return|>");
        Task held = engine.HoldFirstCallAt(30);
        IInferenceSession session = await engine.CreateSessionAsync(default);
        using var cancel = new CancellationTokenSource();
        var events = new List<CompletionEvent>();

        Task run = Task.Run(async () =>
        {
            await foreach (CompletionEvent e in CompletionRunner.StreamChatAsync(session, Conversation("Go."), new CompletionOptions { MaxTokens = 1000 }, cancel.Token))
            {
                events.Add(e);
            }
        });
        await held;
        await cancel.CancelAsync();
        await run.WaitAsync(AgentHarness.Timeout);

        var end = Assert.IsType<CompletionEnded>(events[^1]);
        Assert.Equal(CompletionFinishReason.Cancelled, end.FinishReason);
        Assert.Equal(30, end.Usage.CompletionTokens);
        Assert.Equal("A story that goes on an", Content(events));
    }

    [Fact]
    public async Task A_raw_prompt_keeps_its_special_spellings_and_the_answer_comes_back_as_literal_text()
    {
        const string Completion = "<|channel|>final<|message|>Hi é.<|return|>";
        var engine = new FakeEngine(Completion);
        IInferenceSession session = await engine.CreateSessionAsync(default);
        const string Prompt = "<|start|>user<|message|>Hi<|end|><|start|>assistant";

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamRawAsync(session, Prompt, new CompletionOptions { MaxTokens = 1000 }, default));

        Assert.Equal(Completion, Content(events));
        Assert.Equal(CompletionFinishReason.Stop, Assert.IsType<CompletionEnded>(events[^1]).FinishReason);
        Assert.Equal(Tokens(Prompt), engine.PromptTokens.Single());
        Assert.Equal(HarmonySpecialTokens.O200kHarmony.Start, engine.PromptTokens.Single()[0]);
    }

    [Fact]
    public async Task A_raw_completion_stops_at_a_callers_stop_id_and_leaves_it_out()
    {
        var engine = new FakeEngine("one<|end|>two<|return|>");
        IInferenceSession session = await engine.CreateSessionAsync(default);

        List<CompletionEvent> events = await CollectAsync(CompletionRunner.StreamRawAsync(
            session, "<|start|>assistant", new CompletionOptions { MaxTokens = 1000, StopTokens = [HarmonySpecialTokens.O200kHarmony.End] }, default));

        Assert.Equal("one", Content(events));
        var end = Assert.IsType<CompletionEnded>(events[^1]);
        Assert.Equal(CompletionFinishReason.Stop, end.FinishReason);
        Assert.Equal(4, end.Usage.CompletionTokens);
    }

    [Fact]
    public async Task A_prompt_that_fills_the_context_is_refused_before_the_engine_runs()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>x<|return|>") { ContextSize = 16 };
        IInferenceSession session = await engine.CreateSessionAsync(default);

        var e = await Assert.ThrowsAsync<PromptTooLongException>(() => CollectAsync(
            CompletionRunner.StreamRawAsync(session, new string('a', 16), new CompletionOptions { MaxTokens = 10 }, default)));

        Assert.Equal(16, e.PromptTokens);
        Assert.Empty(engine.Prompts);
    }

    [Theory]
    [InlineData(new[] { "Hello wor", "ld and more" }, "Hello ", true)]
    [InlineData(new[] { "Hel", "lo w", "x" }, "Hello wx", false)]
    [InlineData(new[] { "a<", "<b" }, "a", true)]
    public void The_stop_filter_finds_a_stop_split_across_pushes(string[] pushes, string shown, bool matched)
    {
        var filter = new StopSequenceFilter(["world", "<<"]);
        var text = new StringBuilder();
        foreach (string push in pushes)
        {
            text.Append(filter.Push(push));
        }

        if (!filter.Matched)
        {
            text.Append(filter.Flush());
        }

        Assert.Equal(shown, text.ToString());
        Assert.Equal(matched, filter.Matched);
    }

    [Fact]
    public void Tool_names_resolve_through_the_models_known_slips()
    {
        var map = new ToolNameMap([new HarmonyFunctionTool("read-file", "r"), new HarmonyFunctionTool("read.file", "r2")]);

        Assert.Equal("read-file", map.Resolve("functions.read_file"));
        Assert.Equal("read.file", map.Resolve("functions.read_file_2"));
        Assert.Equal("read-file", map.Resolve("read_file"));
        Assert.Equal("read-file", map.Resolve("functions.read_filejson"));
        Assert.Equal("python", map.Resolve("python"));
        Assert.Equal("functions.read_file_2", map.Recipient("read.file"));
        Assert.Equal("functions.other", map.Recipient("other"));
    }

    private async Task<IInferenceSession> ScriptedSessionAsync(string completion)
    {
        string script = Path.Combine(_directory, "completion.txt");
        await File.WriteAllTextAsync(script, completion);
        ScriptedInferenceEngine engine = ScriptedInferenceEngine.Create(script, TimeSpan.Zero, promptLog: null, contextSize: 8192, NullLogger.Instance);
        return await engine.CreateSessionAsync(default);
    }

    private static HarmonyConversation Conversation(string user, params HarmonyFunctionTool[] tools) => new(
        new HarmonySystemContent { ReasoningEffort = ReasoningEffort.Low },
        new HarmonyDeveloperContent("Be brief.", tools),
        [HarmonyMessage.User(user)]);

    private static List<int> Tokens(string literal)
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize(literal, O200kByteTokenizer.Instance, tokens);
        return tokens;
    }

    private static string Content(List<CompletionEvent> events) => string.Concat(events.OfType<ContentDelta>().Select(e => e.Text));

    private static async Task<List<CompletionEvent>> CollectAsync(IAsyncEnumerable<CompletionEvent> stream)
    {
        var events = new List<CompletionEvent>();
        await foreach (CompletionEvent e in stream)
        {
            events.Add(e);
        }

        return events;
    }
}
