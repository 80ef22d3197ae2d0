namespace Acp.GptOss.Hosting;

/// <summary>
/// The process's standard streams. This is the only place that opens stdout: in agent mode stdout carries ACP
/// messages and nothing else, so everything else writes to <see cref="Error"/> or through a logger.
/// </summary>
/// <param name="Input">stdin, as bytes.</param>
/// <param name="Output">stdout, as bytes: protocol messages, or a CLI command's result.</param>
/// <param name="Error">stderr: logs and messages for people.</param>
internal sealed record StdioStreams(Stream Input, Stream Output, TextWriter Error)
{
    /// <summary>The real standard streams.</summary>
    public static StdioStreams OpenConsole()
    {
#pragma warning disable RS0030 // The one sanctioned use of the console.
        var streams = new StdioStreams(Console.OpenStandardInput(), Console.OpenStandardOutput(), Console.Error);

        // A library that writes to Console.Out lands on stderr instead of corrupting the protocol stream.
        Console.SetOut(Console.Error);
        return streams;
#pragma warning restore RS0030
    }
}
