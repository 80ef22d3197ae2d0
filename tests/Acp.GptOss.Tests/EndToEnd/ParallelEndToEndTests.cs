using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.EndToEnd;

/// <summary>
/// The built agent with <c>--parallel</c>, on real llama.cpp with a generated model: two sessions answer at the same
/// time in one shared context; cancelling one answers <c>cancelled</c> and leaves the other's answer exactly what it
/// is when it runs alone.
/// </summary>
public sealed class ParallelEndToEndTests
{
    // " world" follows itself once the chain ends: every answer runs to the token budget.
    private const string Endless = "<|channel|>final<|message|>Hello world";

    [ModelFact]
    public async Task Two_sessions_answer_at_once_and_cancelling_one_leaves_the_others_answer_whole()
    {
        await using AgentHarness agent = AgentHarness.StartProcess("--model", TestModels.Chain(Endless), "--temperature", "0", "--parallel", "2", "--max-tokens", "200");
        string first = await agent.NewSessionAsync();
        (JsonElement created, _) = await agent.RequestAsync("session/new", new { cwd = "/workspace", mcpServers = Array.Empty<object>() });
        string second = created.GetProperty("result").GetProperty("sessionId").GetString()!;

        int firstPrompt = await agent.SendPromptAsync(first, "Keep talking.");
        int secondPrompt = await agent.SendPromptAsync(second, "Keep talking.");
        // Both are under way: each has shown its first words.
        var started = new HashSet<string>();
        var lines = new List<JsonElement>();
        while (started.Count < 2)
        {
            JsonElement line = await agent.NextAsync();
            lines.Add(line);
            if (line.TryGetProperty("method", out _) && Updates.Kind(line) == "agent_message_chunk")
            {
                started.Add(line.GetProperty("params").GetProperty("sessionId").GetString()!);
            }
        }

        await agent.NotifyAsync("session/cancel", new { sessionId = first });
        var responses = new Dictionary<int, JsonElement>();
        while (responses.Count < 2)
        {
            JsonElement line = await agent.NextAsync();
            lines.Add(line);
            if (line.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.Number)
            {
                responses[id.GetInt32()] = line;
            }
        }

        // The reference: the same prompt in a third session, alone.
        string third = (await agent.RequestAsync("session/new", new { cwd = "/workspace", mcpServers = Array.Empty<object>() })).Response.GetProperty("result").GetProperty("sessionId").GetString()!;
        (JsonElement alone, List<JsonElement> aloneUpdates) = await agent.PromptAsync(third, "Keep talking.");

        Assert.Equal("cancelled", Updates.StopReason(responses[firstPrompt]));
        Assert.Equal("max_tokens", Updates.StopReason(responses[secondPrompt]));
        Assert.Equal("max_tokens", Updates.StopReason(alone));
        string expected = Updates.Text(aloneUpdates, "agent_message_chunk");
        Assert.StartsWith("Hello world world", expected, StringComparison.Ordinal);
        Assert.Equal(expected, Updates.Text(lines.Where(l => l.TryGetProperty("method", out _) && SessionOf(l) == second), "agent_message_chunk"));
        string cut = Updates.Text(lines.Where(l => l.TryGetProperty("method", out _) && SessionOf(l) == first), "agent_message_chunk");
        Assert.StartsWith(cut, expected, StringComparison.Ordinal);
        Assert.True(cut.Length < expected.Length, cut);
    }

    private static string? SessionOf(JsonElement notification) =>
        notification.GetProperty("params").TryGetProperty("sessionId", out JsonElement id) ? id.GetString() : null;
}
