using System.CommandLine;
using System.IO.Pipelines;
using Acp.GptOss.Agent;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Cli;

/// <summary>
/// <c>acp-gptoss replay COMPLETION</c>: one prompt turn against the scripted engine, driven by a built-in client that
/// advertises no capabilities, with local tools off (a tool call fails the same way on every machine); prints every
/// message the agent writes for that turn (its updates, then the prompt response), one per line. The golden-test
/// harness: recorded model output in, exact ACP messages out.
/// </summary>
internal static class ReplayCommand
{
    // Fixed, so that the same completion always prints the same lines.
    private const string Workspace = "/workspace";
    private static readonly DateOnly s_today = new(2025, 8, 5);

    public static Command Create(StdioStreams streams, Func<ILoggerFactory> loggers)
    {
        var options = new AgentCommandLine();
        var completion = new Argument<string>("COMPLETION")
        {
            Description = "The model's completion, with literal special-token spellings; or a folder of 1.txt, 2.txt, ... one per sampling round.",
        };
        var prompt = new Option<string>("--prompt") { Description = "The user's prompt.", DefaultValueFactory = _ => "hello" };
        var replay = new Command("replay", "Run one prompt turn against a scripted completion and print the agent's messages for it.");
        replay.Arguments.Add(completion);
        replay.Options.Add(prompt);
        options.AddTo(replay, withEngine: false);
        replay.SetAction(async (result, cancellationToken) =>
        {
            // A replay prints ACP traffic only: its routing decisions are not the user's to keep.
            AgentOptions? agentOptions = options.ReadOptions(result, out string? error) is { } read ? read with { StateDirectory = null, LocalTools = false } : null;
            IInferenceEngine? engine = agentOptions is null ? null : options.CreateEngine(result, "script", result.GetValue(completion), promptLog: null, loggers(), out error);
            if (engine is null)
            {
                await streams.Error.WriteLineAsync($"acp-gptoss replay: {error}").ConfigureAwait(false);
                return ExitCodes.UsageError;
            }

            await using (engine.ConfigureAwait(false))
            {
                return await RunAsync(engine, agentOptions! with { NewSessionId = () => "sess_replay", Today = () => s_today },
                    result.GetValue(prompt)!, streams, loggers(), cancellationToken).ConfigureAwait(false);
            }
        });
        return replay;
    }

    private static async Task<int> RunAsync(
        IInferenceEngine engine, AgentOptions options, string prompt, StdioStreams streams, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var toAgent = new Pipe();
        var fromAgent = new Pipe();
        var recorder = new RecordingStream(fromAgent.Writer.AsStream());
        Task agent = RunAgentAsync(
            JsonRpcPeer.ForStreams(toAgent.Reader.AsStream(), recorder, loggers.CreateLogger("Acp.JsonRpc")), engine, options, loggers, fromAgent.Writer, cancellationToken);

        JsonRpcPeer client = JsonRpcPeer.ForStreams(fromAgent.Reader.AsStream(), toAgent.Writer.AsStream(), loggers.CreateLogger("Replay.Client"));
        AcpJsonContext json = AcpJsonContext.Default;
        // The session's commands follow the answer to session/new (docs/acp.md §4.5): the replay shows the turn alone.
        var commands = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        client.AddNotificationHandler(AcpMethods.SessionUpdate, json.SessionNotification, (n, _) =>
        {
            if (n.Update is AvailableCommandsUpdate)
            {
                commands.TrySetResult();
            }
        });
        Task clientLoop = client.RunAsync(cancellationToken);
        int exitCode = ExitCodes.Success;
        try
        {
            await client.RequestAsync(
                AcpMethods.Initialize, new InitializeRequest(AcpMethods.ProtocolVersion) { ClientInfo = new Implementation("acp-gptoss-replay", AppVersion.Current) },
                json.InitializeRequest, json.InitializeResponse, cancellationToken).ConfigureAwait(false);
            NewSessionResponse session = await client.RequestAsync(
                AcpMethods.SessionNew, new NewSessionRequest(Workspace, []), json.NewSessionRequest, json.NewSessionResponse, cancellationToken).ConfigureAwait(false);

            await commands.Task.WaitAsync(cancellationToken).ConfigureAwait(false);
            recorder.Recording = true;
            await client.RequestAsync(
                AcpMethods.SessionPrompt, new PromptRequest(session.SessionId, [new TextContent(prompt)]), json.PromptRequest, json.PromptResponse,
                cancellationToken).ConfigureAwait(false);
        }
        catch (JsonRpcException e)
        {
            // The error response is among the recorded lines.
            await streams.Error.WriteLineAsync($"acp-gptoss replay: the agent answered with error {e.Code}: {e.Message}").ConfigureAwait(false);
            exitCode = ExitCodes.InputError;
        }
        finally
        {
            recorder.Recording = false;
            await toAgent.Writer.CompleteAsync().ConfigureAwait(false);
            await agent.ConfigureAwait(false);
            await clientLoop.ConfigureAwait(false);
            await client.DisposeAsync().ConfigureAwait(false);
        }

        // Whole lines: the agent writes and flushes one message at a time.
        await streams.Output.WriteAsync(recorder.Recorded, cancellationToken).ConfigureAwait(false);

        await streams.Output.FlushAsync(cancellationToken).ConfigureAwait(false);
        return exitCode;
    }

    private static async Task RunAgentAsync(
        JsonRpcPeer peer, IInferenceEngine engine, AgentOptions options, ILoggerFactory loggers, PipeWriter output, CancellationToken cancellationToken)
    {
        try
        {
            await AgentHost.RunAsync(peer, new AgentEngines(engine), options, loggers, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            // The agent is done: end the client's input.
            await output.CompleteAsync().ConfigureAwait(false);
        }
    }
}
