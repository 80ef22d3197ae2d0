using System.Globalization;
using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Sessions;

/// <summary>
/// Warm resume through the built agent, on real llama.cpp with a generated model: a turn's end saves the session's
/// engine state beside its journal; another agent process that resumes the session restores it and prefills only what
/// follows; an agent with another context size refuses the file, deletes it, and answers all the same. Each with a
/// context per session and with sessions decoded together (<c>--parallel</c>).
/// </summary>
public sealed class WarmResumeTests : IDisposable
{
    private const string Answer = "<|channel|>final<|message|>Hello world<|return|>";

    private readonly string _workspace = Directory.CreateTempSubdirectory("acp-gptoss-warm-").FullName;

    public void Dispose() => Directory.Delete(_workspace, recursive: true);

    [ModelTheory]
    [InlineData("1")]
    [InlineData("2")]
    public async Task A_resumed_session_prefills_only_what_follows_its_saved_state_and_another_context_size_starts_cold(string parallel)
    {
        string model = TestModels.Chain(Answer);
        string session;
        await using (AgentHarness first = await StartAsync(model, "4096", parallel))
        {
            (JsonElement created, _) = await first.RequestAsync("session/new", new { cwd = _workspace, mcpServers = Array.Empty<object>() });
            session = created.GetProperty("result").GetProperty("sessionId").GetString()!;
            (JsonElement answered, _) = await first.PromptAsync(session, "Say hello.");
            Assert.Equal("end_turn", Updates.StopReason(answered));

            // The agent ends with its input: the session's state is written whole before it exits.
            await first.CloseInputAsync();
            await first.Completion;
        }

        string state = Path.Combine(Environment.GetEnvironmentVariable("XDG_STATE_HOME")!, "acp-gptoss", "sessions", session + ".kv");
        Assert.True(File.Exists(state), "the turn's end saved no state");

        await using (AgentHarness second = await StartAsync(model, "4096", parallel))
        {
            await ResumeAsync(second, session);
            JsonElement restored = await NextTelemetryAsync(second, t => Stage(t) == "state_restored");
            int restoredTokens = int.Parse(restored.GetProperty("detail").GetString()!.Split(' ')[0], CultureInfo.InvariantCulture);
            (JsonElement answered, List<JsonElement> updates) = await second.PromptAsync(session, "Again, please.");

            Assert.Equal("end_turn", Updates.StopReason(answered));
            Assert.Equal("Hello world", Updates.Text(updates, "agent_message_chunk"));
            JsonElement generation = await GenerationAsync(second);
            // The whole first turn (system, developer, request and answer) came from the file; only the new request was read.
            Assert.True(restoredTokens > 50, $"{restoredTokens} tokens restored");
            Assert.Equal(restoredTokens, generation.GetProperty("reusedTokens").GetInt32());
            Assert.Equal(generation.GetProperty("promptTokens").GetInt32() - restoredTokens, generation.GetProperty("prefilledTokens").GetInt32());
            Assert.True(generation.GetProperty("prefilledTokens").GetInt32() < 30, generation.GetRawText());
        }

        // Another context size: the state is of no use, and is dropped; the session answers from its journal.
        await using AgentHarness third = await StartAsync(model, "2048", parallel);
        await ResumeAsync(third, session);
        (JsonElement again, _) = await third.PromptAsync(session, "Once more.");

        Assert.Equal("end_turn", Updates.StopReason(again));
        JsonElement cold = await GenerationAsync(third);
        Assert.Equal(0, cold.GetProperty("reusedTokens").GetInt32());
        Assert.DoesNotContain(third.Written, w => Telemetry(w) is { } t && Stage(t) == "state_restored");
        Assert.Contains("is not used (written for a 4096-token context, not 2048)", third.Error, StringComparison.Ordinal);
    }

    // With --parallel 2 the session is a sequence of a context shared with others: its state is that sequence's.
    private static async Task<AgentHarness> StartAsync(string model, string contextSize, string parallel)
    {
        AgentHarness agent = AgentHarness.StartProcess("--model", model, "--temperature", "0", "--ctx-size", contextSize, "--parallel", parallel);
        await agent.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { _meta = new { gptoss = new { telemetry = true } } } });
        return agent;
    }

    private async Task ResumeAsync(AgentHarness agent, string session)
    {
        (JsonElement resumed, _) = await agent.RequestAsync("session/resume", new { sessionId = session, cwd = _workspace, mcpServers = Array.Empty<object>() });
        Assert.True(resumed.TryGetProperty("result", out _), resumed.GetRawText());
    }

    private static async Task<JsonElement> NextTelemetryAsync(AgentHarness agent, Func<JsonElement, bool> match)
    {
        while (true)
        {
            if (Telemetry(await agent.NextAsync()) is { } telemetry && match(telemetry))
            {
                return telemetry;
            }
        }
    }

    // The one model call of the agent's one prompt, reported as its generation ends: maybe after the turn's response.
    private static async Task<JsonElement> GenerationAsync(AgentHarness agent)
    {
        JsonElement[] seen;
        lock (agent.Written)
        {
            seen = [.. agent.Written.Select(Telemetry).OfType<JsonElement>().Where(IsGeneration)];
        }

        return seen.Length > 0 ? Assert.Single(seen) : await NextTelemetryAsync(agent, IsGeneration);

        static bool IsGeneration(JsonElement telemetry) => telemetry.GetProperty("kind").GetString() == "inference";
    }

    private static JsonElement? Telemetry(JsonElement line) =>
        line.TryGetProperty("method", out JsonElement method) && method.GetString() == "_gptoss/telemetry" ? line.GetProperty("params") : null;

    private static string? Stage(JsonElement telemetry) => telemetry.TryGetProperty("stage", out JsonElement stage) ? stage.GetString() : null;
}
