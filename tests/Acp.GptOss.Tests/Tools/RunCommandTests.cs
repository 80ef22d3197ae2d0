using System.Text.Json;
using Acp.GptOss.Tools;
using Acp.GptOss.Tools.Local;
using Microsoft.Extensions.Time.Testing;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Tools;

/// <summary>run_command: exit codes, interleaved output, the output cap, and killing on timeout and cancellation.</summary>
public sealed class RunCommandTests : IDisposable
{
    private static readonly TimeSpan s_longTimeout = TimeSpan.FromMinutes(5);

    // Generous, yet far below the sleep's own 600 s: only a broken kill reaches it, and the test fails, not hangs.
    private static readonly TimeSpan s_processGoneDeadline = TimeSpan.FromSeconds(20);

    private readonly TempWorkspace _temp = new();
    private readonly FakeTimeProvider _time = new();
    private readonly LocalCommands _commands;

    public RunCommandTests() => _commands = new LocalCommands(_temp.Roots, _time);

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task Exit_code_and_output_come_back()
    {
        JsonElement result = await RunAsync("echo hello; exit 3");

        Assert.Equal(3, result.GetProperty("exitCode").GetInt32());
        Assert.False(result.GetProperty("timedOut").GetBoolean());
        Assert.Equal("hello\n", result.GetProperty("output").GetString());
        Assert.Equal(0, result.GetProperty("outputTruncatedBytes").GetInt64());
    }

    [Fact]
    public async Task Stdout_and_stderr_are_interleaved_in_order()
    {
        JsonElement result = await RunAsync("echo one; echo two >&2; echo three; echo four >&2");

        Assert.Equal("one\ntwo\nthree\nfour\n", result.GetProperty("output").GetString());
    }

    [Fact]
    public async Task It_runs_in_the_cwd_or_a_folder_inside_and_stdin_is_closed()
    {
        Directory.CreateDirectory(Path.Combine(_temp.Workspace, "sub"));

        Assert.Equal(_temp.Workspace + "\n", (await RunAsync("pwd")).GetProperty("output").GetString());
        Assert.Equal(Path.Combine(_temp.Workspace, "sub") + "\n", (await RunAsync("pwd", "sub")).GetProperty("output").GetString());
        Assert.Equal("0\n", (await RunAsync("wc -c")).GetProperty("output").GetString());
    }

    [Fact]
    public async Task A_cwd_outside_the_workspace_is_refused()
    {
        await Assert.ThrowsAsync<ToolException>(() => _commands.RunCommandAsync("pwd", "../outside", s_longTimeout, CancellationToken.None));
        await Assert.ThrowsAsync<ToolException>(() => _commands.RunCommandAsync("pwd", "/", s_longTimeout, CancellationToken.None));
    }

    [Fact]
    public async Task Output_keeps_the_last_64_KiB()
    {
        JsonElement result = await RunAsync("head -c 100000 /dev/zero | tr '\\0' a; echo END");

        string output = result.GetProperty("output").GetString()!;
        Assert.Equal(LocalCommands.MaxCommandOutputBytes, output.Length);
        Assert.EndsWith("aaaEND\n", output, StringComparison.Ordinal);
        Assert.Equal(100004 - LocalCommands.MaxCommandOutputBytes, result.GetProperty("outputTruncatedBytes").GetInt64());
    }

    [Fact]
    public async Task A_timeout_kills_the_process_tree_and_says_so()
    {
        string pidFile = Path.Combine(_temp.Workspace, "sleep.pid");

        // The sleep is the shell's child, so only a kill of the whole tree ends it.
        Task<string> run = _commands.RunCommandAsync(
            $"echo started; sleep 600 & echo $! > '{pidFile}.tmp'; mv '{pidFile}.tmp' '{pidFile}'; wait", null, TimeSpan.FromSeconds(2), CancellationToken.None);
        // The deadline passes only once the sleep runs, else there is nothing to kill.
        await WaitForPidAsync(pidFile, run);
        _time.Advance(TimeSpan.FromSeconds(2));
        string json = await run.WaitAsync(s_processGoneDeadline);

        JsonElement result = JsonDocument.Parse(json).RootElement;
        Assert.True(result.GetProperty("timedOut").GetBoolean());
        Assert.Contains("killed", result.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.Equal("started\n", result.GetProperty("output").GetString());
        int pid = int.Parse(await File.ReadAllTextAsync(pidFile), System.Globalization.CultureInfo.InvariantCulture);
        Assert.True(await ProcessState.IsGoneAsync(pid, s_processGoneDeadline), $"sleep (pid {pid}) still runs after the timeout");
    }

    [Fact]
    public async Task Cancellation_kills_the_process_tree_and_throws()
    {
        string pidFile = Path.Combine(_temp.Workspace, "sleep.pid");
        using var cancellation = new CancellationTokenSource();
        Task<string> run = _commands.RunCommandAsync($"sleep 600 & echo $! > '{pidFile}.tmp'; mv '{pidFile}.tmp' '{pidFile}'; wait", null, s_longTimeout, cancellation.Token);

        // Cancel only once the sleep runs, else there is nothing to kill.
        int pid = await WaitForPidAsync(pidFile, run);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => run);
        Assert.True(await ProcessState.IsGoneAsync(pid, s_processGoneDeadline), $"sleep (pid {pid}) still runs after cancellation");
    }

    [Fact]
    public async Task An_already_cancelled_token_starts_nothing()
    {
        string marker = Path.Combine(_temp.Workspace, "ran");

        await Assert.ThrowsAnyAsync<OperationCanceledException>(
            () => _commands.RunCommandAsync($"touch '{marker}'", null, s_longTimeout, new CancellationToken(canceled: true)));

        Assert.False(File.Exists(marker));
    }

    private async Task<JsonElement> RunAsync(string command, string? cwd = null)
    {
        string json = await _commands.RunCommandAsync(command, cwd, s_longTimeout, CancellationToken.None);
        return JsonDocument.Parse(json).RootElement.Clone();
    }

    /// <summary>Waits for the command to publish its child's pid (renamed into place, so never half written).</summary>
    private static async Task<int> WaitForPidAsync(string pidFile, Task run)
    {
        using var deadline = new CancellationTokenSource(s_processGoneDeadline);
        while (!File.Exists(pidFile))
        {
            Assert.False(run.IsCompleted, "the command ended before it wrote its pid");
            await Task.Delay(10, deadline.Token);
        }

        return int.Parse(await File.ReadAllTextAsync(pidFile, deadline.Token), System.Globalization.CultureInfo.InvariantCulture);
    }
}
