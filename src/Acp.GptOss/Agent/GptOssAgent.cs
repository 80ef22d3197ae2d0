using System.Collections.Concurrent;
using System.Text.Json;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.GptOss.Sessions;
using Acp.GptOss.Tools;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>
/// The ACP agent: checks each request's parameters and hands it to its session (<see cref="AgentSession"/>), which
/// owns the prompt turns. Itself it answers initialize and the model extension methods, and makes sessions through
/// <see cref="SessionFactory"/>.
/// </summary>
/// <remarks>Thread-safe: the JSON-RPC peer calls it concurrently.</remarks>
internal sealed partial class GptOssAgent(AgentEngines engines, IAcpClient client, AgentOptions options, ILoggerFactory loggers)
    : IAcpAgent, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger("Acp.GptOss.Agent");
    private readonly SessionFactory _factory = new(engines, client, options, loggers);
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

        bool stored = _factory.Store is not null;
        return ValueTask.FromResult(new InitializeResponse(
            AcpMethods.ProtocolVersion,
            new AgentCapabilities(LoadSession: stored, new PromptCapabilities(Image: false, Audio: false, EmbeddedContext: true))
            {
                McpCapabilities = new McpCapabilities(Http: true, Sse: true),
                // Load, list, resume, close and delete only where sessions outlive the process.
                SessionCapabilities = new SessionCapabilities
                {
                    AdditionalDirectories = new EmptyCapability(),
                    List = stored ? new EmptyCapability() : null,
                    Resume = stored ? new EmptyCapability() : null,
                    Close = stored ? new EmptyCapability() : null,
                    Delete = stored ? new EmptyCapability() : null,
                },
                Meta = ModelExtensions.Capabilities,
            },
            [],
            new Implementation("acp-gptoss", AppVersion.Current) { Title = "GPT-OSS (local)" }));
    }

    public ValueTask<NewSessionResponse> NewSessionAsync(NewSessionRequest request, CancellationToken cancellationToken)
    {
        WorkspaceRoots roots = Roots(request.Cwd, request.AdditionalDirectories);
        AgentSession session = _factory.Create(request.Cwd, request.AdditionalDirectories, roots, request.McpServers, _clientCapabilities);
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

    public void SessionOpened(string sessionId)
    {
        // After the answer, so the client knows the session its commands belong to.
        if (_sessions.TryGetValue(sessionId, out AgentSession? session))
        {
            session.AdvertiseCommands();
        }
    }

    public ValueTask<ListSessionsResponse> ListSessionsAsync(ListSessionsRequest request, CancellationToken cancellationToken)
    {
        try
        {
            return ValueTask.FromResult(Store.List(request.Cwd, request.Cursor));
        }
        catch (FormatException e)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, e.Message);
        }
    }

    public async ValueTask<LoadSessionResponse> LoadSessionAsync(LoadSessionRequest request, CancellationToken cancellationToken)
    {
        (AgentSession session, SessionSnapshot snapshot) = await ReopenAsync(
            request.SessionId, request.Cwd, request.AdditionalDirectories, request.McpServers).ConfigureAwait(false);
        // The conversation comes before the answer, as ACP asks: the client shows it, then takes the session.
        session.Replay(snapshot);
        return new LoadSessionResponse { Modes = session.Settings.ToModeState(), ConfigOptions = session.Settings.ToConfigOptions() };
    }

    public async ValueTask<ResumeSessionResponse> ResumeSessionAsync(ResumeSessionRequest request, CancellationToken cancellationToken)
    {
        (AgentSession session, _) = await ReopenAsync(request.SessionId, request.Cwd, request.AdditionalDirectories, request.McpServers ?? []).ConfigureAwait(false);
        return new ResumeSessionResponse { Modes = session.Settings.ToModeState(), ConfigOptions = session.Settings.ToConfigOptions() };
    }

    public async ValueTask<CloseSessionResponse> CloseSessionAsync(CloseSessionRequest request, CancellationToken cancellationToken)
    {
        if (_sessions.TryRemove(request.SessionId, out AgentSession? session))
        {
            // Its turn is cancelled, its context, fast-model state and MCP servers freed; the journal stays.
            await session.DisposeAsync().ConfigureAwait(false);
            LogSessionClosed(_logger, request.SessionId);
        }
        else if (!Store.Exists(request.SessionId))
        {
            throw NotFound(request.SessionId);
        }

        return new CloseSessionResponse();
    }

    public async ValueTask<DeleteSessionResponse> DeleteSessionAsync(DeleteSessionRequest request, CancellationToken cancellationToken)
    {
        if (_sessions.TryRemove(request.SessionId, out AgentSession? session))
        {
            await session.DisposeAsync().ConfigureAwait(false);
        }

        // An unknown id succeeds silently, as ACP asks of session/delete: the session is not there either way.
        try
        {
            Store.Delete(request.SessionId);
        }
        catch (SessionBusyException e)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, e.Message);
        }

        LogSessionDeleted(_logger, request.SessionId);
        return new DeleteSessionResponse();
    }

    // Load and resume: the stored session comes back with the roots and MCP servers given now.
    private async Task<(AgentSession Session, SessionSnapshot Snapshot)> ReopenAsync(
        string sessionId, string cwd, IReadOnlyList<string>? additionalDirectories, IReadOnlyList<McpServer> mcpServers)
    {
        WorkspaceRoots roots = Roots(cwd, additionalDirectories);
        if (_sessions.TryRemove(sessionId, out AgentSession? open))
        {
            // Open already on this connection: it is reopened from its journal, as a client asking twice expects.
            await open.DisposeAsync().ConfigureAwait(false);
        }

        (SessionJournal Journal, SessionSnapshot Snapshot) stored;
        try
        {
            stored = Store.Open(sessionId) ?? throw NotFound(sessionId);
        }
        catch (SessionBusyException e)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, e.Message);
        }

        AgentSession session = _factory.Create(cwd, additionalDirectories, roots, mcpServers, _clientCapabilities, (sessionId, stored.Journal));
        session.Restore(stored.Snapshot);
        session.RecordOpened(cwd, additionalDirectories);
        if (!_sessions.TryAdd(sessionId, session))
        {
            await session.DisposeAsync().ConfigureAwait(false);
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, $"Session {sessionId} was opened twice at once.");
        }

        LogSessionReopened(_logger, sessionId, cwd, stored.Snapshot.History.Count);
        return (session, stored.Snapshot);
    }

    private SessionStore Store => _factory.Store ?? throw new JsonRpcException(JsonRpcErrorCodes.MethodNotFound, "Sessions are not stored by this agent.");

    private static WorkspaceRoots Roots(string cwd, IReadOnlyList<string>? additionalDirectories)
    {
        if (!Path.IsPathFullyQualified(cwd))
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"cwd must be an absolute path, not \"{cwd}\".");
        }

        foreach (string directory in additionalDirectories ?? [])
        {
            if (!Path.IsPathFullyQualified(directory))
            {
                throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"additionalDirectories must be absolute paths, not \"{directory}\".");
            }
        }

        try
        {
            return new WorkspaceRoots(cwd, additionalDirectories);
        }
        catch (ToolException ex)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, ex.Message);
        }
    }

    public async ValueTask<PromptResponse> PromptAsync(PromptRequest request, MessageContext context, CancellationToken cancellationToken)
    {
        AgentSession session = Find(request.SessionId);
        string text = PromptText.Build(request.Prompt);
        try
        {
            return await session.PromptAsync(text, request.Prompt, context.Sequence, cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            LogInferenceFailed(_logger, session.Id, e.Message);
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, e.Message);
        }
    }

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
        SessionSettings settings = Find(request.SessionId).SetConfigOption(request.ConfigId, request.Value, request.Type);
        return ValueTask.FromResult(new SetSessionConfigOptionResponse(settings.ToConfigOptions()));
    }

    public ValueTask<SetSessionModeResponse> SetSessionModeAsync(SetSessionModeRequest request, CancellationToken cancellationToken)
    {
        Find(request.SessionId).SetMode(request.ModeId);
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
        _sessions.TryGetValue(sessionId, out AgentSession? session) ? session : throw NotFound(sessionId);

    private static JsonRpcException NotFound(string sessionId) => new(
        JsonRpcErrorCodes.ResourceNotFound,
        $"Session not found: {sessionId}",
        JsonSerializer.SerializeToElement(new SessionErrorData(sessionId), AcpJsonContext.Default.SessionErrorData));

    [LoggerMessage(Level = LogLevel.Information, Message = "Initialized by {Client} {ClientVersion} (asked for protocol version {Version}); engine: {Engine}")]
    private static partial void LogInitialize(ILogger logger, string client, string clientVersion, int version, string engine);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} created in {Cwd}")]
    private static partial void LogSessionCreated(ILogger logger, string sessionId, string cwd);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} reopened in {Cwd} with {Messages} messages of history")]
    private static partial void LogSessionReopened(ILogger logger, string sessionId, string cwd, int messages);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} closed")]
    private static partial void LogSessionClosed(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} deleted")]
    private static partial void LogSessionDeleted(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: the model cannot run: {Reason}")]
    private static partial void LogInferenceFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: cancel requested")]
    private static partial void LogCancelled(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored session/cancel for unknown session {SessionId}")]
    private static partial void LogCancelForUnknownSession(ILogger logger, string sessionId);
}
