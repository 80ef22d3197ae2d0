using System.Collections.Concurrent;
using System.Reflection;
using System.Text.Json;
using Acp.GptOss.Inference;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>The ACP agent: sessions over one inference engine.</summary>
/// <remarks>Thread-safe: the JSON-RPC peer calls it concurrently.</remarks>
internal sealed partial class GptOssAgent(IInferenceEngine engine, IAcpClient client, AgentOptions options, ILoggerFactory loggers)
    : IAcpAgent, IAsyncDisposable
{
    private readonly ConcurrentDictionary<string, AgentSession> _sessions = new(StringComparer.Ordinal);
    private readonly ILogger _logger = loggers.CreateLogger("Acp.GptOss.Agent");

    /// <summary>The version clients see in <c>agentInfo</c>.</summary>
    public static string Version { get; } =
        (typeof(GptOssAgent).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0").Split('+')[0];

    public ValueTask<InitializeResponse> InitializeAsync(InitializeRequest request, CancellationToken cancellationToken)
    {
        if (request.ProtocolVersion is < 0 or > ushort.MaxValue)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"protocolVersion must be an integer from 0 to 65535, not {request.ProtocolVersion}.");
        }

        // Whatever the client asks for, we speak version 1; a client that cannot will disconnect.
        LogInitialize(_logger, request.ClientInfo?.Name ?? "an unnamed client", request.ClientInfo?.Version ?? "?", request.ProtocolVersion, engine.Description);
        return ValueTask.FromResult(new InitializeResponse(
            AcpMethods.ProtocolVersion,
            new AgentCapabilities(LoadSession: false, new PromptCapabilities(Image: false, Audio: false, EmbeddedContext: true)),
            [],
            new Implementation("acp-gptoss", Version) { Title = "GPT-OSS (local)" }));
    }

    public ValueTask<NewSessionResponse> NewSessionAsync(NewSessionRequest request, CancellationToken cancellationToken)
    {
        if (!Path.IsPathFullyQualified(request.Cwd))
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"cwd must be an absolute path, not \"{request.Cwd}\".");
        }

        if (request.McpServers.Count > 0)
        {
            LogMcpServersIgnored(_logger, string.Join(", ", request.McpServers.Select(s => s.Name)));
        }

        var session = new AgentSession(options.NewSessionId(), request.Cwd, options.DefaultSettings, engine);
        if (!_sessions.TryAdd(session.Id, session))
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, "A session with that id exists already.");
        }

        LogSessionCreated(_logger, session.Id, session.Cwd);
        return ValueTask.FromResult(new NewSessionResponse(session.Id) { ConfigOptions = session.Settings.ToConfigOptions() });
    }

    public async ValueTask<PromptResponse> PromptAsync(PromptRequest request, MessageContext context, CancellationToken cancellationToken)
    {
        AgentSession session = Find(request.SessionId);
        string text = PromptText.Build(request.Prompt);
        var turn = new PromptTurn(session, client, options, _logger);
        StopReason stop;
        try
        {
            stop = await session.RunTurnAsync(context.Sequence, ct => turn.RunAsync(text, ct), cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            LogInferenceFailed(_logger, session.Id, e.Message);
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, e.Message);
        }

        LogTurnEnded(_logger, session.Id, stop);
        return new PromptResponse(stop);
    }

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
        LogConfigChanged(_logger, session.Id, request.ConfigId, request.Value);
        return ValueTask.FromResult(new SetSessionConfigOptionResponse(settings.ToConfigOptions()));
    }

    public async ValueTask DisposeAsync()
    {
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP servers are not connected yet; ignored: {Servers}")]
    private static partial void LogMcpServersIgnored(ILogger logger, string servers);

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
