using System.Globalization;
using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Agent;

/// <summary>Stored sessions through the protocol: list, load with replay, resume, close, delete, titles, and restarts.</summary>
public sealed class SessionLifecycleTests : IDisposable
{
    private const string Paris = "<|channel|>analysis<|message|>Secret thoughts.<|end|><|start|>assistant<|channel|>final<|message|>Paris.<|return|>";
    private const string Madrid = "<|channel|>final<|message|>Madrid.<|return|>";
    private readonly string _root = Path.Combine(Path.GetTempPath(), $"acp-gptoss-lifecycle-{Guid.NewGuid():N}");

    public SessionLifecycleTests() => Directory.CreateDirectory(Workspace);

    private string State => Path.Combine(_root, "state");

    private string Workspace => Path.Combine(_root, "w");

    public void Dispose() => Directory.Delete(_root, recursive: true);

    private AgentHarness Start(FakeEngine engine, int pageSize = 50) =>
        new(engine, new AgentOptions { StateDirectory = State, SessionListPageSize = pageSize });

    private static async Task<JsonElement> InitializeAsync(AgentHarness agent) =>
        (await agent.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } })).Response.GetProperty("result");

    private static JsonElement ErrorOf(JsonElement response) => response.GetProperty("error");

    [Fact]
    public async Task Initialize_advertises_load_and_the_session_methods_when_sessions_are_stored()
    {
        await using AgentHarness agent = Start(new FakeEngine());

        JsonElement capabilities = (await InitializeAsync(agent)).GetProperty("agentCapabilities");

        Assert.True(capabilities.GetProperty("loadSession").GetBoolean());
        Assert.Equal(
            ["additionalDirectories", "close", "delete", "list", "resume"],
            capabilities.GetProperty("sessionCapabilities").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_conversation_survives_a_restart_and_continues_with_its_history()
    {
        string session;
        await using (AgentHarness first = Start(new FakeEngine(Paris)))
        {
            session = await first.NewSessionAsync(Workspace);
            (JsonElement answered, List<JsonElement> updates) = await first.PromptAsync(session, "What is the capital of France?\nAnswer briefly.");
            Assert.Equal("end_turn", Updates.StopReason(answered));
            Assert.Equal("What is the capital of France?", Assert.Single(Updates.OfKind(updates, "session_info_update")).GetProperty("title").GetString());
        }

        Assert.Contains("Secret thoughts.", await File.ReadAllTextAsync(Path.Combine(State, "sessions", session + ".jsonl")), StringComparison.Ordinal);
        var engine = new FakeEngine(Madrid);
        await using AgentHarness second = Start(engine);
        await InitializeAsync(second);

        (JsonElement loaded, List<JsonElement> replay) = await second.RequestAsync(
            "session/load", new { sessionId = session, cwd = Workspace, mcpServers = Array.Empty<object>() });

        Assert.Equal("ask", loaded.GetProperty("result").GetProperty("modes").GetProperty("currentModeId").GetString());
        Assert.Equal("What is the capital of France?\nAnswer briefly.", Updates.Text(replay, "user_message_chunk"));
        Assert.Equal("Paris.", Updates.Text(replay, "agent_message_chunk"));
        Assert.DoesNotContain(replay, n => n.GetRawText().Contains("Secret thoughts", StringComparison.Ordinal));
        Assert.Equal("What is the capital of France?", Assert.Single(Updates.OfKind(replay, "session_info_update")).GetProperty("title").GetString());

        (JsonElement continued, List<JsonElement> after) = await second.PromptAsync(session, "And Spain?");

        Assert.Equal("end_turn", Updates.StopReason(continued));
        Assert.Empty(Updates.OfKind(after, "session_info_update"));
        string prompt = Assert.Single(engine.Prompts);
        Assert.Contains("What is the capital of France?", prompt, StringComparison.Ordinal);
        Assert.Contains("Paris.", prompt, StringComparison.Ordinal);
        Assert.True(prompt.IndexOf("Paris.", StringComparison.Ordinal) < prompt.IndexOf("And Spain?", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_compacted_conversation_is_stored_compacted_and_continues_so_after_a_restart()
    {
        const string Answer = "<|channel|>final<|message|>Short answer.<|return|>";
        const int MaxTokens = 64;
        static string Request(int n) => $"Request {n}: " + new string((char)('a' + n), 120);

        // A context the third prompt does not fit with its answer's room, sized from what the prompts really render.
        var sizing = new FakeEngine(Answer);
        await using (var measure = new AgentHarness(sizing, new AgentOptions { MaxTokens = MaxTokens }))
        {
            string scratch = await measure.NewSessionAsync();
            for (int n = 1; n <= 3; n++)
            {
                await measure.PromptAsync(scratch, Request(n));
            }
        }

        int contextSize = sizing.PromptTokens[2].Length + MaxTokens - 1;
        var options = new AgentOptions { StateDirectory = State, MaxTokens = MaxTokens };
        string session;
        var before = new FakeEngine(Answer) { ContextSize = contextSize };
        await using (var first = new AgentHarness(before, options))
        {
            session = await first.NewSessionAsync(Workspace);
            for (int n = 1; n <= 3; n++)
            {
                await first.PromptAsync(session, Request(n));
            }
        }

        Assert.Contains("removed to fit", before.Prompts[2], StringComparison.Ordinal);
        // A roomy context now, so the prompt shows the stored history as it is, with nothing compacted anew.
        var engine = new FakeEngine(Answer);
        await using var second = new AgentHarness(engine, options);
        await InitializeAsync(second);
        await second.RequestAsync("session/load", new { sessionId = session, cwd = Workspace, mcpServers = Array.Empty<object>() });

        (JsonElement continued, _) = await second.PromptAsync(session, Request(4));

        Assert.Equal("end_turn", Updates.StopReason(continued));
        string prompt = Assert.Single(engine.Prompts);
        // The history goes on as the last prompt before the restart had it: the note, then the turns it kept. The
        // first turn lives on in the note alone.
        string last = before.Prompts[2];
        string kept = last[last.IndexOf("(Note from the agent", StringComparison.Ordinal)..last.LastIndexOf("<|start|>assistant", StringComparison.Ordinal)];
        Assert.Contains(kept, prompt, StringComparison.Ordinal);
        Assert.Contains(Request(3), kept, StringComparison.Ordinal);
        Assert.Equal(1, Occurrences(prompt, Request(1)));
        Assert.Contains(Request(4), prompt, StringComparison.Ordinal);
    }

    private static int Occurrences(string text, string part)
    {
        int count = 0;
        for (int at = text.IndexOf(part, StringComparison.Ordinal); at >= 0; at = text.IndexOf(part, at + part.Length, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    [Fact]
    public async Task A_second_agent_opening_a_session_in_use_gets_a_clear_error()
    {
        await using AgentHarness first = Start(new FakeEngine());
        string session = await first.NewSessionAsync(Workspace);
        await using AgentHarness second = Start(new FakeEngine());
        await InitializeAsync(second);

        (JsonElement refused, _) = await second.RequestAsync("session/resume", new { sessionId = session, cwd = Workspace });

        Assert.Contains("open in another acp-gptoss process", ErrorOf(refused).GetProperty("message").GetString(), StringComparison.Ordinal);
        await first.RequestAsync("session/close", new { sessionId = session });
        (JsonElement resumed, _) = await second.RequestAsync("session/resume", new { sessionId = session, cwd = Workspace });
        Assert.True(resumed.TryGetProperty("result", out _), resumed.GetRawText());
    }

    [Fact]
    public async Task List_filters_by_cwd_and_pages_newest_first_with_titles()
    {
        await using AgentHarness agent = Start(new FakeEngine(Madrid, Madrid), pageSize: 1);
        string older = await agent.NewSessionAsync(Workspace);
        await agent.PromptAsync(older, "First question");
        (JsonElement other, _) = await agent.RequestAsync("session/new", new { cwd = _root, mcpServers = Array.Empty<object>() });
        string newer = (await agent.RequestAsync("session/new", new { cwd = Workspace, mcpServers = Array.Empty<object>() })).Response.GetProperty("result").GetProperty("sessionId").GetString()!;
        await agent.PromptAsync(newer, "Second question");

        JsonElement first = (await agent.RequestAsync("session/list", new { cwd = Workspace })).Response.GetProperty("result");
        string cursor = first.GetProperty("nextCursor").GetString()!;
        JsonElement second = (await agent.RequestAsync("session/list", new { cwd = Workspace, cursor })).Response.GetProperty("result");
        JsonElement all = (await agent.RequestAsync("session/list", new { })).Response.GetProperty("result");
        (JsonElement bad, _) = await agent.RequestAsync("session/list", new { cursor = "not-a-cursor" });

        JsonElement page1 = Assert.Single(first.GetProperty("sessions").EnumerateArray());
        JsonElement page2 = Assert.Single(second.GetProperty("sessions").EnumerateArray());
        Assert.Equal((newer, "Second question", Workspace), (page1.GetProperty("sessionId").GetString(), page1.GetProperty("title").GetString(), page1.GetProperty("cwd").GetString()));
        Assert.Equal((older, "First question"), (page2.GetProperty("sessionId").GetString(), page2.GetProperty("title").GetString()));
        Assert.True(DateTimeOffset.Parse(page1.GetProperty("updatedAt").GetString()!, CultureInfo.InvariantCulture) >= DateTimeOffset.Parse(page2.GetProperty("updatedAt").GetString()!, CultureInfo.InvariantCulture));
        Assert.False(second.TryGetProperty("nextCursor", out _));
        Assert.Single(all.GetProperty("sessions").EnumerateArray());
        Assert.Equal(-32602, Updates.ErrorCode(bad));
        Assert.NotEqual(other.GetProperty("result").GetProperty("sessionId").GetString(), page1.GetProperty("sessionId").GetString());
    }

    [Fact]
    public async Task Close_keeps_the_session_resume_continues_it_delete_removes_it()
    {
        var engine = new FakeEngine(Madrid, Madrid);
        await using AgentHarness agent = Start(engine);
        string session = await agent.NewSessionAsync(Workspace);
        await agent.PromptAsync(session, "Capital of Spain?");

        (JsonElement closed, _) = await agent.RequestAsync("session/close", new { sessionId = session });
        (JsonElement afterClose, _) = await agent.PromptAsync(session, "still there?");
        (JsonElement resumed, List<JsonElement> resumeUpdates) = await agent.RequestAsync("session/resume", new { sessionId = session, cwd = Workspace, mcpServers = Array.Empty<object>() });
        await agent.PromptAsync(session, "Again?");
        (JsonElement deleted, _) = await agent.RequestAsync("session/delete", new { sessionId = session });
        (JsonElement deletedAgain, _) = await agent.RequestAsync("session/delete", new { sessionId = session });
        (JsonElement loadDeleted, _) = await agent.RequestAsync("session/load", new { sessionId = session, cwd = Workspace, mcpServers = Array.Empty<object>() });
        (JsonElement closeUnknown, _) = await agent.RequestAsync("session/close", new { sessionId = "sess_unknown" });
        JsonElement listed = (await agent.RequestAsync("session/list", new { })).Response.GetProperty("result");

        Assert.True(closed.TryGetProperty("result", out _));
        Assert.Equal(-32002, Updates.ErrorCode(afterClose));
        Assert.True(resumed.TryGetProperty("result", out _));
        Assert.Empty(resumeUpdates);
        Assert.Contains("Capital of Spain?", engine.Prompts[1], StringComparison.Ordinal);
        Assert.Contains("Madrid.", engine.Prompts[1], StringComparison.Ordinal);
        Assert.True(deleted.TryGetProperty("result", out _));
        Assert.True(deletedAgain.TryGetProperty("result", out _));
        Assert.Equal((-32002, session), (Updates.ErrorCode(loadDeleted), ErrorOf(loadDeleted).GetProperty("data").GetProperty("sessionId").GetString()));
        Assert.Equal(-32002, Updates.ErrorCode(closeUnknown));
        Assert.Empty(listed.GetProperty("sessions").EnumerateArray());
        Assert.Empty(Directory.EnumerateFiles(Path.Combine(State, "sessions")));
    }

    [Fact]
    public async Task Settings_survive_a_restart()
    {
        string session;
        await using (AgentHarness first = Start(new FakeEngine()))
        {
            session = await first.NewSessionAsync(Workspace);
            await first.RequestAsync("session/set_mode", new { sessionId = session, modeId = "code" });
            await first.RequestAsync("session/set_config_option", new { sessionId = session, configId = "reasoning_effort", value = "high" });
        }

        await using AgentHarness second = Start(new FakeEngine());
        await InitializeAsync(second);
        JsonElement resumed = (await second.RequestAsync("session/resume", new { sessionId = session, cwd = Workspace })).Response.GetProperty("result");

        Assert.Equal("code", resumed.GetProperty("modes").GetProperty("currentModeId").GetString());
        Assert.Equal("high", resumed.GetProperty("configOptions").EnumerateArray().Single(o => o.GetProperty("id").GetString() == "reasoning_effort").GetProperty("currentValue").GetString());
    }

    [ClientsFact]
    public async Task A_replayed_tool_call_conversation_is_valid_ACP()
    {
        await File.WriteAllTextAsync(Path.Combine(Workspace, "notes.txt"), "line one\n");
        const string call = """<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{"path":"notes.txt"}<|call|>""";
        string session;
        await using (AgentHarness first = Start(new FakeEngine(call, Madrid)))
        {
            session = await first.NewSessionAsync(Workspace);
            await first.PromptAnsweringAsync(session, "read notes.txt", _ => throw new InvalidOperationException("no request expected"));
        }

        await using AgentHarness second = Start(new FakeEngine());
        await InitializeAsync(second);
        int before = second.Written.Count;
        (_, List<JsonElement> replay) = await second.RequestAsync("session/load", new { sessionId = session, cwd = Workspace, mcpServers = Array.Empty<object>() });

        JsonElement started = Assert.Single(Updates.OfKind(replay, "tool_call"));
        Assert.Equal("completed", Updates.OfKind(replay, "tool_call_update").Last().GetProperty("status").GetString());
        Assert.Equal(started.GetProperty("toolCallId").GetString(), Updates.OfKind(replay, "tool_call_update").Last().GetProperty("toolCallId").GetString());
        string traffic = string.Join('\n', second.Written.Skip(before).Select(l => l.GetRawText()));
        ProcessResult validation = await AcpValidator.RunAsync(traffic, "--assume-response", "session/load");
        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error + traffic);
    }
}
