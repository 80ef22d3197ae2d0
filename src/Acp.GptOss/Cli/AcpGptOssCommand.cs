using System.CommandLine;
using System.Text;
using Acp.GptOss.Hosting;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary>The <c>acp-gptoss</c> command line.</summary>
internal static class AcpGptOssCommand
{
    public static async Task<int> RunAsync(string[] args, StdioStreams streams, CancellationToken cancellationToken)
    {
        var logLevel = new Option<LogLevel>("--log-level")
        {
            Description = "Least severe log level written to stderr.",
            DefaultValueFactory = _ => LogLevel.Information,
            Recursive = true,
        };

        ILoggerFactory? loggerFactory = null;
        ParseResult? parsed = null;
        ILoggerFactory Loggers() => loggerFactory ??= Logging.CreateFactory(parsed!.GetValue(logLevel));

        var root = new RootCommand("acp-gptoss: an Agent Client Protocol agent for OpenAI's GPT-OSS models.");
        root.Options.Add(logLevel);
        root.Subcommands.Add(HarmonyCommand.Create(streams, Loggers));
        root.SetAction(async (_, token) =>
        {
            await streams.Error.WriteLineAsync(
                "acp-gptoss: the ACP agent over stdio is not built yet; try 'acp-gptoss harmony parse FILE' or --help.").ConfigureAwait(false);
            return ExitCodes.UsageError;
        });

        var stdout = new StreamWriter(streams.Output, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), leaveOpen: true) { AutoFlush = true };
        await using (stdout.ConfigureAwait(false))
        {
            try
            {
                parsed = root.Parse(args);
                // Help asked for goes to stdout; help that explains a mistake goes to stderr with it, never into the protocol stream.
                TextWriter helpOutput = parsed.Errors.Count == 0 ? stdout : streams.Error;
                return await parsed.InvokeAsync(new InvocationConfiguration { Output = helpOutput, Error = streams.Error }, cancellationToken)
                    .ConfigureAwait(false);
            }
            finally
            {
                loggerFactory?.Dispose();
            }
        }
    }
}
