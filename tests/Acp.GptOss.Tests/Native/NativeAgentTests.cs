using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Acp.GptOss.Tests.Relay;
using Acp.GptOss.Tests.Support;
using Acp.GptOss.Tests.Tools.Mcp;
using LLama.Native;
using LlamaCpp;

namespace Acp.GptOss.Tests.Native;

/// <summary>
/// The published NativeAOT executable, as an editor runs it. Trimming breaks things silently (reflection-based JSON, a
/// missing PolyType shape, a native library not found, a CPU check answered for the compile target): these run each
/// path that touches such things once, through the executable itself, so a regression fails here and not at a user's.
/// </summary>
public sealed partial class NativeAgentTests : IDisposable
{
    private readonly string _workspace = Directory.CreateTempSubdirectory("native-agent-").FullName;

    public void Dispose() => Directory.Delete(_workspace, recursive: true);

    [NativeFact]
    public async Task Initialize_session_new_a_prompt_on_a_chain_model_and_a_cancel_work_in_the_native_executable()
    {
        string hello = TestModels.Chain("<|channel|>final<|message|>Hello world<|return|>");
        await using AgentHarness agent = AgentHarness.StartNative("--model", hello, "--temperature", "0");

        (JsonElement initialized, _) = await agent.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        JsonElement result = initialized.GetProperty("result");
        Assert.Equal(1, result.GetProperty("protocolVersion").GetInt32());
        Assert.Equal("acp-gptoss", result.GetProperty("agentInfo").GetProperty("name").GetString());
        Assert.Equal(1, result.GetProperty("agentCapabilities").GetProperty("_meta").GetProperty("gptoss").GetProperty("version").GetInt32());
        (JsonElement created, _) = await agent.RequestAsync("session/new", new { cwd = _workspace, mcpServers = Array.Empty<object>() });
        string session = created.GetProperty("result").GetProperty("sessionId").GetString()!;
        Assert.NotEmpty(created.GetProperty("result").GetProperty("configOptions").EnumerateArray());

        (JsonElement answered, List<JsonElement> updates) = await agent.PromptAsync(session, "Say hello.");

        Assert.Equal("end_turn", Updates.StopReason(answered));
        Assert.Equal("Hello world", Updates.Text(updates, "agent_message_chunk"));
        Assert.Single(Updates.OfKind(updates, "usage_update"));

        // The _gptoss extension answers through its own source-generated shapes.
        (JsonElement status, _) = await agent.RequestAsync("_gptoss/status", new { });
        Assert.Equal("ready", status.GetProperty("result").GetProperty("models")[0].GetProperty("state").GetString());
    }

    [NativeFact]
    public async Task A_cancel_mid_generation_answers_the_prompt_cancelled_and_the_session_serves_on()
    {
        // Reasoning that never ends: the turn runs until it is cancelled.
        string endless = TestModels.Chain("<|channel|>analysis<|message|>Secret plans, plans");
        await using AgentHarness agent = AgentHarness.StartNative("--model", endless, "--temperature", "0", "--reasoning-display", "full");
        string session = await agent.NewSessionAsync(_workspace);

        int prompt = await agent.SendPromptAsync(session, "What are you thinking?");
        var before = new List<JsonElement>();
        while (true)
        {
            JsonElement line = await agent.NextAsync();
            before.Add(line);
            if (line.TryGetProperty("method", out _) && Updates.Kind(line) == "agent_thought_chunk")
            {
                break;
            }
        }

        await agent.NotifyAsync("session/cancel", new { sessionId = session });
        (JsonElement cancelled, _) = await agent.ResponseAsync(prompt);

        Assert.Equal("cancelled", Updates.StopReason(cancelled));
        (JsonElement again, _) = await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "reasoning_effort", value = "low" });
        Assert.True(again.TryGetProperty("result", out _), again.GetRawText());
    }

    // The runtime for this processor's AVX level, not the native build's compile target's; and the one beside the
    // executable, although the working folder (the tests' output) holds runtimes too.
    [NativeFact]
    public async Task Doctor_names_the_runtime_beside_the_executable_for_this_processors_avx_level()
    {
        Assert.True(Directory.Exists(Path.Combine(AppContext.BaseDirectory, "runtimes")));
        ProcessResult result = await ChildProcess.RunAsync(Repository.NativeAgent!, ["doctor"], workingDirectory: AppContext.BaseDirectory);

        Assert.Equal(0, result.ExitCode);
        AvxLevel level = CpuAvxLevel.Detect();
        string runtime = Path.Combine(Path.GetDirectoryName(Repository.NativeAgent)!, "runtimes", "linux-x64", "native", RuntimeFolder(level), "libllama.so");
        string[] lines = result.Lines;
        Assert.Equal($"llama.cpp runtime: {runtime} ({LlamaBackend.RuntimePackage})", lines[1]);
        Assert.StartsWith($"build: {level.ToString().ToLowerInvariant()} ", lines[2], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.StartsWith("device: CPU", StringComparison.Ordinal));
    }

    [NativeFact]
    public async Task Models_list_reads_a_gguf_header_and_prints_json_lines()
    {
        string models = Directory.CreateDirectory(Path.Combine(_workspace, "models")).FullName;
        File.Copy(TestModels.Chain("<|channel|>final<|message|>Hi<|return|>"), Path.Combine(models, "tiny.gguf"));

        ProcessResult result = await ChildProcess.RunAsync(
            Repository.NativeAgent!, ["models", "list", "--json"], environment: new Dictionary<string, string> { ["HOME"] = _workspace, ["XDG_CONFIG_HOME"] = _workspace });

        Assert.Equal(0, result.ExitCode);
        JsonElement model = JsonDocument.Parse(Assert.Single(result.Lines)).RootElement;
        Assert.Equal(Path.Combine(models, "tiny.gguf"), model.GetProperty("path").GetString());
        Assert.Equal("gpt-oss", model.GetProperty("role").GetString());
    }

    [NativeFact]
    public async Task Harmony_render_ids_prints_the_real_o200k_harmony_ids()
    {
        string conversation = CliRunner.GoldenPath("render", "trivial-chat.conversation.json");

        ProcessResult native = await ChildProcess.RunAsync(Repository.NativeAgent!, ["harmony", "render", "--ids", conversation]);

        Assert.Equal(0, native.ExitCode);
        Assert.Equal(await File.ReadAllTextAsync(CliRunner.GoldenPath("render", "trivial-chat.o200k.ids")), native.Output);
    }

    [NativeFact]
    public async Task The_relay_serves_health_and_a_prompt_over_a_websocket()
    {
        string script = Path.Combine(_workspace, "answer.txt");
        await File.WriteAllTextAsync(script, "<|channel|>final<|message|>Hello over the native relay.<|return|>");
        const string Token = "native-relay-token";
        await using ChildProcess relay = ChildProcess.Start(
            Repository.NativeAgent!, ["relay", "--listen", "127.0.0.1:0", "--engine", "script", "--script", script],
            environment: new Dictionary<string, string> { ["ACP_GPTOSS_RELAY_TOKEN"] = Token, ["XDG_CONFIG_HOME"] = _workspace });
        var address = new Uri(ListeningUrl().Match(await relay.WaitForErrorLineAsync(l => ListeningUrl().IsMatch(l))).Groups["url"].Value);

        using var http = new HttpClient { Timeout = AgentHarness.Timeout };
        JsonElement health = await http.GetFromJsonAsync<JsonElement>(new Uri(address, "/health"));
        Assert.Equal("ok", health.GetProperty("status").GetString());
        await using RelayClient client = await RelayClient.ConnectAsync(address, Token);
        string session = await client.NewSessionAsync();
        (JsonElement response, List<JsonElement> updates) = await client.PromptAsync(session, "hello");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal("Hello over the native relay.", Updates.Text(updates, "agent_message_chunk"));
    }

    [NativeFact]
    public async Task An_mcp_servers_tool_is_listed_and_called_through_the_native_executable()
    {
        string rounds = Directory.CreateDirectory(Path.Combine(_workspace, "script")).FullName;
        await File.WriteAllTextAsync(Path.Combine(rounds, "1.txt"), "<|channel|>commentary to=functions.tests__echo <|constrain|>json<|message|>{\"text\":\"hi from mcp\"}<|call|>");
        await File.WriteAllTextAsync(Path.Combine(rounds, "2.txt"), "<|channel|>final<|message|>It echoed.<|return|>");
        await using AgentHarness agent = AgentHarness.StartNative("--engine", "script", "--script", rounds);
        JsonElement session = await agent.NewSessionAsync(_workspace, new { },
            [new { name = "tests", command = "node", args = new[] { McpTestServer.Script }, env = Array.Empty<object>() }]);

        (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(
            session.GetProperty("sessionId").GetString()!, "echo it", _ => new { outcome = new { outcome = "selected", optionId = "allow_once" } });

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal("tests: echo", Assert.Single(requests).GetProperty("params").GetProperty("toolCall").GetProperty("title").GetString());
        JsonElement last = Updates.OfKind(updates, "tool_call_update").Last();
        Assert.Equal("completed", last.GetProperty("status").GetString());
        Assert.Equal("hi from mcp", last.GetProperty("content")[0].GetProperty("content").GetProperty("text").GetString());
    }

    [NativeFact]
    public async Task Acpx_drives_the_native_executable_and_its_traffic_follows_the_ACP_schema()
    {
        using var acpx = new Acpx();
        string script = acpx.Script("answer.txt",
            "<|channel|>analysis<|message|>Thinking.<|end|><|start|>assistant<|channel|>final<|message|>Hello from the native agent.<|return|>");

        ProcessResult result = await acpx.RunAsync(
            $"{Repository.NativeAgent} --engine script --script {script}", "--format", "json", "--approve-all", "exec", "hello");
        ProcessResult validation = await AcpValidator.RunAsync(result.Output);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error);
        Assert.Contains(" 0 problems", validation.Output, StringComparison.Ordinal);
        Assert.Contains("\"stopReason\":\"end_turn\"", result.Output, StringComparison.Ordinal);
        Assert.Contains("agent_message_chunk", result.Output, StringComparison.Ordinal);
    }

    // LLamaSharp.Backend.Cpu's folder for each level.
    private static string RuntimeFolder(AvxLevel level) => level switch
    {
        AvxLevel.Avx => "avx",
        AvxLevel.Avx2 => "avx2",
        AvxLevel.Avx512 => "avx512",
        _ => "noavx",
    };

    [GeneratedRegex(@"Relay listening on (?<url>http://\S+?)/?$")]
    private static partial Regex ListeningUrl();
}
