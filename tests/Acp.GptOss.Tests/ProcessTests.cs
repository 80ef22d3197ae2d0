using System.Diagnostics;
using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests;

/// <summary>The built executable, run as a process: stdout carries results only, everything else goes to stderr.</summary>
public sealed class ProcessTests
{
    [Fact]
    public async Task Harmony_parse_as_a_process_prints_what_the_command_prints()
    {
        string golden = CliRunner.GoldenPath("harmony", "C03-preamble-then-tool-call.json");

        ProcessResult process = await RunAsync("harmony", "parse", golden);
        CliResult inProcess = await CliRunner.RunAsync("harmony", "parse", golden);

        Assert.Equal(0, process.ExitCode);
        Assert.Equal("", process.Error);
        Assert.Equal(inProcess.Text, process.Output);
    }

    [Fact]
    public async Task Logs_go_to_stderr_and_stdout_holds_only_json_lines()
    {
        string path = Path.Combine(Path.GetTempPath(), $"acp-gptoss-{Guid.NewGuid():N}.txt");
        await File.WriteAllTextAsync(path, "<|channel|>finalx<|message|>odd<|start|>assistant<|channel|>final<|message|>ok<|return|>");
        try
        {
            ProcessResult result = await RunAsync("harmony", "parse", path, "--log-level", "Debug");

            Assert.Equal(0, result.ExitCode);
            Assert.Contains("Tolerated malformed output: UnknownChannel", result.Error, StringComparison.Ordinal);
            Assert.All(result.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries), line => JsonDocument.Parse(line).Dispose());
        }
        finally
        {
            File.Delete(path);
        }
    }

    [Theory]
    [InlineData("harmony", "parse")]
    [InlineData("--no-such-option")]
    [InlineData("harmony", "render", "/no/such/file.json")]
    public async Task Mistakes_write_nothing_to_stdout(params string[] args)
    {
        ProcessResult result = await RunAsync(args);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Equal("", result.Output);
        Assert.NotEqual("", result.Error);
        Assert.DoesNotContain("Unhandled exception", result.Error, StringComparison.Ordinal);
    }

    private static async Task<ProcessResult> RunAsync(params string[] args)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "acp-gptoss.dll"));
        foreach (string arg in args)
        {
            start.ArgumentList.Add(arg);
        }

        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        Task<string> output = process.StandardOutput.ReadToEndAsync();
        Task<string> error = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        return new ProcessResult(process.ExitCode, await output, await error);
    }

    private sealed record ProcessResult(int ExitCode, string Output, string Error);
}
