using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Inference;
using Acp.GptOss.Routing;
using Acp.GptOss.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Agent;

/// <summary>The router in the agent: which model answers, what the response and the decision log say.</summary>
public sealed class RoutingTests : IDisposable
{
    private const string GptOssAnswer = "<|channel|>final<|message|>From GPT-OSS.<|return|>";
    private readonly string _state = Path.Combine(Path.GetTempPath(), $"acp-gptoss-routing-{Guid.NewGuid():N}");

    public void Dispose()
    {
        if (Directory.Exists(_state))
        {
            Directory.Delete(_state, recursive: true);
        }
    }

    private AgentHarness Start(FakeChatEngine? fast, out FakeEngine gptOss)
    {
        gptOss = new FakeEngine(GptOssAnswer);
        return new AgentHarness(new AgentEngines(gptOss, fast, new Telemetry(NullLogger.Instance)), new AgentOptions { StateDirectory = _state });
    }

    private static JsonElement Route(JsonElement response) =>
        response.GetProperty("result").GetProperty("_meta").GetProperty("gptoss").GetProperty("route");

    private static string[] Reasons(JsonElement response) => [.. Route(response).GetProperty("reasons").EnumerateArray().Select(r => r.GetString()!)];

    [Fact]
    public async Task Without_a_fast_model_gpt_oss_answers_and_the_response_says_why()
    {
        await using AgentHarness agent = Start(fast: null, out _);
        (JsonElement created, _) = await agent.RequestAsync("session/new", new { cwd = "/w", mcpServers = Array.Empty<object>() });
        string session = created.GetProperty("result").GetProperty("sessionId").GetString()!;

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "hi");

        Assert.Equal("From GPT-OSS.", Updates.Text(updates, "agent_message_chunk"));
        Assert.Equal("gpt-oss", Route(response).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.NoFastModel], Reasons(response));
        // Nothing to choose, so nothing is counted.
        Assert.False(Route(response).TryGetProperty("promptTokens", out _));
        Assert.Equal(140, Route(response).GetProperty("threshold").GetInt32());
        Assert.Empty(JsonSchemaValidator.Load("gptoss-extensions.schema.json").ValidateDefinition("promptMeta", response.GetProperty("result").GetProperty("_meta").GetRawText()));
        // No fast model, nothing to choose: the model option is not offered.
        Assert.DoesNotContain(created.GetProperty("result").GetProperty("configOptions").EnumerateArray(), o => o.GetProperty("id").GetString() == "model");
        (JsonElement refused, _) = await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "model", value = "fast" });
        Assert.Equal(-32602, Updates.ErrorCode(refused));
    }

    [Fact]
    public async Task Without_a_fast_model_nothing_is_routed_no_signals_are_sought_and_no_decision_is_logged()
    {
        await using AgentHarness agent = Start(fast: null, out FakeEngine gptOss);
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "Fix the bug in Program.cs");

        Assert.Equal("From GPT-OSS.", Updates.Text(updates, "agent_message_chunk"));
        Assert.Single(gptOss.Prompts);
        // A code request, but with one model there was no choice to make: no code_generation, no decisions.jsonl.
        Assert.Equal("gpt-oss", Route(response).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.NoFastModel], Reasons(response));
        Assert.False(File.Exists(Path.Combine(_state, RouteDecisionLog.FileName)));
    }

    [Fact]
    public async Task Short_requests_go_to_the_fast_model_until_one_asks_for_code_then_the_session_stays_on_gpt_oss()
    {
        var fast = new FakeChatEngine("Paris", " is the capital.");
        await using AgentHarness agent = Start(fast, out FakeEngine gptOss);
        string session = await agent.NewSessionAsync();

        (JsonElement first, List<JsonElement> firstUpdates) = await agent.PromptAsync(session, "Capital of France?");
        (JsonElement second, List<JsonElement> secondUpdates) = await agent.PromptAsync(session, "Write a function that adds two numbers.");
        (JsonElement third, List<JsonElement> thirdUpdates) = await agent.PromptAsync(session, "Thanks!");

        Assert.Equal("fast", Route(first).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.ShortRequest], Reasons(first));
        Assert.Equal("end_turn", Updates.StopReason(first));
        Assert.Equal("Paris is the capital.", Updates.Text(firstUpdates, "agent_message_chunk"));
        Assert.Equal("gpt-oss", Route(second).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.CodeGeneration], Reasons(second));
        Assert.Equal("From GPT-OSS.", Updates.Text(secondUpdates, "agent_message_chunk"));
        Assert.Equal("gpt-oss", Route(third).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.Escalated], Reasons(third));
        Assert.Equal("From GPT-OSS.", Updates.Text(thirdUpdates, "agent_message_chunk"));
        Assert.Single(fast.Calls);
        // GPT-OSS sees the fast model's answer as the conversation so far.
        Assert.Contains("Capital of France?<|end|><|start|>assistant<|channel|>final<|message|>Paris is the capital.<|end|>", gptOss.Prompts[0], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Long_requests_go_to_gpt_oss()
    {
        var fast = new FakeChatEngine("short");
        await using AgentHarness agent = Start(fast, out _);
        string session = await agent.NewSessionAsync();

        (JsonElement response, _) = await agent.PromptAsync(session, string.Join(' ', Enumerable.Repeat("word", 40)));

        Assert.Equal("gpt-oss", Route(response).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.OverThreshold], Reasons(response));
        Assert.Empty(fast.Calls);
    }

    [Fact]
    public async Task The_user_s_choice_of_model_wins_and_resets_the_escalation()
    {
        var fast = new FakeChatEngine("fast answer");
        await using AgentHarness agent = Start(fast, out _);
        string session = await agent.NewSessionAsync();

        (JsonElement set, _) = await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "model", value = "gpt-oss" });
        (JsonElement chosen, _) = await agent.PromptAsync(session, "hi");
        await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "model", value = "fast" });
        (JsonElement forced, List<JsonElement> forcedUpdates) = await agent.PromptAsync(session, "```\ncode\n```");
        await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "model", value = "auto" });
        (JsonElement auto, _) = await agent.PromptAsync(session, "hello again");

        JsonElement option = set.GetProperty("result").GetProperty("configOptions").EnumerateArray().First(o => o.GetProperty("id").GetString() == "model");
        Assert.Equal("model", option.GetProperty("category").GetString());
        Assert.Equal("gpt-oss", option.GetProperty("currentValue").GetString());
        Assert.Equal("gpt-oss", Route(chosen).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.UserChoice], Reasons(chosen));
        Assert.Equal("fast", Route(forced).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.UserChoice], Reasons(forced));
        Assert.Equal("fast answer", Updates.Text(forcedUpdates, "agent_message_chunk"));
        Assert.Equal("fast", Route(auto).GetProperty("model").GetString());
        Assert.Equal([PromptRouter.ShortRequest], Reasons(auto));
    }

    [Fact]
    public async Task Every_decision_is_a_line_of_decisions_jsonl_that_follows_its_schema()
    {
        var fast = new FakeChatEngine("ok");
        await using AgentHarness agent = Start(fast, out _);
        string session = await agent.NewSessionAsync();

        await agent.PromptAsync(session, "hello");
        await agent.PromptAsync(session, "Fix the bug in Program.cs");

        string[] lines = File.ReadAllLines(Path.Combine(_state, RouteDecisionLog.FileName));
        JsonSchemaValidator schema = JsonSchemaValidator.Load("route-decision.schema.json");
        Assert.Equal(2, lines.Length);
        Assert.All(lines, line => Assert.Empty(schema.Validate(line)));
        using JsonDocument second = JsonDocument.Parse(lines[1]);
        Assert.Equal(session, second.RootElement.GetProperty("session").GetString());
        Assert.Equal("gpt-oss", second.RootElement.GetProperty("model").GetString());
        Assert.Equal([CodeSignals.ImperativeCode, CodeSignals.SourceFile], second.RootElement.GetProperty("signals").EnumerateArray().Select(s => s.GetString()));
        Assert.Equal("auto", second.RootElement.GetProperty("choice").GetString());
    }

    [Fact]
    public async Task Cancelling_a_fast_answer_answers_cancelled_and_keeps_what_was_shown()
    {
        var fast = new FakeChatEngine("Once", " upon", " a time") { Held = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously) };
        await using AgentHarness agent = Start(fast, out _);
        string session = await agent.NewSessionAsync();

        int prompt = await agent.SendPromptAsync(session, "tell a story");
        await fast.Held.Task.WaitAsync(AgentHarness.Timeout);
        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement response, List<JsonElement> updates) = await agent.ResponseAsync(prompt);
        fast.Held = null;
        await agent.PromptAsync(session, "go on");

        Assert.Equal("cancelled", Updates.StopReason(response));
        Assert.Equal("Once", Updates.Text(updates, "agent_message_chunk"));
        Assert.Equal(["system", "user", "assistant", "user"], fast.Calls[1].Select(m => m.Role));
        Assert.Equal("Once", fast.Calls[1][2].Content);
    }
}
