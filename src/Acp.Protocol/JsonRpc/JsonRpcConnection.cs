using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// A symmetric JSON-RPC 2.0 peer: it serves the other side's requests while sending its own.
/// </summary>
/// <remarks>
/// <para>The read loop never waits for a request handler: each request runs on the thread pool, so a handler may
/// itself call the peer and wait for the answer. Notification handlers run synchronously on the read loop, in
/// arrival order, and must return at once.</para>
/// <para>One writer owns the transport: messages go out in the order they were queued, so a notification queued
/// before a response is written before it.</para>
/// <para>When the peer closes its side, every request still running is cancelled, its answer is still written,
/// and <see cref="RunAsync"/> returns. Register handlers before <see cref="RunAsync"/>; everything else is
/// thread-safe.</para>
/// </remarks>
public sealed partial class JsonRpcConnection : IAsyncDisposable
{
    private const string CancelRequestMethod = "$/cancel_request";

    // How long a closing connection waits for handlers that ignore their cancellation.
    private static readonly TimeSpan s_handlerGrace = TimeSpan.FromSeconds(5);

    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly IMessageTransport _transport;
    private readonly ILogger _logger;
    private readonly Dictionary<string, IRequestHandler> _requestHandlers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, INotificationHandler> _notificationHandlers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<RequestId, CancellationTokenSource> _inbound = new();
    private readonly ConcurrentDictionary<RequestId, TaskCompletionSource<JsonElement>> _outbound = new();
    private readonly ConcurrentDictionary<Task, byte> _handlers = new();
    private readonly Channel<byte[]> _outgoing = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _closing = new();
    private long _sequence;
    private long _nextRequestId;

    /// <summary>Creates a connection over a transport.</summary>
    public JsonRpcConnection(IMessageTransport transport, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(transport);
        ArgumentNullException.ThrowIfNull(logger);
        _transport = transport;
        _logger = logger;
    }

    private interface IRequestHandler
    {
        Task<byte[]> InvokeAsync(RequestId id, JsonElement? parameters, MessageContext context, CancellationToken cancellationToken);
    }

    private interface INotificationHandler
    {
        void Invoke(JsonElement? parameters, MessageContext context);
    }

    /// <summary>Serves a request method.</summary>
    /// <remarks>Params that do not deserialize are answered with -32602; a <see cref="JsonRpcException"/> becomes
    /// its error; a cancellation through <c>$/cancel_request</c> becomes -32800; anything else -32603.</remarks>
    public void AddRequestHandler<TParams, TResult>(
        string method,
        JsonTypeInfo<TParams> paramsType,
        JsonTypeInfo<TResult> resultType,
        Func<TParams, MessageContext, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _requestHandlers.Add(method, new RequestHandler<TParams, TResult>(paramsType, resultType, handler));
    }

    /// <summary>Serves a request method whose params the handler reads itself: an empty object when the request has none.</summary>
    public void AddRequestHandler<TResult>(
        string method, JsonTypeInfo<TResult> resultType, Func<JsonElement, MessageContext, CancellationToken, ValueTask<TResult>> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _requestHandlers.Add(method, new RequestHandler<JsonElement, TResult>(
            RawParams.Default.JsonElement, resultType, handler, parameters => parameters ?? s_emptyObject));
    }

    /// <summary>Handles a notification method, synchronously on the read loop: it must not block.</summary>
    public void AddNotificationHandler<TParams>(string method, JsonTypeInfo<TParams> paramsType, Action<TParams, MessageContext> handler)
    {
        ArgumentNullException.ThrowIfNull(handler);
        _notificationHandlers.Add(method, new NotificationHandler<TParams>(paramsType, handler, _logger));
    }

    /// <summary>Reads and serves messages until the peer closes its side, then winds down and returns.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        Task writer = WriteLoopAsync();
        try
        {
            while (await _transport.ReadAsync(cancellationToken).ConfigureAwait(false) is { } message)
            {
                long sequence = ++_sequence;
                if (message.TooLarge)
                {
                    Send(ErrorMessage(null, JsonRpcErrorCodes.InvalidRequest, "Invalid request: the message is too large."));
                    continue;
                }

                Dispatch(message.Json, sequence);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // Whatever broke the input, the connection winds down cleanly rather than taking the process with it.
            LogReadFailed(_logger, e);
        }
        finally
        {
            await CloseAsync(writer).ConfigureAwait(false);
        }
    }

    /// <summary>Queues a notification; it is written after everything queued before it.</summary>
    public void Notify<TParams>(string method, TParams parameters, JsonTypeInfo<TParams> paramsType) =>
        Send(Serialize(writer =>
        {
            writer.WriteString("method", method);
            writer.WritePropertyName("params");
            JsonSerializer.Serialize(writer, parameters, paramsType);
        }));

    /// <summary>
    /// Sends a request and waits for the answer. Cancelling sends <c>$/cancel_request</c> to the peer and throws at
    /// once; a late answer is ignored.
    /// </summary>
    /// <exception cref="JsonRpcException">The peer answered with an error.</exception>
    /// <exception cref="IOException">The connection closed before the answer came.</exception>
    public async Task<TResult> RequestAsync<TParams, TResult>(
        string method, TParams parameters, JsonTypeInfo<TParams> paramsType, JsonTypeInfo<TResult> resultType, CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        var id = new RequestId(Interlocked.Increment(ref _nextRequestId));
        var answer = new TaskCompletionSource<JsonElement>(TaskCreationOptions.RunContinuationsAsynchronously);
        _outbound[id] = answer;
        try
        {
            if (_closing.IsCancellationRequested)
            {
                throw new IOException("The connection is closed.");
            }

            Send(Serialize(writer =>
            {
                writer.WritePropertyName("id");
                id.WriteTo(writer);
                writer.WriteString("method", method);
                writer.WritePropertyName("params");
                JsonSerializer.Serialize(writer, parameters, paramsType);
            }));

            JsonElement result;
            using (cancellationToken.Register(() =>
            {
                // Tell the peer before the caller moves on, so the notice precedes whatever the caller sends next.
                if (!answer.Task.IsCompleted)
                {
                    Send(Serialize(writer =>
                    {
                        writer.WriteString("method", CancelRequestMethod);
                        writer.WriteStartObject("params");
                        writer.WritePropertyName("requestId");
                        id.WriteTo(writer);
                        writer.WriteEndObject();
                    }));
                    answer.TrySetCanceled(cancellationToken);
                }
            }))
            {
                result = await answer.Task.ConfigureAwait(false);
            }

            return result.Deserialize(resultType)
                ?? throw new JsonRpcException(JsonRpcErrorCodes.InternalError, $"The answer to {method} is null.");
        }
        finally
        {
            _outbound.TryRemove(id, out _);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        _closing.Cancel();
        await _transport.DisposeAsync().ConfigureAwait(false);
        _closing.Dispose();
    }

    private void Dispatch(ReadOnlyMemory<byte> json, long sequence)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(json);
        }
        catch (JsonException e)
        {
            LogUnparsable(_logger, e.Message);
            Send(ErrorMessage(null, JsonRpcErrorCodes.ParseError, $"Parse error: {e.Message}"));
            return;
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                Send(ErrorMessage(null, JsonRpcErrorCodes.InvalidRequest, "Invalid request: a message is a JSON object (batches are not supported)."));
                return;
            }

            RequestId? id = null;
            bool hasId = root.TryGetProperty("id", out JsonElement idElement);
            if (hasId && idElement.ValueKind != JsonValueKind.Null)
            {
                if (!RequestId.TryRead(idElement, out RequestId value))
                {
                    Send(ErrorMessage(null, JsonRpcErrorCodes.InvalidRequest, "Invalid request: id must be an integer or a string."));
                    return;
                }

                id = value;
            }

            if (!root.TryGetProperty("jsonrpc", out JsonElement version) || version.ValueKind != JsonValueKind.String || !version.ValueEquals("2.0"))
            {
                Send(ErrorMessage(id, JsonRpcErrorCodes.InvalidRequest, "Invalid request: jsonrpc must be \"2.0\"."));
                return;
            }

            if (root.TryGetProperty("method", out JsonElement methodElement))
            {
                if (methodElement.ValueKind != JsonValueKind.String)
                {
                    Send(ErrorMessage(id, JsonRpcErrorCodes.InvalidRequest, "Invalid request: method must be a string."));
                    return;
                }

                JsonElement? parameters = root.TryGetProperty("params", out JsonElement p) && p.ValueKind != JsonValueKind.Null ? p.Clone() : null;
                string method = methodElement.GetString()!;
                if (!hasId)
                {
                    OnNotification(method, parameters, sequence);
                }
                else if (id is { } requestId)
                {
                    OnRequest(requestId, method, parameters, sequence);
                }
                else
                {
                    Send(ErrorMessage(null, JsonRpcErrorCodes.InvalidRequest, "Invalid request: a request's id must not be null."));
                }
            }
            else if (root.TryGetProperty("result", out JsonElement result))
            {
                OnResponse(id, result, error: null);
            }
            else if (root.TryGetProperty("error", out JsonElement error))
            {
                OnResponse(id, result: null, error);
            }
            else
            {
                Send(ErrorMessage(id, JsonRpcErrorCodes.InvalidRequest, "Invalid request: neither a request, a notification nor a response."));
            }
        }
    }

    private void OnRequest(RequestId id, string method, JsonElement? parameters, long sequence)
    {
        if (!_requestHandlers.TryGetValue(method, out IRequestHandler? handler))
        {
            LogMethodNotFound(_logger, method);
            Send(ErrorMessage(id, JsonRpcErrorCodes.MethodNotFound, $"Method not found: {method}"));
            return;
        }

        // Registered before the handler runs, so that a $/cancel_request right behind it finds it.
        var cancellation = CancellationTokenSource.CreateLinkedTokenSource(_closing.Token);
        if (!_inbound.TryAdd(id, cancellation))
        {
            cancellation.Dispose();
            Send(ErrorMessage(id, JsonRpcErrorCodes.InvalidRequest, $"Invalid request: request {id} is already in progress."));
            return;
        }

        Track(Task.Run(() => ServeAsync(handler, id, method, parameters, new MessageContext(id, sequence), cancellation)));
    }

    private async Task ServeAsync(
        IRequestHandler handler, RequestId id, string method, JsonElement? parameters, MessageContext context, CancellationTokenSource cancellation)
    {
        byte[] response;
        try
        {
            response = await handler.InvokeAsync(id, parameters, context, cancellation.Token).ConfigureAwait(false);
        }
        catch (JsonRpcException e)
        {
            response = ErrorMessage(id, e.Code, e.Message, e.Data);
        }
        catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
        {
            response = ErrorMessage(id, JsonRpcErrorCodes.RequestCancelled, "Request cancelled.");
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            LogHandlerFailed(_logger, method, e);
            response = ErrorMessage(id, JsonRpcErrorCodes.InternalError, $"Internal error: {e.Message}");
        }
        finally
        {
            _inbound.TryRemove(id, out _);
            cancellation.Dispose();
        }

        Send(response);
    }

    private void OnNotification(string method, JsonElement? parameters, long sequence)
    {
        if (method == CancelRequestMethod)
        {
            if (parameters is { ValueKind: JsonValueKind.Object } p
                && p.TryGetProperty("requestId", out JsonElement requestId)
                && RequestId.TryRead(requestId, out RequestId id)
                && _inbound.TryGetValue(id, out CancellationTokenSource? cancellation))
            {
                TryCancel(cancellation);
            }

            return;
        }

        if (_notificationHandlers.TryGetValue(method, out INotificationHandler? handler))
        {
            handler.Invoke(parameters, new MessageContext(null, sequence));
        }
        else
        {
            // Notifications are never answered, not even with an error.
            LogNotificationIgnored(_logger, method);
        }
    }

    private void OnResponse(RequestId? id, JsonElement? result, JsonElement? error)
    {
        if (id is not { } requestId || !_outbound.TryGetValue(requestId, out TaskCompletionSource<JsonElement>? answer))
        {
            LogUnexpectedResponse(_logger, id?.ToString() ?? "null");
            return;
        }

        if (result is { } value)
        {
            answer.TrySetResult(value.Clone());
            return;
        }

        JsonElement e = error!.Value;
        int code = e.ValueKind == JsonValueKind.Object && e.TryGetProperty("code", out JsonElement c) && c.TryGetInt32(out int number)
            ? number
            : JsonRpcErrorCodes.InternalError;
        string message = e.ValueKind == JsonValueKind.Object && e.TryGetProperty("message", out JsonElement m) && m.ValueKind == JsonValueKind.String
            ? m.GetString()!
            : "The peer answered with an error.";
        JsonElement? data = e.ValueKind == JsonValueKind.Object && e.TryGetProperty("data", out JsonElement d) ? d.Clone() : null;
        answer.TrySetException(new JsonRpcException(code, message, data));
    }

    private async Task CloseAsync(Task writer)
    {
        // The peer is gone or the host is stopping: cancel everything, let the handlers answer, then drain.
        TryCancel(_closing);
        foreach (TaskCompletionSource<JsonElement> answer in _outbound.Values)
        {
            answer.TrySetException(new IOException("The connection closed before the peer answered."));
        }

        Task handlers = Task.WhenAll(_handlers.Keys);
        if (await Task.WhenAny(handlers, Task.Delay(s_handlerGrace)).ConfigureAwait(false) != handlers)
        {
            LogHandlersStillRunning(_logger, _handlers.Count);
        }

        _outgoing.Writer.TryComplete();
        await writer.ConfigureAwait(false);
    }

    private async Task WriteLoopAsync()
    {
        ChannelReader<byte[]> reader = _outgoing.Reader;
        bool broken = false;
        while (await reader.WaitToReadAsync().ConfigureAwait(false))
        {
            while (reader.TryRead(out byte[]? message))
            {
                if (broken)
                {
                    continue;
                }

                try
                {
                    await _transport.WriteAsync(message, CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    broken = true;
                    LogWriteFailed(_logger, e);
                }
            }

            if (!broken)
            {
                try
                {
                    await _transport.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                }
                catch (Exception e) when (e is IOException or ObjectDisposedException or InvalidOperationException)
                {
                    broken = true;
                    LogWriteFailed(_logger, e);
                }
            }
        }
    }

    private void Send(byte[] message)
    {
        if (!_outgoing.Writer.TryWrite(message))
        {
            LogDroppedAfterClose(_logger);
        }
    }

    private void Track(Task task)
    {
        _handlers.TryAdd(task, 0);
        task.ContinueWith(static (t, state) => ((ConcurrentDictionary<Task, byte>)state!).TryRemove(t, out _), _handlers, TaskScheduler.Default);
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

    private static byte[] ErrorMessage(RequestId? id, int code, string message, JsonElement? data = null) => Serialize(writer =>
    {
        writer.WritePropertyName("id");
        if (id is { } value)
        {
            value.WriteTo(writer);
        }
        else
        {
            writer.WriteNullValue();
        }

        writer.WriteStartObject("error");
        writer.WriteNumber("code", code);
        writer.WriteString("message", message);
        if (data is { } details)
        {
            writer.WritePropertyName("data");
            details.WriteTo(writer);
        }

        writer.WriteEndObject();
    });

    private static byte[] Serialize(Action<Utf8JsonWriter> writeBody)
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var writer = new Utf8JsonWriter(buffer, s_writerOptions))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            writeBody(writer);
            writer.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered an unparsable line with -32700: {Reason}")]
    private static partial void LogUnparsable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Answered an unknown method with -32601: {Method}")]
    private static partial void LogMethodNotFound(ILogger logger, string method);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Ignored the notification {Method}: no handler")]
    private static partial void LogNotificationIgnored(ILogger logger, string method);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a response to no pending request: id {Id}")]
    private static partial void LogUnexpectedResponse(ILogger logger, string id);

    [LoggerMessage(Level = LogLevel.Error, Message = "The handler of {Method} failed")]
    private static partial void LogHandlerFailed(ILogger logger, string method, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading from the peer failed; closing")]
    private static partial void LogReadFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Writing to the peer failed; further messages are dropped")]
    private static partial void LogWriteFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closed with {Count} handlers still running after their cancellation")]
    private static partial void LogHandlersStillRunning(ILogger logger, int count);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Dropped a message queued after the connection closed")]
    private static partial void LogDroppedAfterClose(ILogger logger);

    private static readonly JsonElement s_emptyObject = JsonDocument.Parse("{}").RootElement;

    private sealed class RequestHandler<TParams, TResult>(
        JsonTypeInfo<TParams> paramsType,
        JsonTypeInfo<TResult> resultType,
        Func<TParams, MessageContext, CancellationToken, ValueTask<TResult>> handler,
        Func<JsonElement?, JsonElement?>? defaultParams = null) : IRequestHandler
    {
        public async Task<byte[]> InvokeAsync(RequestId id, JsonElement? parameters, MessageContext context, CancellationToken cancellationToken)
        {
            TParams value = DeserializeParams(defaultParams is null ? parameters : defaultParams(parameters), paramsType);
            TResult result = await handler(value, context, cancellationToken).ConfigureAwait(false);
            return Serialize(writer =>
            {
                writer.WritePropertyName("id");
                id.WriteTo(writer);
                writer.WritePropertyName("result");
                JsonSerializer.Serialize(writer, result, resultType);
            });
        }
    }

    private sealed class NotificationHandler<TParams>(JsonTypeInfo<TParams> paramsType, Action<TParams, MessageContext> handler, ILogger logger)
        : INotificationHandler
    {
        public void Invoke(JsonElement? parameters, MessageContext context)
        {
            try
            {
                handler(DeserializeParams(parameters, paramsType), context);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // A notification has no one to answer; a bad one must not stop the read loop.
                LogHandlerFailed(logger, paramsType.Type.Name, e);
            }
        }
    }

    private static TParams DeserializeParams<TParams>(JsonElement? parameters, JsonTypeInfo<TParams> paramsType)
    {
        if (parameters is not { } element)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, "Invalid params: params are required.");
        }

        try
        {
            return element.Deserialize(paramsType)
                ?? throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, "Invalid params: params are required.");
        }
        catch (JsonException e)
        {
            throw new JsonRpcException(JsonRpcErrorCodes.InvalidParams, $"Invalid params: {e.Message}");
        }
    }
}

/// <summary>Raw JSON, for handlers that read their params themselves.</summary>
[JsonSerializable(typeof(JsonElement))]
internal sealed partial class RawParams : JsonSerializerContext;
