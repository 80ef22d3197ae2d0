using System.Globalization;
using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Inference;
using Acp.GptOss.Tests.Support;
using Harmony;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Agent;

/// <summary>
/// The slash commands (docs/acp.md §4.5): advertised after the session opens, run by the agent without a model call
/// (the fake engine's prompt log stays empty), answered as ordinary messages; an unknown /word reaches the model.
/// </summary>
public sealed class SlashCommandTests : IDisposable
{
    private const string Answer = "<|channel|>final<|message|>Short answer.<|return|>";
    private static readonly string[] s_commands = ["effort", "reasoning", "status", "compact", "unload"];
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"acp-gptoss-commands-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }
    }

    // Long enough that a compaction's note is shorter than the turns it stands for.
    private static string Request(int n) => $"Request {n}: " + new string((char)('a' + n), 150);

    private static AgentHarness WithFast(FakeEngine gptOss, FakeChatEngine fast) =>
        new(new AgentEngines(gptOss, fast, new Telemetry(NullLogger.Instance)));

    /// <summary>Opens a session; returns its id and the update that followed the answer.</summary>
    private static async Task<(string Session, JsonElement Commands)> OpenAsync(AgentHarness agent, object? clientCapabilities = null)
    {
        await agent.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = clientCapabilities ?? new { } });
        (JsonElement created, List<JsonElement> before) = await agent.RequestAsync("session/new", new { cwd = "/workspace", mcpServers = Array.Empty<object>() });
        // After the answer, never before it: a client drops updates for a session it does not know yet.
        Assert.DoesNotContain(before, n => Updates.Kind(n) == "available_commands_update");
        string session = created.GetProperty("result").GetProperty("sessionId").GetString()!;
        JsonElement next = await agent.NextAsync();
        Assert.Equal(session, next.GetProperty("params").GetProperty("sessionId").GetString());
        Assert.Equal("available_commands_update", Updates.Kind(next));
        return (session, Updates.Update(next));
    }

    private static string[] Names(JsonElement commands) =>
        [.. commands.GetProperty("availableCommands").EnumerateArray().Select(c => c.GetProperty("name").GetString()!)];

    private static JsonElement Option(JsonElement configUpdate, string id) =>
        configUpdate.GetProperty("configOptions").EnumerateArray().Single(o => o.GetProperty("id").GetString() == id);

    [Fact]
    public async Task Commands_are_advertised_right_after_session_new_answers_valid_against_the_schema()
    {
        await using var agent = new AgentHarness(new FakeEngine(Answer));

        (_, JsonElement commands) = await OpenAsync(agent);

        Assert.Equal(s_commands, Names(commands));
        JsonElement effort = commands.GetProperty("availableCommands")[0];
        Assert.Equal("Set how much GPT-OSS reasons before it answers", effort.GetProperty("description").GetString());
        Assert.Equal("low | medium | high", effort.GetProperty("input").GetProperty("hint").GetString());
        Assert.False(commands.GetProperty("availableCommands")[2].TryGetProperty("input", out _), "/status takes no input");
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Model_is_listed_only_with_a_fast_model()
    {
        await using AgentHarness agent = WithFast(new FakeEngine(Answer), new FakeChatEngine("Fast."));

        (_, JsonElement commands) = await OpenAsync(agent);

        Assert.Equal(["model", .. s_commands], Names(commands));
        Assert.Equal("auto | gpt-oss | fast", commands.GetProperty("availableCommands")[0].GetProperty("input").GetProperty("hint").GetString());
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Effort_sets_the_option_announces_it_and_answers_without_a_model_call()
    {
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent);

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "/effort high");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Empty(engine.Prompts);
        Assert.Equal("high", Option(Assert.Single(Updates.OfKind(updates, "config_option_update")), "reasoning_effort").GetProperty("currentValue").GetString());
        Assert.Equal("Reasoning effort: high.", Updates.Text(updates, "agent_message_chunk"));
        Assert.False(response.GetProperty("result").TryGetProperty("_meta", out _));

        // The same as the option: the next prompt's system message says so, and the command is not in the conversation.
        await agent.PromptAsync(session, "hi");
        string prompt = Assert.Single(engine.Prompts);
        Assert.Contains("\n\nReasoning: high\n\n", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("/effort", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("Reasoning effort: high.", prompt, StringComparison.Ordinal);
        await AssertValidAsync(agent);
    }

    [Theory]
    [InlineData("/effort extreme", "Usage: /effort low|medium|high")]
    [InlineData("/effort", "Usage: /effort low|medium|high")]
    [InlineData("/reasoning loud", "Usage: /reasoning hidden|status|full")]
    [InlineData("/status now", "Usage: /status (it takes nothing after it)")]
    [InlineData("/model fast", "There is no model to choose: no fast model is configured (start the agent with --fast-model FILE.gguf).")]
    public async Task A_bad_argument_answers_one_line_and_changes_nothing(string command, string answer)
    {
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent);

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, command);

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal(answer, Updates.Text(updates, "agent_message_chunk"));
        Assert.Empty(Updates.OfKind(updates, "config_option_update"));
        Assert.Empty(engine.Prompts);
    }

    [Fact]
    public async Task Reasoning_sets_the_display()
    {
        var engine = new FakeEngine("<|channel|>analysis<|message|>Secret.<|end|><|start|>assistant<|channel|>final<|message|>Done.<|return|>");
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent);

        (_, List<JsonElement> updates) = await agent.PromptAsync(session, "  /reasoning full  ");

        Assert.Equal("full", Option(Assert.Single(Updates.OfKind(updates, "config_option_update")), "reasoning_display").GetProperty("currentValue").GetString());
        Assert.Equal("Reasoning display: full.", Updates.Text(updates, "agent_message_chunk"));
        (_, List<JsonElement> answered) = await agent.PromptAsync(session, "think");
        Assert.Equal("Secret.", Updates.Text(answered, "agent_thought_chunk"));
    }

    [Fact]
    public async Task Model_chooses_the_fast_model_for_every_turn()
    {
        var gptOss = new FakeEngine(Answer);
        var fast = new FakeChatEngine("Fast.");
        await using AgentHarness agent = WithFast(gptOss, fast);
        (string session, _) = await OpenAsync(agent);

        (_, List<JsonElement> updates) = await agent.PromptAsync(session, "/model fast");

        Assert.Equal("fast", Option(Assert.Single(Updates.OfKind(updates, "config_option_update")), "model").GetProperty("currentValue").GetString());
        Assert.Equal("Model: fast.", Updates.Text(updates, "agent_message_chunk"));
        Assert.Empty(fast.Calls);

        // A code request would go to GPT-OSS under auto; the user's choice holds.
        (JsonElement response, List<JsonElement> answered) = await agent.PromptAsync(session, "Fix the bug in Program.cs and write a test");
        Assert.Equal("Fast.", Updates.Text(answered, "agent_message_chunk"));
        Assert.Empty(gptOss.Prompts);
        JsonElement gptossMeta = response.GetProperty("result").GetProperty("_meta").GetProperty("gptoss");
        Assert.Equal("user_choice", gptossMeta.GetProperty("route").GetProperty("reasons")[0].GetString());

        // The fast model's call is metered too: its context, in the update and the response.
        JsonElement usage = Assert.Single(Updates.OfKind(answered, "usage_update"));
        JsonElement meta = gptossMeta.GetProperty("usage");
        Assert.Equal(4096, usage.GetProperty("size").GetInt64());
        Assert.Equal(usage.GetProperty("used").GetInt64(), meta.GetProperty("contextUsed").GetInt64());
        Assert.Equal(1, meta.GetProperty("completionTokens").GetInt64());
        Assert.Equal(meta.GetProperty("promptTokens").GetInt64() + 1, meta.GetProperty("contextUsed").GetInt64());
    }

    [Theory]
    [InlineData("/frobnicate now")]
    [InlineData("/")]
    [InlineData("see src/app and /etc/hosts")]
    [InlineData("/Status")]
    public async Task Anything_else_reaches_the_model_as_text_unchanged(string text)
    {
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent);

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, text);

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal("Short answer.", Updates.Text(updates, "agent_message_chunk"));
        Assert.Contains($"<|start|>user<|message|>{text}<|end|>", Assert.Single(engine.Prompts), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Every_model_call_reports_the_context_and_the_response_carries_the_turns_tokens()
    {
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent);

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "hi");

        int prompt = engine.PromptTokens[0].Length;
        int completion = Tokens(Answer);
        JsonElement usage = Assert.Single(Updates.OfKind(updates, "usage_update"));
        Assert.Equal(prompt + completion, usage.GetProperty("used").GetInt64());
        Assert.Equal(8192, usage.GetProperty("size").GetInt64());
        JsonElement meta = response.GetProperty("result").GetProperty("_meta");
        JsonElement counts = meta.GetProperty("gptoss").GetProperty("usage");
        Assert.Equal(prompt, counts.GetProperty("promptTokens").GetInt64());
        Assert.Equal(completion, counts.GetProperty("completionTokens").GetInt64());
        Assert.Equal(prompt + completion, counts.GetProperty("contextUsed").GetInt64());
        Assert.Equal(8192, counts.GetProperty("contextSize").GetInt64());
        Assert.Empty(JsonSchemaValidator.Load("gptoss-extensions.schema.json").ValidateDefinition("promptMeta", meta.GetRawText()));
    }

    [Fact]
    public async Task A_turn_with_tool_rounds_sums_its_calls_and_reports_each()
    {
        string cwd = Directory.CreateDirectory(_root).FullName;
        var engine = new FakeEngine(
            "<|channel|>commentary to=functions.list_files <|constrain|>json<|message|>{}<|call|>",
            Answer);
        await using var agent = new AgentHarness(engine);
        await agent.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        (JsonElement created, _) = await agent.RequestAsync("session/new", new { cwd, mcpServers = Array.Empty<object>() });
        string session = created.GetProperty("result").GetProperty("sessionId").GetString()!;

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "What is here?");

        Assert.Equal(2, engine.PromptTokens.Count);
        long[] used = [.. Updates.OfKind(updates, "usage_update").Select(u => u.GetProperty("used").GetInt64())];
        Assert.Equal(2, used.Length);
        JsonElement counts = response.GetProperty("result").GetProperty("_meta").GetProperty("gptoss").GetProperty("usage");
        Assert.Equal(engine.PromptTokens.Sum(p => p.Length), counts.GetProperty("promptTokens").GetInt64());
        Assert.Equal(used[1], counts.GetProperty("contextUsed").GetInt64());
        Assert.Equal(engine.PromptTokens[1].Length + Tokens(Answer), used[1]);
    }

    [Fact]
    public async Task Status_shows_the_context_the_last_route_and_the_runtime()
    {
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent);
        (_, List<JsonElement> first) = await agent.PromptAsync(session, "hi");
        long used = Updates.OfKind(first, "usage_update").Single().GetProperty("used").GetInt64();

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "/status");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Single(engine.Prompts);
        string expected = string.Create(
            CultureInfo.InvariantCulture,
            $"**Models**\n- gpt-oss: fake\n\n**Context**: {used:N0} of 8,192 tokens ({100.0 * used / 8192:0}%)\n\n**Last route**: gpt-oss — no fast model is configured\n\n**Runtime**: fake\n");
        Assert.Equal(expected, Updates.Text(updates, "agent_message_chunk"));
        Assert.Single(Updates.OfKind(updates, "agent_message_chunk"));

        // Not part of the conversation the model reads.
        await agent.PromptAsync(session, "again");
        Assert.DoesNotContain("**Models**", engine.Prompts[1], StringComparison.Ordinal);
        Assert.DoesNotContain("/status", engine.Prompts[1], StringComparison.Ordinal);
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Status_lists_each_model_with_its_state()
    {
        var model = new CountingModel();
        await using var agent = new AgentHarness(new ModelEngine(new FakeEngine(Answer), model));
        (string session, _) = await OpenAsync(agent);

        (_, List<JsonElement> updates) = await agent.PromptAsync(session, "/status");

        string text = Updates.Text(updates, "agent_message_chunk");
        Assert.StartsWith("**Models**\n- gpt-oss: ready (tiny test model) — `tiny.gguf`, 8,192-token context\n\n**Context**: ", text, StringComparison.Ordinal);
        Assert.Contains("**Last route**: none yet\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Unload_unloads_every_model_as_the_extension_does()
    {
        var model = new CountingModel();
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(new ModelEngine(engine, model));
        (string session, _) = await OpenAsync(agent);

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "/unload");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal(1, model.Unloads);
        Assert.Equal("Unloaded gpt-oss. The next prompt loads it again.", Updates.Text(updates, "agent_message_chunk"));
        Assert.Empty(engine.Prompts);
    }

    [Fact]
    public async Task Unload_without_models_says_so()
    {
        await using var agent = new AgentHarness(new FakeEngine(Answer));
        (string session, _) = await OpenAsync(agent);

        (_, List<JsonElement> updates) = await agent.PromptAsync(session, "/unload");

        Assert.Equal("Nothing to unload: fake keeps no model in memory.", Updates.Text(updates, "agent_message_chunk"));
    }

    [Fact]
    public async Task Compact_compacts_every_earlier_turn_now_reports_it_and_the_next_prompt_starts_from_it()
    {
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent, new { session = new { compaction = new { } } });
        for (int n = 1; n <= 3; n++)
        {
            await agent.PromptAsync(session, Request(n));
        }

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "/compact");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal(3, engine.Prompts.Count);
        JsonElement usage = Assert.Single(Updates.OfKind(updates, "usage_update"));
        long before = engine.PromptTokens[2].Length + Tokens(Answer);
        long after = usage.GetProperty("used").GetInt64();
        Assert.True(after < before, $"{after} tokens after, {before} before");
        Assert.Equal(8192, usage.GetProperty("size").GetInt64());
        string text = Updates.Text(updates, "agent_message_chunk");
        Assert.StartsWith("Compacted the conversation: removed the 2 oldest turns, kept the latest turn and a note of the first request. ", text, StringComparison.Ordinal);
        Assert.EndsWith(string.Create(CultureInfo.InvariantCulture, $" → {after:N0} of 8,192 tokens."), text, StringComparison.Ordinal);
        JsonElement[] compaction = [.. Updates.OfKind(updates, "compaction_update")];
        Assert.Equal(["in_progress", "completed"], compaction.Select(u => u.GetProperty("status").GetString()));
        Assert.Equal(text, compaction[1].GetProperty("summary")[0].GetProperty("text").GetString());

        (_, List<JsonElement> next) = await agent.PromptAsync(session, Request(4));
        string prompt = engine.Prompts[3];
        Assert.Contains("the earlier conversation, 2 turns, was removed", prompt, StringComparison.Ordinal);
        Assert.Contains($"Its first request was: \"{Request(1)}\"", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain($"<|start|>user<|message|>{Request(2)}<|end|>", prompt, StringComparison.Ordinal);
        Assert.Contains($"<|start|>user<|message|>{Request(3)}<|end|>", prompt, StringComparison.Ordinal);
        // The meter agrees with what the model then read.
        Assert.Equal(engine.PromptTokens[3].Length + Tokens(Answer), Updates.OfKind(next, "usage_update").Single().GetProperty("used").GetInt64());
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Compact_with_nothing_to_compact_says_so()
    {
        var engine = new FakeEngine(Answer);
        await using var agent = new AgentHarness(engine);
        (string session, _) = await OpenAsync(agent);
        await agent.PromptAsync(session, "Request 1");

        (_, List<JsonElement> updates) = await agent.PromptAsync(session, "/compact");

        long used = Updates.OfKind(updates, "usage_update").Single().GetProperty("used").GetInt64();
        Assert.Equal(
            string.Create(CultureInfo.InvariantCulture, $"Nothing to compact: the conversation is at most one turn ({used:N0} of 8,192 tokens)."),
            Updates.Text(updates, "agent_message_chunk"));
        Assert.Empty(Updates.OfKind(updates, "compaction_update"));
    }

    [Fact]
    public async Task A_command_is_cancellable_like_any_turn()
    {
        await using var agent = new AgentHarness(new NeverReadyEngine());
        (string session, _) = await OpenAsync(agent);

        // /compact waits for the session's engine state, which never comes.
        int id = await agent.SendPromptAsync(session, "/compact");
        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement response, _) = await agent.ResponseAsync(id);

        Assert.Equal("cancelled", Updates.StopReason(response));
    }

    [Fact]
    public async Task Load_and_resume_advertise_the_commands_after_their_answer_and_a_compaction_is_stored()
    {
        string state = Path.Combine(_root, "state");
        var options = new AgentOptions { StateDirectory = state };
        string session;
        await using (var first = new AgentHarness(new FakeEngine(Answer), options))
        {
            (session, _) = await OpenAsync(first);
            await first.PromptAsync(session, "Request 1");
            await first.PromptAsync(session, "Request 2");
            await first.PromptAsync(session, "/effort low");
            await first.PromptAsync(session, "/compact");
        }

        var engine = new FakeEngine(Answer);
        await using var second = new AgentHarness(engine, options);
        await second.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        foreach (string method in new[] { "session/load", "session/resume" })
        {
            (_, List<JsonElement> before) = await second.RequestAsync(method, new { sessionId = session, cwd = "/workspace", mcpServers = Array.Empty<object>() });
            Assert.DoesNotContain(before, n => Updates.Kind(n) == "available_commands_update");
            JsonElement next = await second.NextAsync();
            Assert.Equal(s_commands, Names(Updates.Update(next)));
            // The commands were not turns: the replay shows the two requests, not /effort or /compact.
            if (method == "session/load")
            {
                Assert.Equal(["Request 1", "Request 2"], Updates.OfKind(before, "user_message_chunk").Select(u => u.GetProperty("content").GetProperty("text").GetString()));
            }
        }

        await second.PromptAsync(session, "Request 3");
        string prompt = Assert.Single(engine.Prompts);
        Assert.Contains("\n\nReasoning: low\n\n", prompt, StringComparison.Ordinal);
        Assert.Contains("the earlier conversation, 1 turn, was removed", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("<|start|>user<|message|>Request 1<|end|>", prompt, StringComparison.Ordinal);
        Assert.Contains("<|start|>user<|message|>Request 2<|end|>", prompt, StringComparison.Ordinal);
    }

    /// <summary>Every session/update the agent wrote passes the ACP SDK's schema.</summary>
    private static async Task AssertValidAsync(AgentHarness agent)
    {
        string traffic = string.Join('\n', agent.Written
            .Where(w => w.TryGetProperty("method", out JsonElement method) && method.GetString() == "session/update")
            .Select(w => w.GetRawText()));
        ProcessResult validation = await AcpValidator.RunAsync(traffic + "\n");
        Assert.True(validation.ExitCode == 0, validation.Output);
    }

    private static int Tokens(string literal)
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize(literal, O200kByteTokenizer.Instance, tokens);
        return tokens.Count;
    }

    /// <summary>A loaded model that counts its unloads.</summary>
    private sealed class CountingModel : IModel
    {
        private int _unloads;

        public int Unloads => Volatile.Read(ref _unloads);

        public ModelRole Role => ModelRole.GptOss;

        public ModelState State => ModelState.Ready;

        public ModelStatus GetStatus() => new(ModelRole.GptOss, ModelState.Ready, "/models/tiny.gguf") { ContextSize = 8192, Description = "tiny test model", LoadProgress = 1 };

        public void StartLoading()
        {
        }

        public Task LoadAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task UnloadAsync()
        {
            Interlocked.Increment(ref _unloads);
            return Task.CompletedTask;
        }
    }

    /// <summary>The fake engine, with a model to report and unload.</summary>
    private sealed class ModelEngine(FakeEngine inner, IModel model) : IInferenceEngine
    {
        public string Description => inner.Description;

        public IReadOnlyList<IModel> Models => [model];

        public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => inner.CreateSessionAsync(cancellationToken);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    /// <summary>An engine whose sessions are never ready: whatever waits for one waits until cancelled.</summary>
    private sealed class NeverReadyEngine : IInferenceEngine
    {
        public string Description => "never ready";

        public async ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken)
        {
            await Task.Delay(Timeout.Infinite, cancellationToken);
            throw new InvalidOperationException("unreachable");
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
