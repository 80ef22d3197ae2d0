using System.Collections.Concurrent;
using System.Text.Json;
using StreamJsonRpc;
using RpcId = StreamJsonRpc.RequestId;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// ACP's <c>$/cancel_request</c> <c>{"requestId": …}</c> in both directions, where StreamJsonRpc's own strategy speaks
/// <c>$/cancelRequest</c> <c>{"id": …}</c>.
/// </summary>
internal sealed class CancelRequestStrategy(Action<RpcId> sendCancel) : ICancellationStrategy
{
    public const string Method = "$/cancel_request";

    private readonly ConcurrentDictionary<RpcId, CancellationTokenSource> _inbound = new();

    /// <summary>Called by StreamJsonRpc on the caller's cancellation, before the caller sees it.</summary>
    public void CancelOutboundRequest(RpcId requestId) => sendCancel(requestId);

    public void OutboundRequestEnded(RpcId requestId)
    {
    }

    public void IncomingRequestStarted(RpcId requestId, CancellationTokenSource cancellationTokenSource) =>
        _inbound[requestId] = cancellationTokenSource;

    public void IncomingRequestEnded(RpcId requestId) => _inbound.TryRemove(requestId, out _);

    /// <summary>The peer's <c>$/cancel_request</c>; anything unreadable or unknown is ignored, as notifications are never answered.</summary>
    public void OnCancelRequest(JsonElement parameters)
    {
        if (parameters.ValueKind == JsonValueKind.Object
            && parameters.TryGetProperty("requestId", out JsonElement element)
            && RequestId.TryRead(element, out RequestId id)
            && _inbound.TryGetValue(MessageGuard.ToRpcId(id), out CancellationTokenSource? source))
        {
            TryCancel(source);
        }
    }

    /// <summary>Cancels every request of the peer still running: its input ended.</summary>
    public void CancelAll()
    {
        foreach (CancellationTokenSource source in _inbound.Values)
        {
            TryCancel(source);
        }
    }

    private static void TryCancel(CancellationTokenSource source)
    {
        try
        {
            source.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The request finished meanwhile.
        }
    }
}
