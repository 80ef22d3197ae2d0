using System.CommandLine;
using System.Net;
using Acp.GptOss.Agent;
using Acp.GptOss.Api;
using Acp.GptOss.Hosting;
using Acp.GptOss.Models;
using Acp.GptOss.Relay;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary><c>acp-gptoss relay</c>: the agent over WebSockets, for browsers and remote clients.</summary>
internal static class RelayCommand
{
    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers)
    {
        var listen = new Option<string>("--listen")
        {
            Description = $"ADDRESS:PORT to listen on; port 0 picks a free one. Anything but loopback needs --allow-remote.",
            DefaultValueFactory = _ => $"127.0.0.1:{RelayOptions.DefaultPort}",
        };
        var allowRemote = new Option<bool>("--allow-remote")
        {
            Description = "Allow --listen on an address other machines can reach (use TLS in front of it: the token travels in clear).",
        };
        var allowOrigin = new Option<string[]>("--allow-origin")
        {
            Description = "A browser origin (scheme://host:port) allowed besides the relay's own; repeat for more.",
            AllowMultipleArgumentsPerToken = false,
        };
        var idleMinutes = new Option<double>("--idle-timeout-minutes")
        {
            Description = "Close a connection after this many minutes without a message from its client; 0 never does.",
            DefaultValueFactory = _ => 30,
        };
        var maxMessageBytes = new Option<int>("--max-message-bytes")
        {
            Description = "The largest message a client may send; a larger one closes its connection (1009).",
            DefaultValueFactory = _ => new WebSocketPeerOptions().MaxMessageBytes,
        };
        var localTools = new Option<bool>("--local-tools")
        {
            Description = "Let the model read, edit and run commands on this machine for clients that offer no files or terminals of their own "
                + "(the chat page, say); off by default, since such a client's session may name any folder here.",
        };

        var command = new Command("relay", "Serve ACP over WebSockets on /acp and an OpenAI-compatible API on /v1 (a token is required), with a chat page at /, /health and /metrics.");
        command.Options.Add(listen);
        command.Options.Add(allowRemote);
        command.Options.Add(allowOrigin);
        command.Options.Add(idleMinutes);
        command.Options.Add(maxMessageBytes);
        command.Options.Add(localTools);
        var agent = new AgentCommandLine();
        agent.AddTo(command, withEngine: true);
        command.SetAction(async (result, cancellationToken) =>
        {
            bool remote = result.GetValue(allowRemote);
            if (!RelayOptions.TryParseListen(result.GetValue(listen)!, remote, out IPEndPoint? endPoint, out string? error))
            {
                await streams.Error.WriteLineAsync($"acp-gptoss relay: {error}").ConfigureAwait(false);
                return ExitCodes.UsageError;
            }

            double idle = result.GetValue(idleMinutes);
            int maxBytes = result.GetValue(maxMessageBytes);
            if (idle < 0 || maxBytes < 1024)
            {
                await streams.Error.WriteLineAsync("acp-gptoss relay: --idle-timeout-minutes must be 0 or more, --max-message-bytes at least 1024.")
                    .ConfigureAwait(false);
                return ExitCodes.UsageError;
            }

            string[] origins = result.GetValue(allowOrigin) ?? [];
            if (origins.FirstOrDefault(o => !Uri.TryCreate(o, UriKind.Absolute, out Uri? u) || u.AbsolutePath != "/") is { } badOrigin)
            {
                await streams.Error.WriteLineAsync($"acp-gptoss relay: --allow-origin takes scheme://host[:port], not \"{badOrigin}\".").ConfigureAwait(false);
                return ExitCodes.UsageError;
            }

            RelayToken token;
            try
            {
                token = RelayToken.Load(AppDirectories.Config);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                await streams.Error.WriteLineAsync($"acp-gptoss relay: cannot read or create the token: {e.Message}").ConfigureAwait(false);
                return ExitCodes.InputError;
            }

            // Exactly as the stdio agent makes them: one set of engines, shared by every connection.
            AgentOptions? options = agent.ReadOptions(result, out error) is { } read ? read with { LocalTools = result.GetValue(localTools) } : null;
            AgentEngines? engines = options is null ? null : agent.CreateEngines(result, loggers(), out error);
            if (engines is null)
            {
                await streams.Error.WriteLineAsync($"acp-gptoss relay: {error}").ConfigureAwait(false);
                return ExitCodes.UsageError;
            }

            try
            {
                var relayOptions = new RelayOptions
                {
                    Listen = endPoint!,
                    Token = token,
                    AllowedOrigins = origins,
                    Agent = options!,
                    Api = new ApiOptions
                    {
                        DefaultMaxTokens = options!.MaxTokens,
                        MaxConcurrentGenerations = result.GetValue(agent.Parallel),
                        MaxRequestBytes = maxBytes,
                        DiscoverModels = () => [.. ModelDiscovery.Find().Where(m => m.IsGptOss).Select(m => m.Path)],
                    },
                    Transport = new WebSocketPeerOptions
                    {
                        MaxMessageBytes = maxBytes,
                        IdleTimeout = idle > 0 ? TimeSpan.FromMinutes(idle) : null,
                    },
                };
                RelayServer server;
                try
                {
                    server = await RelayServer.StartAsync(relayOptions, engines, loggers(), cancellationToken).ConfigureAwait(false);
                }
                catch (IOException e)
                {
                    await streams.Error.WriteLineAsync($"acp-gptoss relay: cannot listen on {endPoint}: {e.Message}").ConfigureAwait(false);
                    return ExitCodes.InputError;
                }

                await using (server.ConfigureAwait(false))
                {
                    await AnnounceAsync(streams.Error, server.Address, token, remote && !IPAddress.IsLoopback(endPoint!.Address)).ConfigureAwait(false);
                    try
                    {
                        // Until Ctrl-C or SIGTERM, which the command line turns into this cancellation.
                        await Task.Delay(Timeout.Infinite, cancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException)
                    {
                    }

                    await streams.Error.WriteLineAsync("Relay stopping.").ConfigureAwait(false);
                }
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
        });
        return command;
    }

    private static async Task AnnounceAsync(TextWriter error, Uri address, RelayToken token, bool remote)
    {
        string root = address.ToString().TrimEnd('/');
        string ws = "ws" + root["http".Length..] + "/acp";
        if (remote)
        {
            await error.WriteLineAsync(
                "WARNING: the relay accepts connections from other machines, over plain HTTP: anyone who sees the token can run prompts. "
                + "Put TLS in front of it.").ConfigureAwait(false);
        }

        await error.WriteLineAsync($"Relay listening on {root}").ConfigureAwait(false);
        await error.WriteLineAsync($"Open {root}/ in a browser, or connect a WebSocket to {ws} with the header "
            + "\"Authorization: Bearer TOKEN\" or the subprotocols [\"acp\", TOKEN].").ConfigureAwait(false);
        await error.WriteLineAsync($"OpenAI-compatible API: {root}/v1 (the same token as the API key), metrics at {root}/metrics.").ConfigureAwait(false);
        // The token is shown once, when it is made; afterwards only where it lives.
        await error.WriteLineAsync(token.Generated
            ? $"New token (saved in {token.Source}): {token.Value}"
            : $"The token is in {token.Source}.").ConfigureAwait(false);
        await error.FlushAsync().ConfigureAwait(false);
    }
}
