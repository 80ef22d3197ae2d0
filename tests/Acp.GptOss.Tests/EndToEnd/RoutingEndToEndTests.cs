using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.EndToEnd;

/// <summary>
/// The agent as an editor runs it, with GPT-OSS and a fast model (both generated): routing, the model extension
/// methods and telemetry, on the real llama.cpp runtime.
/// </summary>
public sealed class RoutingEndToEndTests
{
    private const string GptOssAnswer = "<|channel|>final<|message|>Hello world<|return|>";

    private static AgentHarness Start() => AgentHarness.StartProcess(
        "--model", TestModels.Chain(GptOssAnswer), "--fast-model", TestModels.Fast(), "--temperature", "0", "--ctx-size", "2048");

    private static string RouteOf(JsonElement response) =>
        response.GetProperty("result").GetProperty("_meta").GetProperty("gptoss").GetProperty("route").GetProperty("model").GetString()!;

    private static JsonElement Model(JsonElement status, string role) =>
        status.GetProperty("result").GetProperty("models").EnumerateArray().Single(m => m.GetProperty("role").GetString() == role);

    [ModelFact]
    public async Task The_fast_model_answers_short_requests_gpt_oss_the_rest_and_models_unload_and_reload_on_demand()
    {
        await using AgentHarness agent = Start();
        (JsonElement initialized, _) = await agent.RequestAsync("initialize", new { protocolVersion = 1 });
        string session = await agent.NewSessionAsync();

        (JsonElement quick, List<JsonElement> quickUpdates) = await agent.PromptAsync(session, "Hi!");
        (JsonElement code, List<JsonElement> codeUpdates) = await agent.PromptAsync(session, "Write a function that says hello.");
        (JsonElement status, _) = await agent.RequestAsync("_gptoss/status", new { });
        (JsonElement unloaded, _) = await agent.RequestAsync("_gptoss/unload", new { model = "gpt-oss" });
        (JsonElement again, List<JsonElement> againUpdates) = await agent.PromptAsync(session, "Once more.");
        (JsonElement reloaded, _) = await agent.RequestAsync("_gptoss/status", new { });
        (JsonElement badModel, _) = await agent.RequestAsync("_gptoss/load", new { model = "gpt-5" });

        JsonSchemaValidator schema = JsonSchemaValidator.Load("gptoss-extensions.schema.json");
        JsonElement meta = initialized.GetProperty("result").GetProperty("agentCapabilities").GetProperty("_meta");
        Assert.Empty(schema.ValidateDefinition("capabilities", meta.GetRawText()));
        Assert.Equal(["_gptoss/status", "_gptoss/load", "_gptoss/unload"], meta.GetProperty("gptoss").GetProperty("methods").EnumerateArray().Select(m => m.GetString()));
        Assert.Equal("fast", RouteOf(quick));
        Assert.Equal(TestModels.FastAnswer, Updates.Text(quickUpdates, "agent_message_chunk"));
        Assert.Equal("end_turn", Updates.StopReason(quick));
        Assert.Equal("gpt-oss", RouteOf(code));
        Assert.Equal("Hello world", Updates.Text(codeUpdates, "agent_message_chunk"));
        foreach (JsonElement result in (JsonElement[])[status, unloaded, reloaded])
        {
            Assert.Empty(schema.Validate(result.GetProperty("result")));
        }

        Assert.Equal("ready", Model(status, "gpt-oss").GetProperty("state").GetString());
        Assert.Equal("ready", Model(status, "fast").GetProperty("state").GetString());
        Assert.Equal(2048, Model(status, "gpt-oss").GetProperty("contextSize").GetInt32());
        // Once a model has loaded, the engine names the llama.cpp build that runs it (what /status shows as the runtime).
        Assert.Matches(@"^llama\.cpp [0-9a-f]{7,} \(ggml [0-9.]+, (noavx|avx|avx2|avx512|custom) build of LLamaSharp\.Backend\.Cpu [0-9.]+; CPU only\), \d+ threads, chain-",
            status.GetProperty("result").GetProperty("engine").GetString());
        Assert.Equal("notLoaded", Model(unloaded, "gpt-oss").GetProperty("state").GetString());
        Assert.Equal("ready", Model(unloaded, "fast").GetProperty("state").GetString());
        Assert.Equal("gpt-oss", RouteOf(again));
        Assert.Equal("Hello world", Updates.Text(againUpdates, "agent_message_chunk"));
        Assert.Equal("ready", Model(reloaded, "gpt-oss").GetProperty("state").GetString());
        Assert.Equal(-32602, Updates.ErrorCode(badModel));
    }

    [ModelFact]
    public async Task A_client_that_opts_in_gets_load_and_inference_telemetry_and_others_get_none()
    {
        await using AgentHarness watching = Start();
        await watching.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { _meta = new { gptoss = new { telemetry = true } } } });
        string session = await watching.NewSessionAsync();
        await watching.PromptAsync(session, "Write a function.");

        await using AgentHarness quiet = Start();
        await quiet.RequestAsync("initialize", new { protocolVersion = 1 });
        string quietSession = await quiet.NewSessionAsync();
        await quiet.PromptAsync(quietSession, "Write a function.");

        JsonSchemaValidator schema = JsonSchemaValidator.Load("gptoss-extensions.schema.json");
        JsonElement[] telemetry = [.. Telemetry(watching)];
        Assert.All(telemetry, t => Assert.Empty(schema.ValidateDefinition("telemetry", t.GetRawText())));
        string[] stages = [.. telemetry.Where(t => t.GetProperty("kind").GetString() == "load" && t.GetProperty("model").GetString() == "gpt-oss")
            .Select(t => t.GetProperty("stage").GetString()!)];
        Assert.Equal(["open", "preflight", "weights_mapped", "context_created", "warm"], stages);
        JsonElement inference = Assert.Single(telemetry, t => t.GetProperty("kind").GetString() == "inference");
        Assert.Equal(session, inference.GetProperty("sessionId").GetString());
        Assert.Equal("done", inference.GetProperty("outcome").GetString());
        Assert.True(inference.GetProperty("prefilledTokens").GetInt32() > 0);
        Assert.True(inference.GetProperty("generatedTokens").GetInt32() > 0);
        Assert.Empty(Telemetry(quiet));
    }

    private static IEnumerable<JsonElement> Telemetry(AgentHarness agent)
    {
        lock (agent.Written)
        {
            return [.. agent.Written
                .Where(w => w.TryGetProperty("method", out JsonElement m) && m.GetString() == "_gptoss/telemetry")
                .Select(w => w.GetProperty("params"))];
        }
    }
}
