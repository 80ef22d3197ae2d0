using System.Text.Json;
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
}
