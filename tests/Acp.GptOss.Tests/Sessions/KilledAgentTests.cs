using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Sessions;

/// <summary>An agent process killed (SIGKILL) mid-turn loses that turn only: the session loads with what came before.</summary>
public sealed class KilledAgentTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("acp-gptoss-killed-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [Fact]
    public async Task A_session_loads_after_its_agent_is_killed_mid_turn()
    {
        string script = Path.Combine(_folder, "script");
        Directory.CreateDirectory(script);
        await File.WriteAllTextAsync(Path.Combine(script, "1.txt"), "<|channel|>final<|message|>First answer.<|return|>");
        await File.WriteAllTextAsync(Path.Combine(script, "2.txt"), $"<|channel|>final<|message|>{string.Concat(Enumerable.Repeat("slow ", 500))}<|return|>");
        string[] arguments = ["--engine", "script", "--script", script, "--token-delay-ms", "20"];

        string session;
        await using (AgentHarness first = AgentHarness.StartProcess(arguments))
        {
            session = await first.NewSessionAsync(_folder);
            await first.PromptAsync(session, "first question");
            await first.SendPromptAsync(session, "second question");
            // The second turn is under way: its first words reached the client.
            while (await first.NextAsync() is var line && !(line.TryGetProperty("method", out _) && Updates.Kind(line) == "agent_message_chunk"))
            {
            }

            first.Kill();
            await first.Completion;
        }

        await using AgentHarness second = AgentHarness.StartProcess(arguments);
        await second.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        (JsonElement loaded, List<JsonElement> replay) = await second.RequestAsync("session/load", new { sessionId = session, cwd = _folder, mcpServers = Array.Empty<object>() });

        Assert.True(loaded.TryGetProperty("result", out _), loaded.GetRawText());
        Assert.Equal("first question", Updates.Text(replay, "user_message_chunk"));
        Assert.Equal("First answer.", Updates.Text(replay, "agent_message_chunk"));
        (JsonElement next, _) = await second.PromptAsync(session, "third question");
        Assert.Equal("end_turn", Updates.StopReason(next));
    }
}
