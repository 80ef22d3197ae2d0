using System.Collections.Concurrent;
using System.Text.Json;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.GptOss.Routing;
using Acp.GptOss.Tools;
using Acp.GptOss.Tools.Mcp;
using Harmony.Conversations;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>The ACP agent: sessions over GPT-OSS and, when configured, a fast model, with a router between them.</summary>
/// <remarks>Thread-safe: the JSON-RPC peer calls it concurrently.</remarks>
internal sealed partial class GptOssAgent(AgentEngines engines, IAcpClient client, AgentOptions options, ILoggerFactory loggers)
    : IAcpAgent, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger("Acp.GptOss.Agent");
    private readonly RouteDecisionLog _decisions = new(options.StateDirectory, loggers.CreateLogger("Acp.GptOss.Routing"));
    private readonly ModelExtensions _extensions = new(engines);
    private IDisposable? _telemetry;
    private ClientCapabilities? _clientCapabilities;

    public ValueTask<InitializeResponse> InitializeAsync(InitializeRequest request, CancellationToken cancellationToken)
    {
        if (request.ProtocolVersion is < 0 or > ushort.MaxValue)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"protocolVersion must be an integer from 0 to 65535, not {request.ProtocolVersion}.");
        }

        // What the editor can do for the tools (fs, terminals) holds for every session of this connection.
        _clientCapabilities = request.ClientCapabilities;

        // Whatever the client asks for, we speak version 1; a client that cannot will disconnect.
        LogInitialize(_logger, request.ClientInfo?.Name ?? "an unnamed client", request.ClientInfo?.Version ?? "?", request.ProtocolVersion, engines.GptOss.Description);
        if (ModelExtensions.WantsTelemetry(request.ClientCapabilities?.Meta) && _telemetry is null)
        {
            // Sent in order with everything else on the connection; the subscription ends with the agent.
            _telemetry = engines.Telemetry.Subscribe(e => client.ExtensionNotification(ModelExtensions.TelemetryNotification, ModelExtensions.ToJson(e)));
        }

        return ValueTask.FromResult(new InitializeResponse(
            AcpMethods.ProtocolVersion,
            new AgentCapabilities(LoadSession: false, new PromptCapabilities(Image: false, Audio: false, EmbeddedContext: true))
            {
                McpCapabilities = new McpCapabilities(Http: true, Sse: true),
                SessionCapabilities = new SessionCapabilities { AdditionalDirectories = new EmptyCapability() },
                Meta = ModelExtensions.Capabilities,
            },
            [],
            new Implementation("acp-gptoss", AppVersion.Current) { Title = "GPT-OSS (local)" }));
    }

    public ValueTask<NewSessionResponse> NewSessionAsync(NewSessionRequest request, CancellationToken cancellationToken)
    {
        if (!Path.IsPathFullyQualified(request.Cwd))
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"cwd must be an absolute path, not \"{request.Cwd}\".");
        }

        foreach (string directory in request.AdditionalDirectories ?? [])
        {
            if (!Path.IsPathFullyQualified(directory))
            {
                throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"additionalDirectories must be absolute paths, not \"{directory}\".");
            }
        }

        string id = options.NewSessionId();
        WorkspaceRoots roots;
        try
        {
            roots = new WorkspaceRoots(request.Cwd, request.AdditionalDirectories);
        }
        catch (ToolException ex)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, ex.Message);
        }

        // The servers start now, in the background; the first turn waits for them.
        var tools = new SessionTools(
            id, roots, client, _clientCapabilities, McpToolbox.Start(AllowedServers(id, request.McpServers), request.Cwd, loggers),
            options.MaxCommandTimeout, options.LocalTools);
        var session = new AgentSession(id, request.Cwd, options.DefaultSettings with { HasFastModel = engines.Fast is not null }, engines.GptOss, tools);
        if (!_sessions.TryAdd(session.Id, session))
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, "A session with that id exists already.");
        }

        LogSessionCreated(_logger, session.Id, session.Cwd);
        return ValueTask.FromResult(new NewSessionResponse(session.Id)
        {
            Modes = session.Settings.ToModeState(),
            ConfigOptions = session.Settings.ToConfigOptions(),
        });
    }

    // A stdio server is a command run on this machine: where tools may not act locally (a relay's remote clients),
    // neither may they start one.
    private List<McpServer> AllowedServers(string sessionId, IReadOnlyList<McpServer> servers)
    {
        var allowed = new List<McpServer>(servers.Count);
        foreach (McpServer server in servers)
        {
            if (server.Type is null && !options.LocalTools)
            {
                LogStdioServerRefused(_logger, sessionId, server.Name);
            }
            else
            {
                allowed.Add(server);
            }
        }

        return allowed;
    }

    public async ValueTask<PromptResponse> PromptAsync(PromptRequest request, MessageContext context, CancellationToken cancellationToken)
    {
        AgentSession session = Find(request.SessionId);
        string text = PromptText.Build(request.Prompt);
        RouteDecision? decision = null;
        StopReason stop;
        try
        {
            stop = await session.RunTurnAsync(
                context.Sequence,
                async ct =>
                {
                    // The user's message stays in the history even if the turn is cancelled before a model runs.
                    session.History.Add(HarmonyMessage.User(text));
                    try
                    {
                        // Decided inside the turn: the turn before may have escalated the session.
                        decision = await RouteAsync(session, text, request.Prompt, ct).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException) when (ct.IsCancellationRequested)
                    {
                        return StopReason.Cancelled;
                    }

                    return decision.Model == PromptRouter.Fast
                        ? await new FastTurn(session, engines.Fast!, client, options, _logger).RunAsync(ct).ConfigureAwait(false)
                        : await new PromptTurn(session, client, options, _logger).RunAsync(ct).ConfigureAwait(false);
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            LogInferenceFailed(_logger, session.Id, e.Message);
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, e.Message);
        }

        LogTurnEnded(_logger, session.Id, stop);
        return new PromptResponse(stop) { Meta = decision is null ? null : RouteMetaJson(decision) };
    }

    private async Task<RouteDecision> RouteAsync(AgentSession session, string text, IReadOnlyList<ContentBlock> prompt, CancellationToken cancellationToken)
    {
        SessionSettings settings = session.Settings;
        IReadOnlyList<string> signals = CodeSignals.Find(text, prompt);
        int tokens = await engines.GptOss.CountTokensAsync(text, cancellationToken).ConfigureAwait(false);
        Route route = PromptRouter.Decide(new RouteInput(settings.Model, engines.Fast is not null, session.Escalated, tokens, options.RouteThreshold, signals));
        if (route.Model == PromptRouter.GptOss)
        {
            session.Escalated = true;
        }

        var decision = new RouteDecision(
            DateTimeOffset.UtcNow, session.Id, route.Model, route.Reasons, tokens, options.RouteThreshold, signals, ChoiceName(settings.Model));
        _decisions.Write(decision);
        return decision;
    }

    private static string ChoiceName(ModelChoice choice) => choice switch
    {
        ModelChoice.GptOss => PromptRouter.GptOss,
        ModelChoice.Fast => PromptRouter.Fast,
        _ => "auto",
    };

    private static JsonElement RouteMetaJson(RouteDecision decision) => JsonSerializer.SerializeToElement(
        new PromptMeta(new PromptGptOssMeta(new RouteMeta(decision.Model, decision.Reasons, decision.PromptTokens, decision.Threshold))),
        AgentJsonContext.Default.PromptMeta);

    public IReadOnlyCollection<string> ExtensionMethods => ModelExtensions.Methods;

    public ValueTask<JsonElement> ExtensionMethodAsync(string method, JsonElement parameters, CancellationToken cancellationToken) =>
        _extensions.InvokeAsync(method, parameters, cancellationToken);

    public void Cancel(CancelNotification notification, MessageContext context)
    {
        if (_sessions.TryGetValue(notification.SessionId, out AgentSession? session))
        {
            session.Cancel(context.Sequence);
            LogCancelled(_logger, session.Id);
        }
        else
        {
            // A notification gets no answer, not even an error.
            LogCancelForUnknownSession(_logger, notification.SessionId);
        }
    }

    public ValueTask<SetSessionConfigOptionResponse> SetSessionConfigOptionAsync(SetSessionConfigOptionRequest request, CancellationToken cancellationToken)
    {
        AgentSession session = Find(request.SessionId);
        SessionSettings settings = session.Update(s => s.With(request.ConfigId, request.Value, request.Type));
        if (request.ConfigId == SessionSettings.ModelId)
        {
            // The user chose: the router starts afresh from here, escalating again only when a request asks for it.
            session.Escalated = false;
        }

        if (request.ConfigId == SessionSettings.ModeId)
        {
            // Modes and the mode option are one setting: a client that follows modes hears of the change too.
            client.SessionUpdate(new SessionNotification(session.Id, new CurrentModeUpdate(settings.ModeValue)));
        }

        LogConfigChanged(_logger, session.Id, request.ConfigId, request.Value);
        return ValueTask.FromResult(new SetSessionConfigOptionResponse(settings.ToConfigOptions()));
    }

    public ValueTask<SetSessionModeResponse> SetSessionModeAsync(SetSessionModeRequest request, CancellationToken cancellationToken)
    {
        AgentSession session = Find(request.SessionId);
        SessionSettings settings = session.Update(s => s.WithMode(request.ModeId));
        // ...and a client that follows config options hears of it as a change of the mode option.
        client.SessionUpdate(new SessionNotification(session.Id, new ConfigOptionUpdate(settings.ToConfigOptions())));
        LogModeChanged(_logger, session.Id, settings.ModeValue);
        return ValueTask.FromResult(new SetSessionModeResponse());
    }

    public async ValueTask DisposeAsync()
    {
        _telemetry?.Dispose();
        foreach (AgentSession session in _sessions.Values)
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        _sessions.Clear();
    }

    private AgentSession Find(string sessionId) =>
        _sessions.TryGetValue(sessionId, out AgentSession? session)
            ? session
            : throw new JsonRpcException(
                JsonRpcErrorCodes.ResourceNotFound,
                $"Session not found: {sessionId}",
                JsonSerializer.SerializeToElement(new SessionErrorData(sessionId), AcpJsonContext.Default.SessionErrorData));

    [LoggerMessage(Level = LogLevel.Information, Message = "Initialized by {Client} {ClientVersion} (asked for protocol version {Version}); engine: {Engine}")]
    private static partial void LogInitialize(ILogger logger, string client, string clientVersion, int version, string engine);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the stdio MCP server {Server} is not started: local tools are off (relay: --local-tools)")]
    private static partial void LogStdioServerRefused(ILogger logger, string sessionId, string server);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: mode = {Mode}")]
    private static partial void LogModeChanged(ILogger logger, string sessionId, string mode);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} created in {Cwd}")]
    private static partial void LogSessionCreated(ILogger logger, string sessionId, string cwd);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: turn ended: {StopReason}")]
    private static partial void LogTurnEnded(ILogger logger, string sessionId, StopReason stopReason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: the model cannot run: {Reason}")]
    private static partial void LogInferenceFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: cancel requested")]
    private static partial void LogCancelled(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored session/cancel for unknown session {SessionId}")]
    private static partial void LogCancelForUnknownSession(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: {ConfigId} = {Value}")]
    private static partial void LogConfigChanged(ILogger logger, string sessionId, string configId, JsonElement value);
}
