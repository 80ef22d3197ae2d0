using System.Text.Json;
using Acp.Protocol.JsonRpc;

namespace Acp.Protocol;

/// <summary>What an ACP agent serves. Throw <see cref="JsonRpcException"/> to answer with an error.</summary>
public interface IAcpAgent
{
    /// <summary><c>initialize</c>.</summary>
    ValueTask<InitializeResponse> InitializeAsync(InitializeRequest request, CancellationToken cancellationToken);

    /// <summary><c>session/new</c>.</summary>
    ValueTask<NewSessionResponse> NewSessionAsync(NewSessionRequest request, CancellationToken cancellationToken);

    /// <summary><c>session/prompt</c>. The token is also cancelled by <c>$/cancel_request</c>, which for a prompt means the
    /// same as <c>session/cancel</c>: answer <see cref="StopReason.Cancelled"/>.</summary>
    ValueTask<PromptResponse> PromptAsync(PromptRequest request, MessageContext context, CancellationToken cancellationToken);

    /// <summary><c>session/cancel</c>: runs on the read loop and must return at once.</summary>
    void Cancel(CancelNotification notification, MessageContext context);

    /// <summary><c>session/set_config_option</c>.</summary>
    ValueTask<SetSessionConfigOptionResponse> SetSessionConfigOptionAsync(SetSessionConfigOptionRequest request, CancellationToken cancellationToken);

    /// <summary><c>session/set_mode</c>.</summary>
    ValueTask<SetSessionModeResponse> SetSessionModeAsync(SetSessionModeRequest request, CancellationToken cancellationToken);

    // The session lifecycle methods are optional (each behind a capability): an agent that does not serve one answers
    // method-not-found, as for any unknown method.

    /// <summary><c>session/list</c>.</summary>
    ValueTask<ListSessionsResponse> ListSessionsAsync(ListSessionsRequest request, CancellationToken cancellationToken) =>
        throw NotServed(AcpMethods.SessionList);

    /// <summary><c>session/load</c>: replay the conversation as <c>session/update</c>s, then answer.</summary>
    ValueTask<LoadSessionResponse> LoadSessionAsync(LoadSessionRequest request, CancellationToken cancellationToken) =>
        throw NotServed(AcpMethods.SessionLoad);

    /// <summary><c>session/resume</c>.</summary>
    ValueTask<ResumeSessionResponse> ResumeSessionAsync(ResumeSessionRequest request, CancellationToken cancellationToken) =>
        throw NotServed(AcpMethods.SessionResume);

    /// <summary><c>session/close</c>.</summary>
    ValueTask<CloseSessionResponse> CloseSessionAsync(CloseSessionRequest request, CancellationToken cancellationToken) =>
        throw NotServed(AcpMethods.SessionClose);

    /// <summary><c>session/delete</c>.</summary>
    ValueTask<DeleteSessionResponse> DeleteSessionAsync(DeleteSessionRequest request, CancellationToken cancellationToken) =>
        throw NotServed(AcpMethods.SessionDelete);

    /// <summary>
    /// A session that <c>session/new</c>, <c>session/load</c> or <c>session/resume</c> opened, called once that answer
    /// is written: updates sent now (the session's commands, say) reach a client that knows the session.
    /// </summary>
    void SessionOpened(string sessionId)
    {
    }

    /// <summary>The extension methods the agent serves: names that start with an underscore, as ACP reserves them.</summary>
    IReadOnlyCollection<string> ExtensionMethods { get; }

    /// <summary>One of <see cref="ExtensionMethods"/>; <paramref name="parameters"/> is an empty object when the request has none.</summary>
    ValueTask<JsonElement> ExtensionMethodAsync(string method, JsonElement parameters, CancellationToken cancellationToken);

    private static JsonRpcException NotServed(string method) => new(JsonRpcErrorCodes.MethodNotFound, $"Method not found: {method}");
}

/// <summary>What an ACP agent may ask of its client.</summary>
public interface IAcpClient
{
    /// <summary>Sends a <c>session/update</c>; it is written before anything the caller queues later.</summary>
    void SessionUpdate(SessionNotification notification);

    /// <summary>Sends an extension notification (a method name that starts with an underscore), in order with the updates.</summary>
    void ExtensionNotification(string method, JsonElement parameters);

    // The requests below throw JsonRpcException with the client's error, IOException when the connection is gone,
    // and OperationCanceledException at once on cancellation (the client is told with $/cancel_request).

    /// <summary><c>session/request_permission</c>: asks the user; send the tool call first.</summary>
    Task<RequestPermissionResponse> RequestPermissionAsync(RequestPermissionRequest request, CancellationToken cancellationToken);

    /// <summary><c>fs/read_text_file</c>; only when the client advertised <c>fs.readTextFile</c>.</summary>
    Task<ReadTextFileResponse> ReadTextFileAsync(ReadTextFileRequest request, CancellationToken cancellationToken);

    /// <summary><c>fs/write_text_file</c>; only when the client advertised <c>fs.writeTextFile</c>.</summary>
    Task WriteTextFileAsync(WriteTextFileRequest request, CancellationToken cancellationToken);

    /// <summary><c>terminal/create</c>; only when the client advertised <c>terminal</c>. Release every terminal made.</summary>
    Task<CreateTerminalResponse> CreateTerminalAsync(CreateTerminalRequest request, CancellationToken cancellationToken);

    /// <summary><c>terminal/output</c>.</summary>
    Task<TerminalOutputResponse> TerminalOutputAsync(TerminalRequest request, CancellationToken cancellationToken);

    /// <summary><c>terminal/wait_for_exit</c>.</summary>
    Task<TerminalExitStatus> WaitForTerminalExitAsync(TerminalRequest request, CancellationToken cancellationToken);

    /// <summary><c>terminal/kill</c>.</summary>
    Task KillTerminalAsync(TerminalRequest request, CancellationToken cancellationToken);

    /// <summary><c>terminal/release</c>.</summary>
    Task ReleaseTerminalAsync(TerminalRequest request, CancellationToken cancellationToken);
}
