using System.Text.Json;
using Acp.Protocol.JsonRpc;

namespace Acp.Protocol;

/// <summary>Binds an <see cref="IAcpAgent"/> to a JSON-RPC peer, and the peer to an <see cref="IAcpClient"/>.</summary>
public sealed class AcpAgentConnection : IAcpClient
{
    private readonly JsonRpcPeer _connection;

    /// <summary>Wraps a peer; call <see cref="Serve"/> before running it.</summary>
    public AcpAgentConnection(JsonRpcPeer connection)
    {
        ArgumentNullException.ThrowIfNull(connection);
        _connection = connection;
    }

    /// <summary>Routes the client's requests and notifications to <paramref name="agent"/>.</summary>
    public void Serve(IAcpAgent agent)
    {
        ArgumentNullException.ThrowIfNull(agent);
        AcpJsonContext json = AcpJsonContext.Default;
        _connection.AddRequestHandler(AcpMethods.Initialize, json.InitializeRequest, json.InitializeResponse, (r, _, ct) => agent.InitializeAsync(r, ct));
        _connection.AddRequestHandler(AcpMethods.SessionNew, json.NewSessionRequest, json.NewSessionResponse, async (r, context, ct) =>
        {
            NewSessionResponse response = await agent.NewSessionAsync(r, ct).ConfigureAwait(false);
            Opened(agent, context, response.SessionId);
            return response;
        });
        _connection.AddRequestHandler(AcpMethods.SessionPrompt, json.PromptRequest, json.PromptResponse, agent.PromptAsync);
        _connection.AddRequestHandler(
            AcpMethods.SessionSetConfigOption, json.SetSessionConfigOptionRequest, json.SetSessionConfigOptionResponse,
            (r, _, ct) => agent.SetSessionConfigOptionAsync(r, ct));
        _connection.AddRequestHandler(
            AcpMethods.SessionSetMode, json.SetSessionModeRequest, json.SetSessionModeResponse, (r, _, ct) => agent.SetSessionModeAsync(r, ct));
        _connection.AddRequestHandler(AcpMethods.SessionList, json.ListSessionsRequest, json.ListSessionsResponse, (r, _, ct) => agent.ListSessionsAsync(r, ct));
        _connection.AddRequestHandler(AcpMethods.SessionLoad, json.LoadSessionRequest, json.LoadSessionResponse, async (r, context, ct) =>
        {
            LoadSessionResponse response = await agent.LoadSessionAsync(r, ct).ConfigureAwait(false);
            Opened(agent, context, r.SessionId);
            return response;
        });
        _connection.AddRequestHandler(AcpMethods.SessionResume, json.ResumeSessionRequest, json.ResumeSessionResponse, async (r, context, ct) =>
        {
            ResumeSessionResponse response = await agent.ResumeSessionAsync(r, ct).ConfigureAwait(false);
            Opened(agent, context, r.SessionId);
            return response;
        });
        _connection.AddRequestHandler(AcpMethods.SessionClose, json.CloseSessionRequest, json.CloseSessionResponse, (r, _, ct) => agent.CloseSessionAsync(r, ct));
        _connection.AddRequestHandler(
            AcpMethods.SessionDelete, json.DeleteSessionRequest, json.DeleteSessionResponse, (r, _, ct) => agent.DeleteSessionAsync(r, ct));
        _connection.AddNotificationHandler(AcpMethods.SessionCancel, json.CancelNotification, agent.Cancel);
        foreach (string method in agent.ExtensionMethods)
        {
            if (!method.StartsWith('_'))
            {
                throw new ArgumentException($"Extension method names start with an underscore: {method}", nameof(agent));
            }

            _connection.AddRequestHandler(method, json.JsonElement, (p, _, ct) => agent.ExtensionMethodAsync(method, p, ct));
        }
    }

    // A session the client now knows: the agent's updates about it follow the answer, never precede it.
    private void Opened(IAcpAgent agent, MessageContext context, string sessionId)
    {
        if (context.Id is { } id)
        {
            _connection.AfterAnswer(id, () => agent.SessionOpened(sessionId));
        }
    }

    /// <inheritdoc />
    public void SessionUpdate(SessionNotification notification) =>
        _connection.Notify(AcpMethods.SessionUpdate, notification, AcpJsonContext.Default.SessionNotification);

    /// <inheritdoc />
    public void ExtensionNotification(string method, JsonElement parameters)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        _connection.Notify(method, parameters, AcpJsonContext.Default.JsonElement);
    }

    /// <inheritdoc />
    public Task<RequestPermissionResponse> RequestPermissionAsync(RequestPermissionRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.SessionRequestPermission, request, AcpJsonContext.Default.RequestPermissionRequest,
            AcpJsonContext.Default.RequestPermissionResponse, cancellationToken);

    /// <inheritdoc />
    public Task<ReadTextFileResponse> ReadTextFileAsync(ReadTextFileRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.FsReadTextFile, request, AcpJsonContext.Default.ReadTextFileRequest, AcpJsonContext.Default.ReadTextFileResponse, cancellationToken);

    /// <inheritdoc />
    public Task WriteTextFileAsync(WriteTextFileRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.FsWriteTextFile, request, AcpJsonContext.Default.WriteTextFileRequest, AcpJsonContext.Default.WriteTextFileResponse, cancellationToken);

    /// <inheritdoc />
    public Task<CreateTerminalResponse> CreateTerminalAsync(CreateTerminalRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.TerminalCreate, request, AcpJsonContext.Default.CreateTerminalRequest, AcpJsonContext.Default.CreateTerminalResponse, cancellationToken);

    /// <inheritdoc />
    public Task<TerminalOutputResponse> TerminalOutputAsync(TerminalRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.TerminalOutput, request, AcpJsonContext.Default.TerminalRequest, AcpJsonContext.Default.TerminalOutputResponse, cancellationToken);

    /// <inheritdoc />
    public Task<TerminalExitStatus> WaitForTerminalExitAsync(TerminalRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.TerminalWaitForExit, request, AcpJsonContext.Default.TerminalRequest, AcpJsonContext.Default.TerminalExitStatus, cancellationToken);

    /// <inheritdoc />
    public Task KillTerminalAsync(TerminalRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.TerminalKill, request, AcpJsonContext.Default.TerminalRequest, AcpJsonContext.Default.TerminalEmptyResponse, cancellationToken);

    /// <inheritdoc />
    public Task ReleaseTerminalAsync(TerminalRequest request, CancellationToken cancellationToken) =>
        _connection.RequestAsync(
            AcpMethods.TerminalRelease, request, AcpJsonContext.Default.TerminalRequest, AcpJsonContext.Default.TerminalEmptyResponse, cancellationToken);
}
