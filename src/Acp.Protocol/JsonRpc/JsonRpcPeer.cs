using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.WebSockets;
using System.Runtime.InteropServices;
using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using Microsoft.Extensions.Logging;
using StreamJsonRpc;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// A symmetric JSON-RPC 2.0 peer on StreamJsonRpc: it serves the other side's requests while sending its own, with
/// what ACP adds to StreamJsonRpc's defaults (see docs/protocol.md): <c>$/cancel_request</c>, bad input answered
/// instead of dropping the connection, updates ordered before responses, an orderly end of input.
/// </summary>
/// <remarks>
/// <para>The read loop never waits for a request handler: each request runs on the thread pool, so a handler may
/// itself call the peer and wait for the answer. Notification handlers run synchronously on the read loop, in
/// arrival order, and must return at once.</para>
/// <para>Notifications go out in the order they were sent; a response, and a request of ours, waits until every
/// notification sent before it is written.</para>
/// <para>When the input ends, every request still running is cancelled, its answer is still written, and
/// <see cref="RunAsync"/> returns. Register handlers before <see cref="RunAsync"/>; everything else is thread-safe.</para>
/// </remarks>
public sealed partial class JsonRpcPeer : IAsyncDisposable
{
    /// <summary>The longest line read on NDJSON, as in the ACP TypeScript SDK.</summary>
    public const int DefaultMaxMessageBytes = 32 * 1024 * 1024;

    // How long the end of input waits for handlers that ignore their cancellation.
    private static readonly TimeSpan s_handlerGrace = TimeSpan.FromSeconds(5);
    private static readonly JsonElement s_emptyObject = JsonDocument.Parse("{}").RootElement;

    private readonly PeerRpc _rpc;
    private readonly IPeerMessageHandler _handler;
    private readonly MessageGuard _guard;
    private readonly CancelRequestStrategy _cancellation;
    private readonly ILogger _logger;
    private readonly ConcurrentDictionary<TaskCompletionSource<JsonElement>, byte> _outbound = new();
    private readonly Lock _sendGate = new();
    // Guarded by _sendGate: notifications not yet written, how many were queued and written in all, who waits.
    private readonly Queue<(string Method, RawJson Params)> _unsent = new();
    private readonly List<(long Queued, TaskCompletionSource Written)> _sentWaiters = [];
    private long _queuedCount;
    private long _writtenCount;
    private bool _writing;
    private volatile bool _inputEnded;

    private JsonRpcPeer(Func<MessageGuard, IJsonRpcMessageTextFormatter, IPeerMessageHandler> handler, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(logger);
        _logger = logger;
        _guard = new MessageGuard(logger);
        _handler = handler(_guard, CreateFormatter());
        _handler.InputEnded = WindDownAsync;
        _rpc = new PeerRpc(_handler)
        {
            // Silent: StreamJsonRpc's trace would otherwise format every message; our logger reports what matters.
            TraceSource = new TraceSource("Acp.JsonRpc", SourceLevels.Off),
        };
        _cancellation = new CancelRequestStrategy(id => Send(CancelRequestStrategy.Method, RawJson.Serialize(
            new CancelRequestParams(MessageGuard.ToRequestId(id)), PeerJsonContext.Default.CancelRequestParams)));
        _rpc.CancellationStrategy = _cancellation;
        AddTarget(CancelRequestStrategy.Method, new NotificationTarget(this, _cancellation.OnCancelRequest));
    }

    /// <summary>Newline-delimited JSON over a pair of streams, as ACP uses on stdio; the streams stay open.</summary>
    public static JsonRpcPeer ForStreams(Stream input, Stream output, ILogger logger, int maxMessageBytes = DefaultMaxMessageBytes)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        return new JsonRpcPeer((guard, formatter) => new NdjsonMessageHandler(output, input, formatter, guard, maxMessageBytes), logger);
    }

    /// <summary>One message per text message of a WebSocket, with its limits; the caller disposes the socket afterwards.</summary>
    public static JsonRpcPeer ForWebSocket(WebSocket socket, WebSocketPeerOptions? options, ILogger logger, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        return new JsonRpcPeer(
            (guard, formatter) => new WebSocketPeerHandler(socket, formatter, guard, options ?? new WebSocketPeerOptions(), logger, time ?? TimeProvider.System),
            logger);
    }

    /// <summary>On a WebSocket: why we closed it, once decided; null while open, when the peer closed first, or on streams.</summary>
    public WebSocketCloseStatus? CloseStatus => (_handler as WebSocketPeerHandler)?.CloseStatus;

    /// <summary>Serves a request method.</summary>
    /// <remarks>Params that do not deserialize are answered with -32602; a <see cref="JsonRpcException"/> becomes
    /// its error; a cancellation through <c>$/cancel_request</c> becomes -32800; anything else -32603.</remarks>
    public void AddRequestHandler<TParams, TResult>(
        string method,
        JsonTypeInfo<TParams> paramsType,
        JsonTypeInfo<TResult> resultType,
        Func<TParams, MessageContext, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(paramsType);
        ArgumentNullException.ThrowIfNull(handler);
        AddTarget(method, new RequestTarget<TParams, TResult>(this, p => DeserializeParams(p, paramsType), resultType, handler));
    }

    /// <summary>Serves a request method whose params the handler reads itself: an empty object when the request has none.</summary>
    public void AddRequestHandler<TResult>(
        string method, JsonTypeInfo<TResult> resultType, Func<JsonElement, MessageContext, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        AddTarget(method, new RequestTarget<JsonElement, TResult>(
            this, p => p.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null ? s_emptyObject : p, resultType, handler));
    }

    /// <summary>Handles a notification method, synchronously on the read loop: it must not block.</summary>
    public void AddNotificationHandler<TParams>(string method, JsonTypeInfo<TParams> paramsType, Action<TParams, MessageContext> handler)
    {
        ArgumentNullException.ThrowIfNull(paramsType);
        ArgumentNullException.ThrowIfNull(handler);
        void Deliver(ReadOnlySpan<byte> parameters)
        {
            try
            {
                handler(DeserializeParams(parameters, paramsType), _guard.Current);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A notification has no one to answer; a bad one must not stop the read loop.
                LogNotificationFailed(_logger, method, e);
            }
        }

        // Most arrive straight from the frame (see DirectNotifications); the rest through StreamJsonRpc, alike.
        _guard.Direct.Add(method, Deliver);
        AddTarget(method, new NotificationTarget(this, parameters =>
            Deliver(parameters.ValueKind == JsonValueKind.Undefined ? "null"u8 : JsonMarshal.GetRawUtf8Value(parameters))));
    }

    /// <summary>Reads and serves messages until the input ends (or <paramref name="cancellationToken"/> stops it), then
    /// winds down and returns.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        _rpc.StartListening();
        using (cancellationToken.Register(static handler => ((IPeerMessageHandler)handler!).StopReading(), _handler))
        {
            try
            {
                await _rpc.Completion.ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // Whatever broke the connection, it winds down cleanly rather than taking the process with it.
                LogReadFailed(_logger, e);
            }
        }

        FailOutbound();
        await _handler.CloseAsync().ConfigureAwait(false);
    }

    /// <summary>
    /// Runs <paramref name="action"/> once the answer to the peer's request <paramref name="id"/> is written: what it
    /// sends then (a session's first updates after <c>session/new</c>) reaches a peer that has the answer.
    /// </summary>
    public void AfterAnswer(RequestId id, Action action)
    {
        ArgumentNullException.ThrowIfNull(action);
        _guard.AfterAnswer(MessageGuard.ToRpcId(id), action);
    }

    /// <summary>Sends a notification; it is written after everything sent before it.</summary>
    public void Notify<TParams>(string method, TParams parameters, JsonTypeInfo<TParams> paramsType) =>
        Send(method, RawJson.Serialize(parameters, paramsType));

    /// <summary>
    /// Sends a request and waits for the answer. Cancelling sends <c>$/cancel_request</c> to the peer and throws at
    /// once; a late answer is ignored.
    /// </summary>
    /// <exception cref="JsonRpcException">The peer answered with an error.</exception>
    /// <exception cref="IOException">The connection closed before the answer came.</exception>
    public async Task<TResult> RequestAsync<TParams, TResult>(
        string method, TParams parameters, JsonTypeInfo<TParams> paramsType, JsonTypeInfo<TResult> resultType, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(resultType);
        cancellationToken.ThrowIfCancellationRequested();
        RawJson raw = RawJson.Serialize(parameters, paramsType);
        // What was sent before (the tool call a permission request is about) goes first.
        await NotificationsSentAsync().ConfigureAwait(false);

        // StreamJsonRpc would wait for the peer to answer a cancelled request; we stop waiting at once. Registered
        // before the call, this runs after StreamJsonRpc's own registration has queued the $/cancel_request.
        var abandoned = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _outbound.TryAdd(abandoned, 0);
        try
        {
            using CancellationTokenRegistration registration = cancellationToken.Register(
                static state => ((TaskCompletionSource<JsonElement>)state!).TrySetCanceled(), abandoned);
            if (_inputEnded)
            {
                throw new IOException("The connection is closed.");
            }

            Task<JsonElement> call = _rpc.RequestAsync(method, raw, cancellationToken);
            Task<JsonElement> first = await Task.WhenAny(call, abandoned.Task).ConfigureAwait(false);
            if (first != call)
            {
                // A late answer, or the connection's end, is observed and ignored.
                _ = call.ContinueWith(static t => t.Exception, CancellationToken.None, TaskContinuationOptions.OnlyOnFaulted, TaskScheduler.Default);
                await abandoned.Task.ConfigureAwait(false);
            }

            JsonElement result = await call.ConfigureAwait(false);
            if (result.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined)
            {
                throw new JsonRpcException(JsonRpcErrorCodes.InternalError, $"The answer to {method} is null.");
            }

            return result.Deserialize(resultType)
                ?? throw new JsonRpcException(JsonRpcErrorCodes.InternalError, $"The answer to {method} is null.");
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw new OperationCanceledException(cancellationToken);
        }
        catch (RemoteRpcException e)
        {
            // Any error answer (StreamJsonRpc has a class per code family): the caller sees ours.
            RemoteRpcException error = e;
            throw new JsonRpcException(
                (int?)error.ErrorCode ?? JsonRpcErrorCodes.InternalError, e.Message, error.DeserializedErrorData is JsonElement data ? data : null);
        }
        catch (Exception e) when (e is ConnectionLostException or ObjectDisposedException)
        {
            throw new IOException("The connection closed before the peer answered.", e);
        }
        finally
        {
            _outbound.TryRemove(abandoned, out _);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _rpc.Dispose();
        try
        {
            await _rpc.Completion.ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Reported by RunAsync already.
        }

        await _handler.CloseAsync().ConfigureAwait(false);
    }

    // StreamJsonRpc marks PolyTypeJsonFormatter experimental ("PolyTypeJson"); it is the formatter its docs call
    // NativeAOT-ready, which the agent's NativeAOT publish needs. The version is pinned; the tests cover the wire.
#pragma warning disable PolyTypeJson
    private static PolyTypeJsonFormatter CreateFormatter() => new()
    {
        // NativeAOT-ready: user data goes through our source-generated context alone (params and results arrive here
        // already serialized by the callers' own contexts, as RawJson), and PolyType shapes are generated at compile time.
        TypeShapeProvider = PeerShapes.GeneratedTypeShapeProvider,
        JsonSerializerOptions = new JsonSerializerOptions { TypeInfoResolver = PeerJsonContext.Default },
    };
#pragma warning restore PolyTypeJson

    private void AddTarget(string method, object target)
    {
        ArgumentException.ThrowIfNullOrEmpty(method);
        var attribute = new JsonRpcMethodAttribute(method) { UseSingleObjectParameterDeserialization = true };
        _rpc.AddLocalRpcMethod(target is ITarget t ? t.Method : throw new ArgumentException("Not a target.", nameof(target)), target, attribute);
    }

    /// <summary>Queues a notification behind everything sent before it; the thread that finds the queue idle writes it.</summary>
    private void Send(string method, RawJson parameters)
    {
        lock (_sendGate)
        {
            _unsent.Enqueue((method, parameters));
            _queuedCount++;
            if (_writing)
            {
                return;
            }

            _writing = true;
        }

        // On the sender's thread until a write has to wait: a token's update goes out without a thread hop.
        _ = WriteQueuedAsync();
    }

    /// <summary>Writes what is queued, in order, one flush for a burst, until the queue is empty.</summary>
    private async Task WriteQueuedAsync()
    {
        while (true)
        {
            (string Method, RawJson Params) next;
            bool moreFollow;
            lock (_sendGate)
            {
                if (!_unsent.TryDequeue(out next))
                {
                    _writing = false;
                    return;
                }

                moreFollow = _unsent.Count > 0;
            }

            try
            {
                // Completes once the line is written; with moreFollow the next line flushes both.
                await _rpc.NotifyAsync(next.Method, next.Params, moreFollow).ConfigureAwait(false);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogDropped(_logger, next.Method, e.Message);
            }

            lock (_sendGate)
            {
                _writtenCount++;
                for (int i = _sentWaiters.Count - 1; i >= 0; i--)
                {
                    if (_sentWaiters[i].Queued <= _writtenCount)
                    {
                        _sentWaiters[i].Written.TrySetResult();
                        _sentWaiters.RemoveAt(i);
                    }
                }
            }
        }
    }

    /// <summary>Completes once every notification sent so far is written (or dropped).</summary>
    private Task NotificationsSentAsync()
    {
        lock (_sendGate)
        {
            if (_writtenCount == _queuedCount)
            {
                return Task.CompletedTask;
            }

            var written = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _sentWaiters.Add((_queuedCount, written));
            return written.Task;
        }
    }

    /// <summary>The input ended: cancel what runs, let it answer, then let StreamJsonRpc close.</summary>
    private async Task WindDownAsync()
    {
        _inputEnded = true;
        _cancellation.CancelAll();
        FailOutbound();
        Task done = Task.WhenAll(_guard.AllAnsweredAsync(), NotificationsSentAsync());
        if (await Task.WhenAny(done, Task.Delay(s_handlerGrace)).ConfigureAwait(false) != done)
        {
            LogHandlersStillRunning(_logger);
        }

        await NotificationsSentAsync().WaitAsync(s_handlerGrace).ConfigureAwait(false);
    }

    private void FailOutbound()
    {
        foreach (TaskCompletionSource<JsonElement> call in _outbound.Keys)
        {
            call.TrySetException(new IOException("The connection closed before the peer answered."));
        }
    }

    private static TParams DeserializeParams<TParams>(ReadOnlySpan<byte> parameters, JsonTypeInfo<TParams> paramsType)
    {
        try
        {
            return JsonSerializer.Deserialize(parameters, paramsType)
                ?? throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, "Invalid params: params are required.");
        }
        catch (JsonException e)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"Invalid params: {e.Message}");
        }
    }

    private static TParams DeserializeParams<TParams>(JsonElement parameters, JsonTypeInfo<TParams> paramsType)
    {
        if (parameters.ValueKind is JsonValueKind.Undefined or JsonValueKind.Null)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, "Invalid params: params are required.");
        }

        try
        {
            return parameters.Deserialize(paramsType)
                ?? throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, "Invalid params: params are required.");
        }
        catch (JsonException e)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"Invalid params: {e.Message}");
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The handler of {Method} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The notification {Method} failed")]
    private static partial void LogNotificationFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The connection failed; closing")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closed with handlers still running after their cancellation")]
    private static partial void LogHandlersStillRunning(ILogger logger);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped the notification {Method}: {Reason}")]
    private static partial void LogDropped(ILogger logger, string method, string reason);

    private interface ITarget
    {
        System.Reflection.MethodInfo Method { get; }
    }

    /// <summary>A request method as StreamJsonRpc sees it: raw params in, raw result out.</summary>
    private sealed class RequestTarget<TParams, TResult>(
        JsonRpcPeer peer,
        Func<JsonElement, TParams> read,
        JsonTypeInfo<TResult> resultType,
        Func<TParams, MessageContext, CancellationToken, ValueTask<TResult>> handler) : ITarget
    {
        public System.Reflection.MethodInfo Method => new Func<JsonElement, CancellationToken, Task<RawJson>>(InvokeAsync).Method;

        /// <summary>Called on the read loop (params optional, so that a request without them reaches us).</summary>
        public Task<RawJson> InvokeAsync(JsonElement parameters = default, CancellationToken cancellationToken = default)
        {
            MessageContext context = peer._guard.Current;
            // Off the read loop before the handler runs: it may call the peer and wait for the answer.
            return Task.Run(() => ServeAsync(parameters, context, cancellationToken), CancellationToken.None);
        }

        private async Task<RawJson> ServeAsync(JsonElement parameters, MessageContext context, CancellationToken cancellationToken)
        {
            try
            {
                TResult result = await handler(read(parameters), context, cancellationToken).ConfigureAwait(false);
                return RawJson.Serialize(result, resultType);
            }
            catch (Exception e) when (e is not (JsonRpcException or OperationCanceledException or OutOfMemoryException))
            {
                LogHandlerFailed(peer._logger, context.Id?.ToString() ?? "?", e);
                throw;
            }
            finally
            {
                // The updates this request sent reach the wire before its response.
                await peer.NotificationsSentAsync().ConfigureAwait(false);
            }
        }
    }

    /// <summary>A notification as StreamJsonRpc sees it; runs on the read loop.</summary>
    private sealed class NotificationTarget(JsonRpcPeer peer, Action<JsonElement> handler) : ITarget
    {
        public System.Reflection.MethodInfo Method => new Action<JsonElement>(Invoke).Method;

        public void Invoke(JsonElement parameters = default)
        {
            _ = peer;
            handler(parameters);
        }
    }
}
