using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Acp.GptOss.Tests.Support;
using Acp.Protocol;

namespace Acp.GptOss.Tests;

/// <summary>Our files follow our schemas, and the schemas reject what they should.</summary>
public sealed class SchemaTests
{
    [Fact]
    public void Golden_cases_follow_their_schema()
    {
        JsonSchemaValidator schema = JsonSchemaValidator.Load("harmony-golden-case.schema.json");

        foreach (string file in Directory.EnumerateFiles(CliRunner.GoldenPath("harmony"), "*.json"))
        {
            Assert.True(schema.Validate(File.ReadAllText(file)) is [], $"{file}: {string.Join("; ", schema.Validate(File.ReadAllText(file)))}");
        }
    }

    [Fact]
    public void Render_conversations_follow_their_schema()
    {
        JsonSchemaValidator schema = JsonSchemaValidator.Load("harmony-conversation.schema.json");

        foreach (string file in Directory.EnumerateFiles(CliRunner.GoldenPath("render"), "*.conversation.json"))
        {
            Assert.True(schema.Validate(File.ReadAllText(file)) is [], $"{file}: {string.Join("; ", schema.Validate(File.ReadAllText(file)))}");
        }
    }

    [Theory]
    [InlineData("""{"type":"chunk","channel":"final","text":""}""", "shorter than 1")]
    [InlineData("""{"type":"chunk","channel":"analysis","text":"x"}""", "not one of")]
    [InlineData("""{"type":"message","author":"assistant","channel":null,"recipient":null,"contentType":null,"route":"final","text":"x"}""", "missing terminator")]
    [InlineData("""{"type":"stop","reason":"done"}""", "not one of")]
    [InlineData("""{"type":"stop","reason":"end_turn","extra":1}""", "unexpected property extra")]
    [InlineData("""{"type":"toolCall","recipient":"f","channel":null,"contentType":null}""", "missing arguments")]
    public void Event_schema_rejects_malformed_lines(string line, string reason)
    {
        JsonSchemaValidator schema = JsonSchemaValidator.Load("harmony-parse-event.schema.json");
        using var document = System.Text.Json.JsonDocument.Parse(line);
        string type = document.RootElement.GetProperty("type").GetString()!;

        Assert.Contains(schema.Validate(line), e => e.Contains("oneOf", StringComparison.Ordinal));
        Assert.Contains(schema.ValidateDefinition(type, line), e => e.Contains(reason, StringComparison.Ordinal));
    }

    [Fact]
    public void Conversation_schema_rejects_an_assistant_message_without_channel()
    {
        JsonSchemaValidator schema = JsonSchemaValidator.Load("harmony-conversation.schema.json");

        Assert.NotEmpty(schema.Validate("""{"messages":[{"role":"assistant","content":"x"}]}"""));
        Assert.Empty(schema.Validate("""{"messages":[{"role":"assistant","channel":"final","content":"x"}]}"""));
    }

    [Fact]
    public async Task Compaction_updates_follow_the_ACP_schema()
    {
        string[] lines =
        [
            Notification(new CompactionUpdate("compaction_1", CompactionStatus.InProgress)),
            Notification(new CompactionUpdate("compaction_1", CompactionStatus.Completed) { Summary = [new TextContent("The 2 oldest turns were removed.")] }),
            Notification(new CompactionUpdate("compaction_2", CompactionStatus.Failed) { Error = "The turn alone does not fit." }),
        ];

        Assert.Contains("\"sessionUpdate\":\"compaction_update\"", lines[0], StringComparison.Ordinal);
        Assert.Contains("\"status\":\"in_progress\"", lines[0], StringComparison.Ordinal);
        Assert.DoesNotContain("summary", lines[0], StringComparison.Ordinal);
        ProcessResult validation = await AcpValidator.RunAsync(string.Join('\n', lines) + "\n");
        Assert.True(validation.ExitCode == 0, validation.Output);
    }

    [Fact]
    public void The_client_s_compaction_capability_is_read_from_initialize()
    {
        InitializeRequest request = JsonSerializer.Deserialize(
            """{"protocolVersion":1,"clientCapabilities":{"session":{"compaction":{},"notices":null}}}""", AcpJsonContext.Default.InitializeRequest)!;

        Assert.NotNull(request.ClientCapabilities?.Session?.Compaction);
        Assert.Null(request.ClientCapabilities!.Session!.Notices);
    }

    private static string Notification(SessionUpdate update) =>
        $$"""{"jsonrpc":"2.0","method":"session/update","params":{{JsonSerializer.Serialize(new SessionNotification("sess_1", update), AcpJsonContext.Default.SessionNotification)}}}""";

    [ClientsFact]
    public async Task Session_lifecycle_messages_follow_the_ACP_schema()
    {
        AcpJsonContext json = AcpJsonContext.Default;
        var mode = new SessionModeState("default", [new SessionMode("default", "Default")]);
        var traffic = new List<string>
        {
            Request(1, AcpMethods.SessionList, new ListSessionsRequest { Cwd = "/w", Cursor = "c1" }, json.ListSessionsRequest),
            Result(1, new ListSessionsResponse([new SessionInfo("s1", "/w") { Title = "Fix the build", UpdatedAt = "2026-01-02T03:04:05Z", AdditionalDirectories = ["/x"] }]) { NextCursor = "c2" }, json.ListSessionsResponse),
            Request(2, AcpMethods.SessionLoad, new LoadSessionRequest("s1", "/w", []) { AdditionalDirectories = ["/x"] }, json.LoadSessionRequest),
            Notification(new SessionNotification("s1", new UserMessageChunk(new TextContent("hi"))), json.SessionNotification),
            Notification(new SessionNotification("s1", new SessionInfoUpdate { Title = "hi", UpdatedAt = "2026-01-02T03:04:05Z" }), json.SessionNotification),
            Result(2, new LoadSessionResponse { Modes = mode, ConfigOptions = [] }, json.LoadSessionResponse),
            Request(3, AcpMethods.SessionResume, new ResumeSessionRequest("s1", "/w"), json.ResumeSessionRequest),
            Result(3, new ResumeSessionResponse { Modes = mode }, json.ResumeSessionResponse),
            Request(4, AcpMethods.SessionClose, new CloseSessionRequest("s1"), json.CloseSessionRequest),
            Result(4, new CloseSessionResponse(), json.CloseSessionResponse),
            Request(5, AcpMethods.SessionDelete, new DeleteSessionRequest("s1"), json.DeleteSessionRequest),
            Result(5, new DeleteSessionResponse(), json.DeleteSessionResponse),
            Result(6, new InitializeResponse(
                1,
                new AgentCapabilities(true, new PromptCapabilities(false, false, true))
                {
                    SessionCapabilities = new SessionCapabilities { List = new(), Resume = new(), Close = new(), Delete = new() },
                },
                [],
                new Implementation("a", "1")), json.InitializeResponse),
        };

        ProcessResult validation = await AcpValidator.RunAsync(string.Join('\n', traffic), "--assume-response", "initialize");

        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error);
        Assert.Contains("13 messages, 0 problems", validation.Output, StringComparison.Ordinal);
    }

    private static string Request<T>(int id, string method, T parameters, JsonTypeInfo<T> type) =>
        $$"""{"jsonrpc":"2.0","id":{{id}},"method":"{{method}}","params":{{JsonSerializer.Serialize(parameters, type)}}}""";

    private static string Result<T>(int id, T result, JsonTypeInfo<T> type) =>
        $$"""{"jsonrpc":"2.0","id":{{id}},"result":{{JsonSerializer.Serialize(result, type)}}}""";

    private static string Notification<T>(T parameters, JsonTypeInfo<T> type) =>
        $$"""{"jsonrpc":"2.0","method":"session/update","params":{{JsonSerializer.Serialize(parameters, type)}}}""";
}
