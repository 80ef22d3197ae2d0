using System.Collections.Concurrent;
using System.Text.Json;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
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

        WorkspaceRoots roots;
        try
        {
            roots = new WorkspaceRoots(request.Cwd, request.AdditionalDirectories);
        }
        catch (ToolException ex)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, ex.Message);
        }

        AgentSession session = _factory.Create(request.Cwd, roots, request.McpServers, _clientCapabilities);
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
        _sessions.TryGetValue(sessionId, out AgentSession? session)
            ? session
            : throw new JsonRpcException(
                JsonRpcErrorCodes.ResourceNotFound,
                $"Session not found: {sessionId}",
                JsonSerializer.SerializeToElement(new SessionErrorData(sessionId), AcpJsonContext.Default.SessionErrorData));

    [LoggerMessage(Level = LogLevel.Information, Message = "Initialized by {Client} {ClientVersion} (asked for protocol version {Version}); engine: {Engine}")]
    private static partial void LogInitialize(ILogger logger, string client, string clientVersion, int version, string engine);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId} created in {Cwd}")]
    private static partial void LogSessionCreated(ILogger logger, string sessionId, string cwd);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: the model cannot run: {Reason}")]
    private static partial void LogInferenceFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: cancel requested")]
    private static partial void LogCancelled(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored session/cancel for unknown session {SessionId}")]
    private static partial void LogCancelForUnknownSession(ILogger logger, string sessionId);
}
