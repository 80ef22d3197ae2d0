using System.CommandLine;
using System.Text;
using Acp.GptOss.Agent;
using Acp.GptOss.Hosting;
using Acp.GptOss.Models;
using Acp.GptOss.Provisioning;
using Acp.Protocol.JsonRpc;
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
        ILoggerFactory Loggers() => loggerFactory ??= Logging.CreateFactory(streams.Error, LogLevelOf(parsed!, logLevel));

        var root = new RootCommand(
            "acp-gptoss: an Agent Client Protocol agent for OpenAI's GPT-OSS models. Without a command it serves ACP on stdin/stdout.");
        root.Options.Add(logLevel);
        var agent = new AgentCommandLine();
        agent.AddTo(root, withEngine: true);
        root.Subcommands.Add(HarmonyCommand.Create(streams, Loggers));
        root.Subcommands.Add(ReplayCommand.Create(streams, Loggers));
        root.Subcommands.Add(DoctorCommand.Create(streams, Loggers));
        root.Subcommands.Add(ModelsCommand.Create(streams, Loggers));
        root.Subcommands.Add(DevCommand.Create(streams, Loggers));
        root.Subcommands.Add(RelayCommand.Create(streams, Loggers));
        root.Subcommands.Add(InferCommand.Create(streams, Loggers));
        root.SetAction((result, token) => ServeAsync(agent, result, streams, Loggers(), token));

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

    /// <summary>
    /// The level asked for; without one, <c>infer</c> logs warnings only, since its stderr is where a person reads
    /// the reasoning and the notes about the answer, and the rest logs what it does.
    /// </summary>
    private static LogLevel LogLevelOf(ParseResult parsed, Option<LogLevel> option) =>
        parsed.GetResult(option) is { Implicit: false } || parsed.CommandResult.Command.Name != "infer" ? parsed.GetValue(option) : LogLevel.Warning;

    private static async Task<int> ServeAsync(AgentCommandLine agent, ParseResult result, StdioStreams streams, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        AgentOptions? options = agent.ReadOptions(result, out string? error);
        AgentEngines? engines = options is null ? null : agent.CreateEngines(result, loggers, out error);
        if (engines is null)
        {
            await streams.Error.WriteLineAsync($"acp-gptoss: {error}").ConfigureAwait(false);
            return ExitCodes.UsageError;
        }

        // The editor's /download: as `models pull`, into the Hugging Face cache.
        engines = engines with { Puller = new HubModelPuller(ModelEnvironment.FromProcess(), new DownloadOptions(), loggers.CreateLogger("Acp.GptOss.Models")) };
        try
        {
            JsonRpcPeer peer = JsonRpcPeer.ForStreams(streams.Input, streams.Output, loggers.CreateLogger("Acp.JsonRpc"));
            await AgentHost.RunAsync(peer, engines, options!, loggers, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            await engines.GptOss.DisposeAsync().ConfigureAwait(false);
            if (engines.Fast is not null)
            {
                await engines.Fast.DisposeAsync().ConfigureAwait(false);
            }
        }

        return ExitCodes.Success;
    }
}
