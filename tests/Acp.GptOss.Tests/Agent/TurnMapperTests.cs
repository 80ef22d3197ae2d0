using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Cli;
using Acp.GptOss.Tests.Support;
using Acp.Protocol;
using Harmony;
using Harmony.Parsing;

namespace Acp.GptOss.Tests.Agent;

/// <summary>The mapper on its own: the tokens of every golden case in, ACP updates and the model call's result out.</summary>
public sealed class TurnMapperTests
{
    public static TheoryData<string, string> Cases()
    {
        var data = new TheoryData<string, string>();
        foreach (string file in Directory.EnumerateFiles(CliRunner.GoldenPath("harmony"), "*.json").Order(StringComparer.Ordinal))
        {
            foreach (string display in new[] { "hidden", "status", "full" })
            {
                data.Add(Path.GetFileName(file), display);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Visible_messages_and_only_they_become_message_chunks(string file, string display)
    {
        using JsonDocument golden = JsonDocument.Parse(File.ReadAllBytes(CliRunner.GoldenPath("harmony", file)));
        JsonElement root = golden.RootElement;
        JsonElement expect = root.GetProperty("expect");
        Assert.True(SessionSettings.TryParseDisplay(display, out ReasoningDisplay reasoningDisplay));
        int ids = 0;
        var mapper = new TurnMapper(O200kByteTokenizer.Instance, reasoningDisplay, new TurnState(() => $"m{++ids}"));

        string path = CliRunner.GoldenPath("harmony", file);
        CompletionInput input = CompletionInput.FromFile(path, File.ReadAllBytes(path), O200kByteTokenizer.Instance);
        mapper.Push(input.Tokens);
        ModelCallResult call = input.CancelAfterLast ? mapper.Cancel() : mapper.Finish();

        SessionUpdate[] updates = mapper.TakeUpdates();
        AgentMessageChunk[] chunks = [.. updates.OfType<AgentMessageChunk>()];
        string[] expectedVisible = [.. expect.GetProperty("visible").EnumerateArray().Select((v, i) => (i > 0 ? "\n\n" : "") + v.GetProperty("text").GetString())];
        Assert.Equal(expectedVisible, chunks.GroupBy(c => c.MessageId).Select(g => string.Concat(g.Select(c => ((TextContent)c.Content).Text))));
        Assert.All(chunks, c => Assert.NotEqual("", ((TextContent)c.Content).Text));

        string thoughts = string.Concat(updates.OfType<AgentThoughtChunk>().Select(t => ((TextContent)t.Content).Text));
        int analysisMessages = expect.GetProperty("messages").EnumerateArray().Count(m => m.GetProperty("route").GetString() == "analysis");
        string visibleText = string.Concat(chunks.Select(c => ((TextContent)c.Content).Text));
        switch (reasoningDisplay)
        {
            case ReasoningDisplay.Hidden:
                Assert.Equal("", thoughts);
                break;
            case ReasoningDisplay.Status:
                Assert.Equal(string.Concat(Enumerable.Repeat(TurnMapper.ThinkingStatus, analysisMessages)), thoughts);
                break;
        }

        foreach (string hidden in expect.GetProperty("hiddenTexts").EnumerateArray().Select(h => h.GetString()!))
        {
            Assert.DoesNotContain(hidden, visibleText, StringComparison.Ordinal);
            if (reasoningDisplay != ReasoningDisplay.Full)
            {
                Assert.DoesNotContain(hidden, thoughts, StringComparison.Ordinal);
            }
        }

        Assert.Equal(expect.GetProperty("stop").GetString(), call.StopReason switch
        {
            HarmonyStopReason.EndTurn => "end_turn",
            HarmonyStopReason.ToolCall => "tool_call",
            HarmonyStopReason.MaxTokens => "max_tokens",
            _ => "cancelled",
        });
        Assert.Equal(expect.GetProperty("toolCall").ValueKind != JsonValueKind.Null, call.ToolCall is not null);
    }
}
