using System.Text.Json;

namespace Acp.Protocol.Tests;

/// <summary>The wire shape of the agent's requests to the client and of the new session fields, as ACP v1's schema has them.</summary>
public sealed class ClientRequestMessageTests
{
    private static readonly AcpJsonContext s_json = AcpJsonContext.Default;

    [Fact]
    public void A_permission_request_carries_a_plain_tool_call_update_and_kinds_in_snake_case()
    {
        var request = new RequestPermissionRequest(
            "sess_1",
            new ToolCallProgress("call_1")
            {
                Title = "Edit a.cs",
                Kind = ToolKind.Edit,
                Status = ToolCallStatus.Pending,
                Locations = [new ToolCallLocation("/w/a.cs") { Line = 3 }],
                Content = [new ToolCallDiff("/w/a.cs", null, "new"), new ToolCallTerminal("term_1")],
            },
            [new PermissionOption("allow_always", "Always allow edits", PermissionOptionKind.AllowAlways)]);

        string json = JsonSerializer.Serialize(request, s_json.RequestPermissionRequest);

        Assert.Equal(
            """{"sessionId":"sess_1","toolCall":{"toolCallId":"call_1","title":"Edit a.cs","kind":"edit","status":"pending","locations":[{"path":"/w/a.cs","line":3}],"content":[{"type":"diff","path":"/w/a.cs","newText":"new"},{"type":"terminal","terminalId":"term_1"}]},"options":[{"optionId":"allow_always","name":"Always allow edits","kind":"allow_always"}]}""",
            json);
    }

    [Theory]
    [InlineData("""{"outcome":{"outcome":"selected","optionId":"reject_once"}}""", "reject_once")]
    [InlineData("""{"outcome":{"optionId":"allow_once","outcome":"selected"}}""", "allow_once")]
    [InlineData("""{"outcome":{"outcome":"cancelled"}}""", null)]
    public void Permission_outcomes_read_either_way(string json, string? optionId)
    {
        RequestPermissionResponse response = JsonSerializer.Deserialize(json, s_json.RequestPermissionResponse)!;

        Assert.Equal(optionId, (response.Outcome as SelectedPermissionOutcome)?.OptionId);
        Assert.Equal(optionId is null, response.Outcome is CancelledPermissionOutcome);
    }

    [Fact]
    public void Session_new_reads_env_headers_and_additional_directories()
    {
        NewSessionRequest request = JsonSerializer.Deserialize(
            """{"cwd":"/w","additionalDirectories":["/x"],"mcpServers":[{"name":"fs","command":"/bin/s","args":[],"env":[{"name":"K","value":"V"}]},{"type":"http","name":"api","url":"https://h/mcp","headers":[{"name":"Authorization","value":"Bearer t"}]}]}""",
            s_json.NewSessionRequest)!;

        Assert.Equal(["/x"], request.AdditionalDirectories!);
        Assert.Equal(new NameValue("K", "V"), Assert.Single(request.McpServers[0].Env!));
        Assert.Equal(("http", new NameValue("Authorization", "Bearer t")), (request.McpServers[1].Type, Assert.Single(request.McpServers[1].Headers!)));
    }

    [Fact]
    public void Terminal_output_reads_an_exit_by_signal()
    {
        TerminalOutputResponse output = JsonSerializer.Deserialize(
            """{"output":"x","truncated":true,"exitStatus":{"exitCode":null,"signal":"SIGKILL"}}""", s_json.TerminalOutputResponse)!;

        Assert.Equal(("x", true, null, "SIGKILL"), (output.Output, output.Truncated, output.ExitStatus!.ExitCode, output.ExitStatus.Signal));
    }

    [Fact]
    public void Modes_and_the_mode_update_serialize_as_the_schema_has_them()
    {
        string modes = JsonSerializer.Serialize(
            new NewSessionResponse("sess_1") { Modes = new SessionModeState("ask", [new SessionMode("ask", "Ask") { Description = "d" }]) },
            s_json.NewSessionResponse);
        string update = JsonSerializer.Serialize(new SessionNotification("sess_1", new CurrentModeUpdate("code")), s_json.SessionNotification);

        Assert.Equal("""{"sessionId":"sess_1","modes":{"currentModeId":"ask","availableModes":[{"id":"ask","name":"Ask","description":"d"}]}}""", modes);
        Assert.Equal("""{"sessionId":"sess_1","update":{"sessionUpdate":"current_mode_update","currentModeId":"code"}}""", update);
    }
}
