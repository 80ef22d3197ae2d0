using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests;

/// <summary>The built executable, run as a process: stdout carries results or protocol only, everything else goes to stderr.</summary>
public sealed class ProcessTests
{
    [Fact]
    public async Task Harmony_parse_as_a_process_prints_what_the_command_prints()
    {
        string golden = CliRunner.GoldenPath("harmony", "C03-preamble-then-tool-call.json");

        ProcessResult process = await RunAgentAsync("harmony", "parse", golden);
        CliResult inProcess = await CliRunner.RunAsync("harmony", "parse", golden);

        Assert.Equal(0, process.ExitCode);
        Assert.Equal("", process.Error);
        Assert.Equal(inProcess.Text, process.Output);
    }

    [Fact]
    public async Task Logs_go_to_stderr_and_stdout_holds_only_json_lines()
    {
        using TempFile completion = await TempFile.WriteAsync(".txt", "<|channel|>finalx<|message|>odd<|start|>assistant<|channel|>final<|message|>ok<|return|>");

        ProcessResult result = await RunAgentAsync("harmony", "parse", completion.Path, "--log-level", "Debug");

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("Tolerated malformed output: UnknownChannel", result.Error, StringComparison.Ordinal);
        Assert.All(result.Lines, line => JsonDocument.Parse(line).Dispose());
    }

    [Theory]
    [InlineData("harmony", "parse")]
    [InlineData("--no-such-option")]
    [InlineData("harmony", "render", "/no/such/file.json")]
    [InlineData("--engine", "script")]
    [InlineData("--engine", "script", "--script", "/no/such/script.txt")]
    [InlineData("--engine", "warp-drive")]
    public async Task Mistakes_write_nothing_to_stdout(params string[] args)
    {
        ProcessResult result = await RunAgentAsync(args);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.NotEqual("", result.Error);
        Assert.DoesNotContain("Unhandled exception", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_agent_on_stdio_survives_junk_answers_everything_and_exits_0_at_end_of_input()
    {
        using TempFile script = await TempFile.WriteAsync(".txt", "<|channel|>analysis<|message|>SECRET<|end|><|start|>assistant<|channel|>final<|message|>Hi.<|return|>");
        string[] input =
        [
            "this is not json",
            """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}""",
            "[1,2,3]",
            "",
            """{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":"/tmp","mcpServers":[]}}""",
            """{"jsonrpc":"2.0","id":3,"method":"no/such/method","params":{}}""",
            """{"jsonrpc":"2.0","method":"session/cancel","params":{"sessionId":"nobody"}}""",
            new string('x', 100_000),
        ];

        ProcessResult result = await RunAgentAsync(input, "--engine", "script", "--script", script.Path);

        Assert.Equal(0, result.ExitCode);
        JsonElement[] lines = [.. result.Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];
        Assert.All(lines, l => Assert.Equal("2.0", l.GetProperty("jsonrpc").GetString()));
        // Requests are answered as they finish, so only the set of answers is fixed. The one notification the new
        // session may send, its slash commands, follows its answer unless the end of input comes first.
        JsonElement[] answers = [.. lines.Where(l => l.TryGetProperty("id", out _))];
        Assert.Equal(
            [-32700, -32700, -32601, -32600, 1, 2],
            answers.Select(l => l.TryGetProperty("error", out JsonElement e) ? e.GetProperty("code").GetInt32() : l.GetProperty("id").GetInt32()).Order());
        Assert.All(lines.Except(answers), n => Assert.Equal("available_commands_update", Updates.Kind(n)));
        Assert.Contains("Initialized by", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_utf8_byte_inside_a_method_name_is_answered_and_the_agent_serves_on()
    {
        await using ChildProcess process = ChildProcess.Start("dotnet", [Repository.Agent]);
        Stream stdin = process.Input.BaseStream;
        await stdin.WriteAsync((byte[])[.. "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"sess"u8, 0xFF, .. "ion/new\",\"params\":{}}\n"u8]);
        await stdin.WriteAsync("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"initialize\",\"params\":{\"protocolVersion\":1}}\n"u8.ToArray());
        await stdin.FlushAsync();
        process.Input.Close();
        ProcessResult result = await process.WaitAsync();

        Assert.Equal(0, result.ExitCode);
        JsonElement[] lines = [.. result.Lines.Select(l => JsonDocument.Parse(l).RootElement.Clone())];
        Assert.Equal(2, lines.Length);
        Assert.Equal((1, -32600), (lines[0].GetProperty("id").GetInt32(), lines[0].GetProperty("error").GetProperty("code").GetInt32()));
        Assert.Equal(2, lines[1].GetProperty("id").GetInt32());
        Assert.True(lines[1].TryGetProperty("result", out _), lines[1].GetRawText());
    }

    [Fact]
    public async Task A_prompt_over_stdio_streams_the_answer_and_hides_the_reasoning()
    {
        using TempFile script = await TempFile.WriteAsync(".txt", "<|channel|>analysis<|message|>SECRET<|end|><|start|>assistant<|channel|>final<|message|>Hi there.<|return|>");

        await using ChildProcess agent = ChildProcess.Start("dotnet", [Repository.Agent, "--engine", "script", "--script", script.Path]);
        await agent.Input.WriteLineAsync("""{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}""");
        await agent.Input.WriteLineAsync("""{"jsonrpc":"2.0","id":2,"method":"session/new","params":{"cwd":"/tmp","mcpServers":[]}}""");
        await agent.Input.FlushAsync();
        string created = await agent.WaitForLineAsync(l => l.Contains("\"id\":2", StringComparison.Ordinal));
        string session = JsonDocument.Parse(created).RootElement.GetProperty("result").GetProperty("sessionId").GetString()!;
        await agent.Input.WriteLineAsync($$$"""{"jsonrpc":"2.0","id":3,"method":"session/prompt","params":{"sessionId":"{{{session}}}","prompt":[{"type":"text","text":"hello"}]}}""");
        await agent.Input.FlushAsync();
        await agent.WaitForLineAsync(l => l.Contains("\"id\":3", StringComparison.Ordinal));
        agent.Input.Close();
        ProcessResult result = await agent.WaitAsync();

        Assert.Equal(0, result.ExitCode);
        Assert.Contains("\"stopReason\":\"end_turn\"", result.Output, StringComparison.Ordinal);
        Assert.Equal("Hi there.", string.Concat(result.Lines
            .Select(l => JsonDocument.Parse(l).RootElement)
            .Where(m => m.TryGetProperty("method", out _) && Updates.Kind(m) == "agent_message_chunk")
            .Select(m => Updates.Update(m).GetProperty("content").GetProperty("text").GetString())));
        Assert.DoesNotContain("SECRET", result.Output + result.Error, StringComparison.Ordinal);
    }

    private static Task<ProcessResult> RunAgentAsync(params string[] args) => ChildProcess.RunAsync("dotnet", [Repository.Agent, .. args]);

    private static Task<ProcessResult> RunAgentAsync(string[] input, params string[] args) =>
        ChildProcess.RunAsync("dotnet", [Repository.Agent, .. args], input: string.Join('\n', input) + "\n");
}
