using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Agent;

/// <summary>Cancel stops the turn at once, answers cancelled after its last update, and leaves the session usable.</summary>
public sealed class CancellationTests
{
    private const string LongAnswer = "<|channel|>final<|message|>This answer is long enough to be stopped half way through.<|return|>";

    [Fact]
    public async Task Session_cancel_answers_cancelled_after_the_last_update_and_the_next_prompt_works()
    {
        var engine = new FakeEngine(LongAnswer, "<|channel|>final<|message|>Second.<|return|>");
        Task held = engine.HoldFirstCallAt(40);
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        int prompt = await agent.SendPromptAsync(session, "long one");
        await held;
        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement response, List<JsonElement> notifications) = await agent.ResponseAsync(prompt);

        Assert.Equal("cancelled", Updates.StopReason(response));
        string shown = Updates.Text(notifications, "agent_message_chunk");
        Assert.Equal("This answer is long enough to be stopped half way through."[..shown.Length], shown);
        Assert.NotEmpty(shown);

        // Nothing more for that turn: the next line is the answer to the next request.
        (JsonElement next, List<JsonElement> between) = await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "reasoning_effort", value = "low" });
        Assert.Empty(between);
        Assert.True(next.TryGetProperty("result", out _));

        (JsonElement second, List<JsonElement> secondUpdates) = await agent.PromptAsync(session, "again");
        Assert.Equal("end_turn", Updates.StopReason(second));
        Assert.Equal("Second.", Updates.Text(secondUpdates, "agent_message_chunk"));
        // The cancelled turn stays in the history, with what the user saw of it.
        Assert.Contains($"<|start|>user<|message|>long one<|end|><|start|>assistant<|channel|>final<|message|>{shown}<|end|><|start|>user<|message|>again", engine.Prompts[^1], StringComparison.Ordinal);
    }

    [Fact]
    public async Task Cancel_request_on_a_prompt_means_cancelled_not_an_error()
    {
        var engine = new FakeEngine(LongAnswer);
        Task held = engine.HoldFirstCallAt(30);
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        int prompt = await agent.SendPromptAsync(session, "long one");
        await held;
        await agent.NotifyAsync("$/cancel_request", new { requestId = prompt });
        (JsonElement response, _) = await agent.ResponseAsync(prompt);

        Assert.Equal("cancelled", Updates.StopReason(response));
    }

    [Fact]
    public async Task A_cancel_right_behind_the_prompt_is_never_lost()
    {
        // The turns can only end by being cancelled: a lost cancel would hang the test, not pass it.
        var engine = new FakeEngine(LongAnswer) { BeforeToken = (i, ct) => i == 5 ? Task.Delay(Timeout.Infinite, ct) : Task.CompletedTask };
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        for (int i = 0; i < 10; i++)
        {
            // One write: the agent reads the cancel while the prompt's handler is still being scheduled.
            int prompt = agent.NextId();
            await agent.SendAsync([
                AgentHarness.Request(prompt, "session/prompt", new { sessionId = session, prompt = new[] { new { type = "text", text = $"attempt {i}" } } }),
                AgentHarness.Notification("session/cancel", new { sessionId = session }),
            ]);
            (JsonElement response, _) = await agent.ResponseAsync(prompt);

            Assert.Equal("cancelled", Updates.StopReason(response));
        }
    }

    [Fact]
    public async Task A_second_prompt_cancels_the_running_turn_then_runs()
    {
        var engine = new FakeEngine(LongAnswer, "<|channel|>final<|message|>Second.<|return|>");
        Task held = engine.HoldFirstCallAt(35);
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        int first = await agent.SendPromptAsync(session, "first");
        await held;
        int second = await agent.SendPromptAsync(session, "second");
        (JsonElement firstResponse, _) = await agent.ResponseAsync(first);
        (JsonElement secondResponse, List<JsonElement> secondUpdates) = await agent.ResponseAsync(second);

        Assert.Equal("cancelled", Updates.StopReason(firstResponse));
        Assert.Equal("end_turn", Updates.StopReason(secondResponse));
        Assert.Equal("Second.", Updates.Text(secondUpdates, "agent_message_chunk"));
    }

    [Fact]
    public async Task A_client_that_leaves_mid_turn_ends_the_agent()
    {
        var engine = new FakeEngine(LongAnswer);
        Task held = engine.HoldFirstCallAt(30);
        var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();
        int prompt = await agent.SendPromptAsync(session, "long one");
        await held;

        await agent.CloseInputAsync();
        (JsonElement response, _) = await agent.ResponseAsync(prompt);

        Assert.Equal("cancelled", Updates.StopReason(response));
        await agent.Completion.WaitAsync(AgentHarness.Timeout);
        await agent.DisposeAsync();
    }
}
