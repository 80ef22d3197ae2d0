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

    /// <summary>The extension methods the agent serves: names that start with an underscore, as ACP reserves them.</summary>
    IReadOnlyCollection<string> ExtensionMethods { get; }

    /// <summary>One of <see cref="ExtensionMethods"/>; <paramref name="parameters"/> is an empty object when the request has none.</summary>
    ValueTask<JsonElement> ExtensionMethodAsync(string method, JsonElement parameters, CancellationToken cancellationToken);
}

/// <summary>What an ACP agent may ask of its client.</summary>
public interface IAcpClient
{
    /// <summary>Sends a <c>session/update</c>; it is written before anything the caller queues later.</summary>
    void SessionUpdate(SessionNotification notification);

    /// <summary>Sends an extension notification (a method name that starts with an underscore), in order with the updates.</summary>
    void ExtensionNotification(string method, JsonElement parameters);
}
