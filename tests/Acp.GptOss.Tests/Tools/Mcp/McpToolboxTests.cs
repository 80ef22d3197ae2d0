using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using Acp.GptOss.Tools.Mcp;
using Acp.Protocol;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Tools.Mcp;

/// <summary>The MCP toolbox against real stdio servers (mcp-test-server.mjs under Node.js).</summary>
public sealed class McpToolboxTests : IDisposable
{
    // Generous: a loaded CI machine starts Node slowly. Only a hang reaches these, and the test then fails, not hangs.
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(60);

    private readonly TempWorkspace _temp = new();
    private readonly RecordingLoggers _loggers = new();

    public void Dispose()
    {
        _loggers.Factory.Dispose();
        _temp.Dispose();
    }

    [NodeFact]
    public async Task Functions_have_sanitized_unique_names_descriptions_and_schemas()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"), McpTestServer.Stdio("9 more.srv"));

        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        Assert.Equal(
            [
                "tests__echo", "tests__add", "tests__fail", "tests__env", "tests__pid", "tests__cwd", "tests__wait", "tests__waiting",
                "tests__cancelled_count", "tests__mixed", "tests__structured", "tests__get_weather_now", "tests__get_weather_now_2",
            ],
            functions.Where(f => f.Server == "tests").Select(f => f.Name));
        Assert.Contains(functions, f => f.Name == "_9_more_srv__echo" && f.Server == "9 more.srv" && f.Tool == "echo");
        Assert.Equal(functions.Count, functions.Select(f => f.Name).Distinct(StringComparer.Ordinal).Count());

        McpFunction weather = Single(functions, "tests__get_weather_now");
        Assert.Equal("get-weather.now", weather.Tool);
        Assert.Equal("Weather now", weather.Description);
        Assert.Equal("string", weather.Parameters!.Value.GetProperty("properties").GetProperty("city").GetProperty("type").GetString());
        McpFunction bare = Single(functions, "tests__get_weather_now_2");
        Assert.Equal("get_weather_now", bare.Tool);
        Assert.Equal("MCP tool get_weather_now of tests", bare.Description);

        McpFunction add = Single(functions, "tests__add");
        Assert.Equal("Adds two numbers.", add.Description);
        Assert.Equal(["a", "b"], add.Parameters!.Value.GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        // No properties, or an empty object of them: nothing to pass.
        Assert.Null(Single(functions, "tests__pid").Parameters);
        Assert.Null(Single(functions, "tests__cwd").Parameters);
    }

    [NodeFact]
    public async Task The_result_is_computed_once()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));

        IReadOnlyList<McpFunction> first = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        IReadOnlyList<McpFunction> second = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        Assert.Same(first, second);
    }

    [NodeFact]
    public async Task Servers_of_the_same_name_keep_their_own_tools()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("twin"), McpTestServer.Stdio("twin"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        McpCallResult one = await box.CallAsync(Single(functions, "twin__pid"), Json("{}"), CancellationToken.None);
        McpCallResult two = await box.CallAsync(Single(functions, "twin__pid_2"), Json("{}"), CancellationToken.None);

        Assert.False(one.IsError, one.Text);
        Assert.False(two.IsError, two.Text);
        Assert.NotEqual(one.Text, two.Text);
    }

    [NodeFact]
    public async Task Echo_and_add_round_trip()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        McpCallResult echo = await box.CallAsync(Single(functions, "tests__echo"), Json("""{"text":"héllo \"world\"\nline 2"}"""), CancellationToken.None);
        McpCallResult add = await box.CallAsync(Single(functions, "tests__add"), Json("""{"a":2,"b":40.5}"""), CancellationToken.None);

        Assert.Equal(new McpCallResult("héllo \"world\"\nline 2", false), echo);
        Assert.Equal(new McpCallResult("42.5", false), add);
    }

    [NodeFact]
    public async Task A_tool_error_is_IsError_with_the_servers_message()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        McpCallResult result = await box.CallAsync(Single(functions, "tests__fail"), Json("{}"), CancellationToken.None);

        Assert.Equal(new McpCallResult("it failed on purpose", true), result);
    }

    [NodeFact]
    public async Task A_protocol_error_is_IsError_not_an_exception()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        McpCallResult result = await box.CallAsync(new McpFunction("tests__nope", "tests", "nope", "", null), Json("{}"), CancellationToken.None);

        Assert.True(result.IsError);
        Assert.Contains("Unknown tool: nope", result.Text, StringComparison.Ordinal);
    }

    [NodeFact]
    public async Task Arguments_that_are_not_an_object_are_refused_and_null_means_none()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        McpCallResult array = await box.CallAsync(Single(functions, "tests__echo"), Json("[1]"), CancellationToken.None);
        McpCallResult none = await box.CallAsync(Single(functions, "tests__cancelled_count"), Json("null"), CancellationToken.None);

        Assert.True(array.IsError);
        Assert.Contains("must be a JSON object", array.Text, StringComparison.Ordinal);
        Assert.Equal(new McpCallResult("0", false), none);
    }

    [NodeFact]
    public async Task Env_is_added_to_the_inherited_environment_and_the_cwd_is_the_sessions()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests", new NameValue("MCP_TEST_VALUE", "from the ACP client")));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        McpFunction env = Single(functions, "tests__env");

        McpCallResult value = await box.CallAsync(env, Json("""{"name":"MCP_TEST_VALUE"}"""), CancellationToken.None);
        McpCallResult path = await box.CallAsync(env, Json("""{"name":"PATH"}"""), CancellationToken.None);
        McpCallResult cwd = await box.CallAsync(Single(functions, "tests__cwd"), Json("{}"), CancellationToken.None);

        Assert.Equal("from the ACP client", value.Text);
        Assert.Equal(Environment.GetEnvironmentVariable("PATH"), path.Text);
        Assert.Equal(_temp.Workspace, cwd.Text);
    }

    [NodeFact]
    public async Task Content_blocks_other_than_text_are_described_and_structured_content_stands_in_for_none()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        McpCallResult mixed = await box.CallAsync(Single(functions, "tests__mixed"), Json("{}"), CancellationToken.None);
        McpCallResult structured = await box.CallAsync(Single(functions, "tests__structured"), Json("{}"), CancellationToken.None);

        Assert.Equal(
            """
            first
            [image image/png, 4 bytes]
            [audio audio/wav, 6 bytes]
            embedded text
            [resource file:///blob.bin application/octet-stream, 2 bytes]
            [resource link file:///linked.md (linked.md) text/markdown]
            last
            """.ReplaceLineEndings("\n"),
            mixed.Text);
        Assert.False(mixed.IsError);
        Assert.Equal(42, JsonDocument.Parse(structured.Text).RootElement.GetProperty("answer").GetInt32());
    }

    [NodeFact]
    public async Task A_server_that_cannot_start_is_logged_and_the_others_still_serve()
    {
        await using McpToolbox box = Start(
            new McpServer("ghost") { Command = Path.Combine(_temp.Root, "no-such-mcp-server") },
            McpTestServer.Stdio("real"),
            new McpServer("commandless"),
            new McpServer("urlless") { Type = "http" },
            new McpServer("odd") { Type = "carrier-pigeon", Url = "http://127.0.0.1:1/" });

        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        Assert.NotEmpty(functions);
        Assert.All(functions, f => Assert.Equal("real", f.Server));
        McpCallResult echo = await box.CallAsync(Single(functions, "real__echo"), Json("""{"text":"still here"}"""), CancellationToken.None);
        Assert.Equal("still here", echo.Text);

        string[] warnings = [.. _loggers.Warnings.Select(w => w.Message)];
        Assert.Contains(warnings, w => w.Contains("ghost", StringComparison.Ordinal) && w.Contains("no-such-mcp-server", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("commandless", StringComparison.Ordinal) && w.Contains("without a command", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("urlless", StringComparison.Ordinal) && w.Contains("without a url", StringComparison.Ordinal));
        Assert.Contains(warnings, w => w.Contains("odd", StringComparison.Ordinal) && w.Contains("carrier-pigeon", StringComparison.Ordinal));
    }

    [NodeFact]
    public async Task A_relative_command_is_taken_from_the_sessions_folder()
    {
        string launcher = _temp.Write(Path.Combine("bin", "server.sh"), $"#!/bin/sh\nexec node '{McpTestServer.Script}'\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(launcher, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        await using McpToolbox box = Start(new McpServer("local") { Command = "./bin/server.sh" });

        Assert.Contains(await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline), f => f.Name == "local__echo");
    }

    [Fact]
    public async Task No_servers_give_an_empty_toolbox()
    {
        await using McpToolbox box = Start();

        Assert.Empty(await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline));
    }

    [NodeFact]
    public async Task A_function_of_a_server_that_failed_gives_IsError()
    {
        await using McpToolbox box = Start(new McpServer("ghost") { Command = Path.Combine(_temp.Root, "no-such-mcp-server") });

        McpCallResult result = await box.CallAsync(new McpFunction("ghost__echo", "ghost", "echo", "", null), Json("{}"), CancellationToken.None);

        Assert.True(result.IsError);
        Assert.Contains("not connected", result.Text, StringComparison.Ordinal);
    }

    [NodeFact]
    public async Task A_server_that_never_answers_times_out_is_logged_and_stopped()
    {
        string pidFile = Path.Combine(_temp.Root, "silent.pid");
        var time = new FakeTimeProvider();
        await using McpToolbox box = McpToolbox.Start(
            [McpTestServer.Stdio("silent", new NameValue("MCP_TEST_SILENT", "1"), new NameValue("MCP_TEST_PID_FILE", pidFile))],
            _temp.Workspace,
            _loggers.Factory,
            new McpToolboxOptions { ConnectTimeout = TimeSpan.FromSeconds(5), TimeProvider = time });
        // The server runs, so its connect has begun and its deadline is set: let the deadline pass.
        int pid = await ReadPidAsync(pidFile);
        time.Advance(TimeSpan.FromSeconds(5));

        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        Assert.Empty(functions);
        Assert.Contains(_loggers.Warnings, w => w.Message.Contains("silent", StringComparison.Ordinal) && w.Message.Contains("within 5 s", StringComparison.Ordinal));
        Assert.True(await ProcessState.IsGoneAsync(pid, s_deadline), $"the server (pid {pid}) still runs after its connect timed out");
    }

    [NodeFact]
    public async Task Cancelling_a_call_throws_promptly_and_the_server_is_told()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        using var cancellation = new CancellationTokenSource();

        Task<McpCallResult> wait = box.CallAsync(Single(functions, "tests__wait"), Json("{}"), cancellation.Token);
        // Cancel once the server holds the request, so that the cancellation has something to cancel there.
        await PollAsync(async () => (await box.CallAsync(Single(functions, "tests__waiting"), Json("{}"), CancellationToken.None)).Text == "1");
        Assert.False(wait.IsCompleted);
        await cancellation.CancelAsync();

        // Promptly: the caller does not wait for the server, which never answers a cancelled request.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
        await PollAsync(async () => (await box.CallAsync(Single(functions, "tests__cancelled_count"), Json("{}"), CancellationToken.None)).Text == "1");
        Assert.Equal("0", (await box.CallAsync(Single(functions, "tests__waiting"), Json("{}"), CancellationToken.None)).Text);
    }

    [NodeFact]
    public async Task An_already_cancelled_call_sends_nothing()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => box.CallAsync(Single(functions, "tests__wait"), Json("{}"), new CancellationToken(canceled: true)));

        Assert.Equal("0", (await box.CallAsync(Single(functions, "tests__waiting"), Json("{}"), CancellationToken.None)).Text);
    }

    [NodeFact]
    public async Task DisposeAsync_ends_the_server_process_and_is_safe_twice()
    {
        McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        int pid = int.Parse((await box.CallAsync(Single(functions, "tests__pid"), Json("{}"), CancellationToken.None)).Text, CultureInfo.InvariantCulture);
        Assert.False(await ProcessState.IsGoneAsync(pid, TimeSpan.Zero));

        await box.DisposeAsync().AsTask().WaitAsync(s_deadline);
        await box.DisposeAsync().AsTask().WaitAsync(s_deadline);

        Assert.True(await ProcessState.IsGoneAsync(pid, s_deadline), $"the server (pid {pid}) still runs after DisposeAsync");
        McpCallResult after = await box.CallAsync(Single(functions, "tests__echo"), Json("""{"text":"x"}"""), CancellationToken.None);
        Assert.True(after.IsError);
    }

    [NodeFact]
    public async Task DisposeAsync_while_connecting_stops_the_server_and_logs_no_failure()
    {
        string pidFile = Path.Combine(_temp.Root, "silent.pid");
        McpToolbox box = Start(McpTestServer.Stdio("silent", new NameValue("MCP_TEST_SILENT", "1"), new NameValue("MCP_TEST_PID_FILE", pidFile)));
        int pid = await ReadPidAsync(pidFile);

        await box.DisposeAsync().AsTask().WaitAsync(s_deadline);

        Assert.True(await ProcessState.IsGoneAsync(pid, s_deadline), $"the server (pid {pid}) still runs after DisposeAsync");
        Assert.Empty(await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline));
        Assert.Empty(_loggers.Warnings);
    }

    [NodeFact]
    public async Task A_server_killed_mid_session_gives_IsError_in_flight_and_after()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        int pid = int.Parse((await box.CallAsync(Single(functions, "tests__pid"), Json("{}"), CancellationToken.None)).Text, CultureInfo.InvariantCulture);
        Task<McpCallResult> inFlight = box.CallAsync(Single(functions, "tests__wait"), Json("{}"), CancellationToken.None);
        await PollAsync(async () => (await box.CallAsync(Single(functions, "tests__waiting"), Json("{}"), CancellationToken.None)).Text == "1");

        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
        }

        McpCallResult interrupted = await inFlight.WaitAsync(s_deadline);
        McpCallResult after = await box.CallAsync(Single(functions, "tests__echo"), Json("""{"text":"anyone?"}"""), CancellationToken.None).WaitAsync(s_deadline);

        Assert.True(interrupted.IsError);
        Assert.Contains("tests", interrupted.Text, StringComparison.Ordinal);
        Assert.True(after.IsError);
        Assert.Contains("tests", after.Text, StringComparison.Ordinal);
    }

    [NodeFact]
    public async Task The_servers_stderr_is_logged_at_debug_and_a_healthy_server_gives_no_warning()
    {
        await using McpToolbox box = Start(McpTestServer.Stdio("tests"));
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        string pid = (await box.CallAsync(Single(functions, "tests__pid"), Json("{}"), CancellationToken.None)).Text;
        string started = $"mcp-test-server {pid} started";

        // stderr is read apart from stdout: the line may come in after the answers.
        await PollAsync(() => Task.FromResult(_loggers.Lines.Any(l =>
            l.Level == LogLevel.Debug && l.Category == "Acp.GptOss.Mcp" && l.Message.Contains(started, StringComparison.Ordinal) && l.Message.Contains("tests", StringComparison.Ordinal))));
        // Not above Debug from the MCP client either, which logs stderr lines too; and its warning for a server that
        // does not know server/discover (nearly all of them today) is no warning of ours.
        Assert.DoesNotContain(_loggers.Lines, l => l.Level > LogLevel.Debug && l.Message.Contains(started, StringComparison.Ordinal));
        Assert.Empty(_loggers.Warnings);
    }

    private McpToolbox Start(params McpServer[] servers) => McpToolbox.Start(servers, _temp.Workspace, _loggers.Factory);

    private static McpFunction Single(IReadOnlyList<McpFunction> functions, string name) => Assert.Single(functions, f => f.Name == name);

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();

    /// <summary>Polls <paramref name="condition"/> until it holds; fails at the deadline, which only a bug reaches.</summary>
    private static async Task PollAsync(Func<Task<bool>> condition)
    {
        DateTime deadline = DateTime.UtcNow + s_deadline;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true in time");
            await Task.Delay(20);
        }
    }

    private static async Task<int> ReadPidAsync(string pidFile)
    {
        await PollAsync(() => Task.FromResult(File.Exists(pidFile)));
        return int.Parse(await File.ReadAllTextAsync(pidFile), CultureInfo.InvariantCulture);
    }
}
