using System.Reflection;
using System.Text.Json;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Acp.Protocol.JsonRpc;

/// <summary>StreamJsonRpc's <see cref="StreamJsonRpc.JsonRpc"/> with ACP's error answers and raw params.</summary>
internal sealed class PeerRpc : StreamJsonRpc.JsonRpc
{
    private readonly IJsonRpcMessageHandler _handler;
    private long _lastRequestId;

    public PeerRpc(IJsonRpcMessageHandler handler)
        : base(handler)
    {
        _handler = handler;
        // Methods start on the read loop, in arrival order: notifications run there (they must return at once), and
        // request methods hop to the thread pool themselves before their handler runs (see JsonRpcPeer).
        SynchronizationContext = InlineSynchronizationContext.Instance;
    }

    /// <summary>Sends a request whose params are already serialized; the answer comes back raw.</summary>
    public Task<JsonElement> RequestAsync(string method, RawJson parameters, CancellationToken cancellationToken) =>
        InvokeCoreAsync<JsonElement>(CreateNewRequestId(), method, [parameters], cancellationToken, isParameterObject: true);

    /// <summary>Sends a notification whose params are already serialized; completes once it is written.</summary>
    /// <remarks>Straight to the message handler: a notification needs none of what <c>InvokeCoreAsync</c> adds (it
    /// tracks answers and activities), and this is the path of every streamed token. With <paramref name="moreFollow"/>
    /// the handler may leave the line unflushed: the next one flushes both.</remarks>
    public ValueTask NotifyAsync(string method, RawJson parameters, bool moreFollow) =>
        _handler.WriteAsync(new QueuedNotification { Method = method, Arguments = parameters, MoreFollow = moreFollow }, CancellationToken.None);

    /// <summary>Ids count from 1 (StreamJsonRpc's own start at 2), as ACP clients and our replay goldens expect.</summary>
    protected override StreamJsonRpc.RequestId CreateNewRequestId() => new(Interlocked.Increment(ref _lastRequestId));

    /// <summary>A handler's <see cref="JsonRpcException"/> becomes its error; anything else -32603 with the message only:
    /// StreamJsonRpc would send the exception's type and stack trace as data.</summary>
    protected override JsonRpcError.ErrorDetail CreateErrorDetails(JsonRpcRequest request, Exception exception)
    {
        while (exception is AggregateException { InnerExceptions.Count: 1 } or TargetInvocationException && exception.InnerException is { } inner)
        {
            exception = inner;
        }

        return exception is JsonRpcException rpc
            ? new JsonRpcError.ErrorDetail { Code = (JsonRpcErrorCode)rpc.Code, Message = rpc.Message, Data = rpc.Data }
            : new JsonRpcError.ErrorDetail { Code = (JsonRpcErrorCode)JsonRpcErrorCodes.InternalError, Message = $"Internal error: {exception.Message}" };
    }

    /// <summary>Error data is read as plain JSON (StreamJsonRpc's default, CommonErrorData, is not ours to serialize).</summary>
    protected override Type? GetErrorDetailsDataType(JsonRpcError error) => typeof(JsonElement);

    /// <summary>A notification that knows whether another is queued right behind it.</summary>
    internal sealed class QueuedNotification : JsonRpcRequest
    {
        public bool MoreFollow { get; init; }
    }

    /// <summary>Runs posted work at once, on the posting thread.</summary>
    private sealed class InlineSynchronizationContext : SynchronizationContext
    {
        public static readonly InlineSynchronizationContext Instance = new();

        public override void Post(SendOrPostCallback d, object? state) => d(state);

        public override SynchronizationContext CreateCopy() => this;
    }
}
