using System.Text;
using Acp.GptOss.Cli;
using Acp.GptOss.Hosting;

namespace Acp.GptOss.Tests.Support;

/// <summary>Runs the command line in-process with captured streams.</summary>
internal static class CliRunner
{
    public static async Task<CliResult> RunAsync(params string[] args) => await RunAsync([], args);

    public static async Task<CliResult> RunAsync(byte[] stdin, params string[] args)
    {
        using var output = new MemoryStream();
        using var error = new StringWriter();
        int exitCode = await AcpGptOssCommand.RunAsync(args, new StdioStreams(new MemoryStream(stdin), output, error), CancellationToken.None);
        return new CliResult(exitCode, output.ToArray(), error.ToString());
    }

    public static string GoldenPath(params string[] parts) => Path.Combine([AppContext.BaseDirectory, "golden", .. parts]);
}

internal sealed record CliResult(int ExitCode, byte[] Output, string Error)
{
    public string Text => Encoding.UTF8.GetString(Output);

    public string[] Lines => Text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
