using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.EndToEnd;

/// <summary>
/// The built agent on stdio with <c>--engine remote</c>, driving a real llama-server (built from the llama.cpp source
/// node-llama-cpp ships) that serves generated gpt-oss models: the same turns, tool calls, routing and cancel as
/// with the in-process engine (docs/remote.md).
/// </summary>
public sealed class RemoteEndToEndTests
{
    private const string Hello = "<|channel|>final<|message|>Hello world<|return|>";
    private const string Weather = "<|channel|>commentary to=functions.get_weather <|constrain|>json<|message|>{\"city\":\"Paris\"}<|call|>";

    [LlamaServerFact]
    public async Task Turns_on_a_remote_llama_server_send_the_same_updates_as_on_the_in_process_engine()
    {
        string model = TestModels.Chain(Hello);
        await using LlamaServer server = await LlamaServer.StartAsync(model, contextSize: 2048);
        await using AgentHarness remote = Remote(server);
        await using AgentHarness local = AgentHarness.StartProcess("--model", model, "--temperature", "0", "--ctx-size", "2048");

        List<(JsonElement Response, List<JsonElement> Updates)> remoteTurns = await TwoTurnsAsync(remote);
        List<(JsonElement Response, List<JsonElement> Updates)> localTurns = await TwoTurnsAsync(local);

        Assert.All(remoteTurns, t => Assert.Equal("Hello world", Updates.Text(t.Updates, "agent_message_chunk")));
        Assert.Equal(localTurns.Select(t => Updates.StopReason(t.Response)), remoteTurns.Select(t => Updates.StopReason(t.Response)));
        Assert.Equal(Shape(localTurns), Shape(remoteTurns));
    }

    [LlamaServerFact]
    public async Task A_remote_models_tool_call_becomes_the_tool_call_flow()
    {
        await using LlamaServer server = await LlamaServer.StartAsync(TestModels.Chain(Weather));
        await using AgentHarness agent = Remote(server, "--max-turn-requests", "2");
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "Weather in Paris?");

        Assert.Equal("max_turn_requests", Updates.StopReason(response));
        JsonElement[] calls = [.. Updates.OfKind(updates, "tool_call")];
        Assert.Equal(2, calls.Length);
        Assert.All(calls, c => Assert.Contains("get_weather", c.GetProperty("title").GetString(), StringComparison.Ordinal));
        Assert.Equal(
            calls.Select(c => c.GetProperty("toolCallId").GetString()),
            Updates.OfKind(updates, "tool_call_update").Select(u => u.GetProperty("toolCallId").GetString()));
    }

    [LlamaServerFact]
    public async Task Remote_reasoning_is_never_shown_as_message_text()
    {
        await using LlamaServer server = await LlamaServer.StartAsync(TestModels.Chain("<|channel|>analysis<|message|>Secret plans, plans"));
        await using AgentHarness agent = Remote(server, "--max-tokens", "24");
        string session = await agent.NewSessionAsync();

        (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, "What are you thinking?");

        Assert.Equal("max_tokens", Updates.StopReason(response));
        Assert.Empty(Updates.OfKind(updates, "agent_message_chunk"));
        Assert.DoesNotContain("plans", string.Join('\n', agent.Written.Select(w => w.GetRawText())), StringComparison.Ordinal);
    }

    [LlamaServerFact]
    public async Task Cancelling_a_remote_turn_answers_cancelled_and_the_server_takes_the_next_prompt()
    {
        // " world" follows itself: the server would generate until its context is full.
        await using LlamaServer server = await LlamaServer.StartAsync(TestModels.Chain("<|channel|>final<|message|>Hello world"), contextSize: 8192);
        await using AgentHarness agent = Remote(server, "--max-tokens", "8000");
        string session = await agent.NewSessionAsync();

        JsonElement first = await CancelAfterFirstChunkAsync(agent, session);
        JsonElement second = await CancelAfterFirstChunkAsync(agent, session);
        (JsonElement status, _) = await agent.RequestAsync("_gptoss/status", new { });

        Assert.Equal("cancelled", Updates.StopReason(first));
        Assert.Equal("cancelled", Updates.StopReason(second));
        Assert.Equal("ready", status.GetProperty("result").GetProperty("models")[0].GetProperty("state").GetString());
    }

    [LlamaServerFact]
    public async Task Short_requests_go_to_the_local_fast_model_the_rest_to_the_remote_server_and_status_shows_both()
    {
        await using LlamaServer server = await LlamaServer.StartAsync(TestModels.Chain(Hello));
        await using AgentHarness agent = Remote(server, "--fast-model", TestModels.Fast());
        string session = await agent.NewSessionAsync();

        (JsonElement quick, List<JsonElement> quickUpdates) = await agent.PromptAsync(session, "Hi!");
        (JsonElement code, List<JsonElement> codeUpdates) = await agent.PromptAsync(session, "Write a function that says hello.");
        (JsonElement status, _) = await agent.RequestAsync("_gptoss/status", new { });

        Assert.Equal(("fast", TestModels.FastAnswer), (RouteOf(quick), Updates.Text(quickUpdates, "agent_message_chunk")));
        Assert.Equal(("gpt-oss", "Hello world"), (RouteOf(code), Updates.Text(codeUpdates, "agent_message_chunk")));
        Assert.Empty(JsonSchemaValidator.Load("gptoss-extensions.schema.json").Validate(status.GetProperty("result")));
        JsonElement gptOss = status.GetProperty("result").GetProperty("models").EnumerateArray().Single(m => m.GetProperty("role").GetString() == "gpt-oss");
        Assert.Equal("ready", gptOss.GetProperty("state").GetString());
        Assert.Equal(server.BaseAddress.AbsoluteUri, gptOss.GetProperty("path").GetString());
        Assert.Equal("llama-server", gptOss.GetProperty("remote").GetProperty("kind").GetString());
        Assert.Equal(1024, gptOss.GetProperty("contextSize").GetInt32());
    }

    [LlamaServerFact]
    public async Task A_server_that_goes_away_is_a_clear_error_on_the_prompt_and_the_agent_lives_on()
    {
        LlamaServer server = await LlamaServer.StartAsync(TestModels.Chain(Hello));
        await using AgentHarness agent = Remote(server);
        string session = await agent.NewSessionAsync();
        (JsonElement answered, _) = await agent.PromptAsync(session, "Say hello.");
        string endpoint = server.BaseAddress.AbsoluteUri;
        await server.DisposeAsync();

        (JsonElement failed, _) = await agent.PromptAsync(session, "Again?");
        (JsonElement status, _) = await agent.RequestAsync("_gptoss/status", new { });

        Assert.Equal("end_turn", Updates.StopReason(answered));
        Assert.Equal(-32603, Updates.ErrorCode(failed));
        Assert.Contains(endpoint, failed.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        JsonElement model = status.GetProperty("result").GetProperty("models")[0];
        Assert.Equal("error", model.GetProperty("state").GetString());
        Assert.Contains(endpoint, model.GetProperty("error").GetString(), StringComparison.Ordinal);
    }

    private static AgentHarness Remote(LlamaServer server, params string[] options) =>
        AgentHarness.StartProcess(["--engine", "remote", "--endpoint", server.BaseAddress.AbsoluteUri, "--temperature", "0", .. options]);

    private static string RouteOf(JsonElement response) =>
        response.GetProperty("result").GetProperty("_meta").GetProperty("gptoss").GetProperty("route").GetProperty("model").GetString()!;

    private static async Task<List<(JsonElement, List<JsonElement>)>> TwoTurnsAsync(AgentHarness agent)
    {
        string session = await agent.NewSessionAsync();
        return [await agent.PromptAsync(session, "Say hello."), await agent.PromptAsync(session, "Again, please.")];
    }

    // The updates of each turn, kind by kind, with what they carry that does not depend on ids or time.
    private static string[] Shape(List<(JsonElement Response, List<JsonElement> Updates)> turns) =>
        [.. turns.SelectMany(t => t.Updates).Select(Updates.Update).Select(u => u.GetProperty("sessionUpdate").GetString() switch
        {
            "agent_message_chunk" => "chunk " + u.GetProperty("content").GetProperty("text").GetString(),
            "usage_update" => $"usage {u.GetProperty("used").GetInt32()} of {u.GetProperty("size").GetInt32()}",
            var kind => kind ?? "?",
        })];

    private static async Task<JsonElement> CancelAfterFirstChunkAsync(AgentHarness agent, string session)
    {
        int id = await agent.SendPromptAsync(session, "Count forever.");
        while (!(await agent.NextAsync()).GetRawText().Contains("\"agent_message_chunk\"", StringComparison.Ordinal))
        {
        }

        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement response, _) = await agent.ResponseAsync(id);
        return response;
    }
}
