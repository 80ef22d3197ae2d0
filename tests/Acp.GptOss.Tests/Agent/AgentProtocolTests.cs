using System.Text.Json;
using Acp.GptOss.Tests.Support;
using Acp.Protocol.JsonRpc;

namespace Acp.GptOss.Tests.Agent;

/// <summary>initialize, session/new, set_config_option and the errors of ACP's contract.</summary>
public sealed class AgentProtocolTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(7)]
    public async Task Initialize_answers_version_1_with_honest_capabilities(int asked)
    {
        await using var agent = new AgentHarness(new FakeEngine("<|channel|>final<|message|>x<|return|>"));

        (JsonElement response, _) = await agent.RequestAsync("initialize", new { protocolVersion = asked, clientCapabilities = new { fs = new { readTextFile = true } } });

        JsonElement result = response.GetProperty("result");
        Assert.Equal(1, result.GetProperty("protocolVersion").GetInt32());
        JsonElement capabilities = result.GetProperty("agentCapabilities");
        Assert.False(capabilities.GetProperty("loadSession").GetBoolean());
        Assert.False(capabilities.GetProperty("promptCapabilities").GetProperty("image").GetBoolean());
        Assert.False(capabilities.GetProperty("promptCapabilities").GetProperty("audio").GetBoolean());
        Assert.True(capabilities.GetProperty("promptCapabilities").GetProperty("embeddedContext").GetBoolean());
        Assert.Equal(0, result.GetProperty("authMethods").GetArrayLength());
        Assert.Equal("acp-gptoss", result.GetProperty("agentInfo").GetProperty("name").GetString());
        Assert.False(string.IsNullOrEmpty(result.GetProperty("agentInfo").GetProperty("version").GetString()));
    }

    [Theory]
    [InlineData("""{"protocolVersion":"2025-06-18"}""")]
    [InlineData("""{"protocolVersion":-1}""")]
    [InlineData("""{"protocolVersion":1.5}""")]
    [InlineData("""{}""")]
    public async Task Initialize_with_a_bad_version_is_invalid_params(string parameters)
    {
        await using var agent = new AgentHarness(new FakeEngine("x"));

        await agent.SendAsync($$"""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{{parameters}}}""");

        Assert.Equal(JsonRpcErrorCodes.InvalidParams, Updates.ErrorCode(await agent.NextAsync()));
    }

    [Theory]
    [InlineData("""{"mcpServers":[]}""")]
    [InlineData("""{"cwd":null,"mcpServers":[]}""")]
    [InlineData("""{"cwd":"relative/path","mcpServers":[]}""")]
    [InlineData("""{"cwd":"","mcpServers":[]}""")]
    [InlineData("""{"cwd":"/abs"}""")]
    [InlineData("""{"cwd":42,"mcpServers":[]}""")]
    public async Task Session_new_needs_an_absolute_cwd_and_mcp_servers(string parameters)
    {
        await using var agent = new AgentHarness(new FakeEngine("x"));

        await agent.SendAsync($$"""{"jsonrpc":"2.0","id":1,"method":"session/new","params":{{parameters}}}""");

        JsonElement error = await agent.NextAsync();
        Assert.Equal(JsonRpcErrorCodes.InvalidParams, Updates.ErrorCode(error));
    }

    [Fact]
    public async Task Session_new_accepts_mcp_servers_and_returns_config_options()
    {
        await using var agent = new AgentHarness(new FakeEngine("x"));

        (JsonElement response, _) = await agent.RequestAsync("session/new", new
        {
            cwd = "/home/u/proj",
            mcpServers = new object[]
            {
                new { name = "fs", command = "/bin/server", args = new[] { "--stdio" }, env = Array.Empty<object>() },
                new { type = "http", name = "api", url = "https://example.invalid/mcp", headers = Array.Empty<object>() },
            },
        });

        JsonElement result = response.GetProperty("result");
        Assert.StartsWith("sess_", result.GetProperty("sessionId").GetString(), StringComparison.Ordinal);
        JsonElement[] options = [.. result.GetProperty("configOptions").EnumerateArray()];
        Assert.Equal(["mode", "reasoning_effort", "reasoning_display"], options.Select(o => o.GetProperty("id").GetString()));
        Assert.Equal(("select", "mode", "ask"), (options[0].GetProperty("type").GetString(), options[0].GetProperty("category").GetString(), options[0].GetProperty("currentValue").GetString()));
        Assert.Equal(["ask", "code"], options[0].GetProperty("options").EnumerateArray().Select(o => o.GetProperty("value").GetString()));
        Assert.Equal(("select", "thought_level", "medium"), (options[1].GetProperty("type").GetString(), options[1].GetProperty("category").GetString(), options[1].GetProperty("currentValue").GetString()));
        Assert.Equal(["low", "medium", "high"], options[1].GetProperty("options").EnumerateArray().Select(o => o.GetProperty("value").GetString()));
        Assert.Equal("status", options[2].GetProperty("currentValue").GetString());
        Assert.Equal(["hidden", "status", "full"], options[2].GetProperty("options").EnumerateArray().Select(o => o.GetProperty("value").GetString()));
        JsonElement modes = result.GetProperty("modes");
        Assert.Equal("ask", modes.GetProperty("currentModeId").GetString());
        Assert.Equal(["ask", "code"], modes.GetProperty("availableModes").EnumerateArray().Select(m => m.GetProperty("id").GetString()));
    }

    [Fact]
    public async Task Sessions_are_unique()
    {
        await using var agent = new AgentHarness(new FakeEngine("x"));

        string first = await agent.NewSessionAsync();
        string second = await agent.NewSessionAsync();

        Assert.NotEqual(first, second);
    }

    [Theory]
    [InlineData("session/prompt", """{"sessionId":"sess_missing","prompt":[{"type":"text","text":"hi"}]}""")]
    [InlineData("session/set_config_option", """{"sessionId":"sess_missing","configId":"reasoning_effort","value":"high"}""")]
    public async Task An_unknown_session_is_resource_not_found_with_its_id(string method, string parameters)
    {
        await using var agent = new AgentHarness(new FakeEngine("x"));

        await agent.SendAsync($$"""{"jsonrpc":"2.0","id":1,"method":"{{method}}","params":{{parameters}}}""");

        JsonElement response = await agent.NextAsync();
        Assert.Equal(JsonRpcErrorCodes.ResourceNotFound, Updates.ErrorCode(response));
        Assert.Equal("sess_missing", response.GetProperty("error").GetProperty("data").GetProperty("sessionId").GetString());
    }

    [Fact]
    public async Task Cancel_for_an_unknown_or_idle_session_is_silent()
    {
        await using var agent = new AgentHarness(new FakeEngine("<|channel|>final<|message|>ok<|return|>"));
        string session = await agent.NewSessionAsync();

        await agent.NotifyAsync("session/cancel", new { sessionId = "sess_missing" });
        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, "hi");

        // Nothing answered the notifications, and a cancel before the prompt does not touch it.
        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal("ok", Updates.Text(notifications, "agent_message_chunk"));
    }

    [Fact]
    public async Task Set_config_option_returns_every_option_and_changes_the_system_message()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>ok<|return|>");
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        (JsonElement response, _) = await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "reasoning_effort", value = "high" });
        await agent.PromptAsync(session, "hi");

        JsonElement[] options = [.. response.GetProperty("result").GetProperty("configOptions").EnumerateArray()];
        Assert.Equal(["ask", "high", "status"], options.Select(o => o.GetProperty("currentValue").GetString()));
        Assert.Contains("\n\nReasoning: high\n\n", Assert.Single(engine.Prompts), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""{"configId":"reasoning_effort","value":"extreme"}""")]
    [InlineData("""{"configId":"reasoning_display","value":"loud"}""")]
    [InlineData("""{"configId":"temperature","value":"high"}""")]
    [InlineData("""{"configId":"reasoning_effort","value":true,"type":"boolean"}""")]
    [InlineData("""{"configId":"reasoning_effort","value":3}""")]
    [InlineData("""{"configId":"reasoning_effort"}""")]
    public async Task Bad_config_values_are_invalid_params(string parameters)
    {
        await using var agent = new AgentHarness(new FakeEngine("x"));
        string session = await agent.NewSessionAsync();

        await agent.SendAsync($$"""{"jsonrpc":"2.0","id":100,"method":"session/set_config_option","params":{"sessionId":"{{session}}",{{parameters[1..]}}}""");

        Assert.Equal(JsonRpcErrorCodes.InvalidParams, Updates.ErrorCode(await agent.NextAsync()));
    }

    [Theory]
    [InlineData("""[{"type":"image","data":"AAAA","mimeType":"image/png"}]""")]
    [InlineData("""[{"type":"audio","data":"AAAA","mimeType":"audio/wav"}]""")]
    [InlineData("""[{"type":"video","data":"AAAA"}]""")]
    [InlineData("""[]""")]
    [InlineData("""[{"type":"text","text":"  "}]""")]
    [InlineData("""[{"type":"text"}]""")]
    [InlineData("\"hello\"")]
    public async Task Prompts_the_agent_cannot_take_are_invalid_params(string prompt)
    {
        var engine = new FakeEngine("<|channel|>final<|message|>ok<|return|>");
        await using var agent = new AgentHarness(engine);
        string session = await agent.NewSessionAsync();

        await agent.SendAsync($$$"""{"jsonrpc":"2.0","id":100,"method":"session/prompt","params":{"sessionId":"{{{session}}}","prompt":{{{prompt}}}}}""");

        Assert.Equal(JsonRpcErrorCodes.InvalidParams, Updates.ErrorCode(await agent.NextAsync()));
        Assert.Empty(engine.Prompts);
    }

    [Fact]
    public async Task Without_an_engine_a_prompt_says_what_to_do_and_the_agent_stays()
    {
        await using var agent = new AgentHarness(new Acp.GptOss.Inference.UnavailableInferenceEngine());
        string session = await agent.NewSessionAsync();

        (JsonElement response, _) = await agent.PromptAsync(session, "hi");
        (JsonElement again, _) = await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "reasoning_effort", value = "low" });

        Assert.Equal(JsonRpcErrorCodes.InternalError, Updates.ErrorCode(response));
        Assert.Contains("--engine script", response.GetProperty("error").GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.True(again.TryGetProperty("result", out _));
    }

    [Fact]
    public async Task End_of_input_ends_the_agent()
    {
        var agent = new AgentHarness(new FakeEngine("x"));
        await agent.NewSessionAsync();

        await agent.CloseInputAsync();

        await agent.Completion.WaitAsync(AgentHarness.Timeout);
        await agent.DisposeAsync();
    }
}
