using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Tests.Support;
using Acp.GptOss.Tests.Tools.Mcp;

namespace Acp.GptOss.Tests.Agent;

/// <summary>An MCP server passed in session/new: its tools are offered to the model and called through the tool-call flow.</summary>
public sealed class McpToolCallTests : IDisposable
{
    private readonly string _workspace = Directory.CreateTempSubdirectory("mcp-agent-").FullName;

    public void Dispose() => Directory.Delete(_workspace, recursive: true);

    private string PidFile => Path.Combine(_workspace, "server.pid");

    private object[] Servers() =>
    [
        new
        {
            name = "tests",
            command = "node",
            args = new[] { McpTestServer.Script },
            env = new[] { new { name = "MCP_TEST_PID_FILE", value = PidFile } },
        },
    ];

    [NodeFact]
    public async Task The_model_calls_an_MCP_tool_with_permission_and_the_server_stops_with_the_agent()
    {
        var engine = new FakeEngine(
            "<|channel|>commentary to=functions.tests__echo <|constrain|>json<|message|>{\"text\":\"hi from mcp\"}<|call|>",
            "<|channel|>final<|message|>It echoed.<|return|>");
        int pid;
        await using (var agent = new AgentHarness(engine))
        {
            JsonElement session = await agent.NewSessionAsync(_workspace, new { }, Servers());
            (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(
                session.GetProperty("sessionId").GetString()!, "echo it", _ => new { outcome = new { outcome = "selected", optionId = "allow_once" } });

            Assert.Equal("end_turn", Updates.StopReason(response));
            JsonElement permission = Assert.Single(requests);
            Assert.Equal("tests: echo", permission.GetProperty("params").GetProperty("toolCall").GetProperty("title").GetString());
            JsonElement last = Updates.OfKind(updates, "tool_call_update").Last();
            Assert.Equal("completed", last.GetProperty("status").GetString());
            Assert.Equal("hi from mcp", last.GetProperty("content")[0].GetProperty("content").GetProperty("text").GetString());
            Assert.Contains("// Returns its text.\ntype tests__echo = (_: {", engine.Prompts[0], StringComparison.Ordinal);
            Assert.Contains("<|start|>functions.tests__echo to=assistant<|channel|>commentary<|message|>hi from mcp<|end|>", engine.Prompts[1], StringComparison.Ordinal);
            pid = int.Parse(await File.ReadAllTextAsync(PidFile), System.Globalization.CultureInfo.InvariantCulture);
            Assert.False(await ProcessState.IsGoneAsync(pid, TimeSpan.Zero), "the server runs while the session does");
        }

        // The agent ended with its input: the server went with it.
        Assert.True(await ProcessState.IsGoneAsync(pid, AgentHarness.Timeout), $"the MCP server (pid {pid}) still runs after the agent ended");
    }

    [NodeFact]
    public async Task With_local_tools_off_no_stdio_server_is_started()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>Fine.<|return|>");
        await using (var agent = new AgentHarness(engine, new AgentOptions { LocalTools = false }))
        {
            JsonElement session = await agent.NewSessionAsync(_workspace, new { }, Servers());
            (JsonElement response, _) = await agent.PromptAsync(session.GetProperty("sessionId").GetString()!, "hi");

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.DoesNotContain("tests__", engine.Prompts[0], StringComparison.Ordinal);
        }

        Assert.False(File.Exists(PidFile), "the stdio server was started");
    }

    [NodeFact]
    public async Task A_server_that_cannot_start_leaves_the_workspace_tools_and_the_session_works()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>Fine.<|return|>");
        await using var agent = new AgentHarness(engine);
        JsonElement session = await agent.NewSessionAsync(_workspace, new { }, [new { name = "broken", command = "/nonexistent/mcp-server", args = Array.Empty<string>(), env = Array.Empty<object>() }]);

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session.GetProperty("sessionId").GetString()!, "hi");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal("Fine.", Updates.Text(updates, "agent_message_chunk"));
        Assert.Contains("type read_file = ", engine.Prompts[0], StringComparison.Ordinal);
        Assert.DoesNotContain("broken__", engine.Prompts[0], StringComparison.Ordinal);
    }
}
