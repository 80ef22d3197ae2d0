using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.Logging;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;
using RpcId = StreamJsonRpc.RequestId;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// What stands between the wire and StreamJsonRpc in both message handlers. Stock StreamJsonRpc drops the connection
/// on anything it cannot read (a line that is not JSON, a message that is not JSON-RPC, an invalid UTF-8 byte in a
/// string, a response to an id it never sent); here each of those is answered (-32700, -32600, id null when it cannot be
/// read) or dropped, and reading goes on.
/// </summary>
/// <remarks>Also numbers messages in arrival order (<see cref="MessageContext.Sequence"/>) and knows which requests of
/// the peer are still unanswered, so that the end of input can wait for their answers.</remarks>
internal sealed partial class MessageGuard(ILogger logger)
{
    private readonly ConcurrentDictionary<RpcId, byte> _sent = new();
    private readonly ConcurrentDictionary<RpcId, byte> _unanswered = new();
    private readonly ConcurrentDictionary<RpcId, Action> _afterAnswer = new();
    private readonly Lock _gate = new();
    private TaskCompletionSource? _allAnswered;
    private long _sequence;

    /// <summary>The message being dispatched; read on the read loop, while StreamJsonRpc hands it to its method.</summary>
    public MessageContext Current { get; private set; }

    /// <summary>Notifications delivered here, straight from the frame, rather than through StreamJsonRpc.</summary>
    public DirectNotifications Direct { get; } = new();

    /// <summary>
    /// Reads one framed message: the message for StreamJsonRpc, or null with the error to answer (if any), or null and
    /// no error when it was a notification delivered here.
    /// </summary>
    public JsonRpcMessage? Admit(ReadOnlySequence<byte> frame, IJsonRpcMessageFormatter formatter, out JsonRpcError? reply)
    {
        long sequence = ++_sequence;
        reply = null;
        // A frame split across buffers (rare: lines are short) takes the general way.
        if (frame.IsSingleSegment && Direct.TryRead(frame.FirstSpan, out Action<ReadOnlySpan<byte>>? handler, out Range parameters))
        {
            Current = new MessageContext(null, sequence);
            handler!(frame.FirstSpan[parameters]);
            return null;
        }

        JsonRpcMessage message;
        try
        {
            message = formatter.Deserialize(frame);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            reply = Classify(frame);
            return null;
        }

        RpcId id = message is IJsonRpcMessageWithId withId ? withId.RequestId : default;
        if (message.Version != "2.0")
        {
            reply = message is JsonRpcRequest ? Error(id, JsonRpcErrorCodes.InvalidRequest, "Invalid request: jsonrpc must be \"2.0\".") : null;
            return null;
        }

        switch (message)
        {
            case JsonRpcRequest request when request.Method is null:
                reply = Error(id, JsonRpcErrorCodes.InvalidRequest, "Invalid request: method must be a string.");
                return null;
            case JsonRpcRequest request when request.RequestId.IsNull:
                reply = Error(RpcId.Null, JsonRpcErrorCodes.InvalidRequest, "Invalid request: a request's id must not be null.");
                return null;
            case JsonRpcRequest request:
                if (request.IsResponseExpected && !_unanswered.TryAdd(request.RequestId, 0))
                {
                    reply = Error(id, JsonRpcErrorCodes.InvalidRequest, $"Invalid request: request {id} is already in progress.");
                    return null;
                }

                Current = new MessageContext(request.IsResponseExpected ? ToRequestId(request.RequestId) : null, sequence);
                return request;
            default:
                // A response: StreamJsonRpc would disconnect on one it has no request for.
                if (!_sent.TryRemove(id, out _))
                {
                    LogUnexpectedResponse(logger, id.ToString());
                    return null;
                }

                return message;
        }
    }

    /// <summary>Notes an outbound message before it is written: the requests it will accept answers to.</summary>
    public void OnSending(JsonRpcMessage message)
    {
        if (message is JsonRpcRequest { IsResponseExpected: true } request)
        {
            _sent.TryAdd(request.RequestId, 0);
        }
    }

    /// <summary>Notes an outbound message once it is on the wire: the peer's request it answers is answered.</summary>
    public void OnSent(JsonRpcMessage message)
    {
        RpcId id = message switch
        {
            JsonRpcResult result => result.RequestId,
            JsonRpcError error => error.RequestId,
            _ => default,
        };
        if (!id.IsEmpty && _unanswered.TryRemove(id, out _))
        {
            lock (_gate)
            {
                if (_unanswered.IsEmpty)
                {
                    _allAnswered?.TrySetResult();
                    _allAnswered = null;
                }
            }

            // Removed from the unanswered first: AfterAnswer, racing this, then sees the answer given and runs it itself.
            if (_afterAnswer.TryRemove(id, out Action? after))
            {
                Run(after);
            }
        }
    }

    /// <summary>
    /// Runs <paramref name="action"/> once the answer to the peer's request <paramref name="id"/> is on the wire (at
    /// once when it already is), off the writer's thread: what it sends follows the answer.
    /// </summary>
    public void AfterAnswer(RpcId id, Action action)
    {
        _afterAnswer[id] = action;
        if (!_unanswered.ContainsKey(id) && _afterAnswer.TryRemove(id, out Action? now))
        {
            Run(now);
        }
    }

    private void Run(Action action) => ThreadPool.UnsafeQueueUserWorkItem(
        static state =>
        {
            try
            {
                state.Action();
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                LogAfterAnswerFailed(state.Logger, e);
            }
        },
        (Action: action, Logger: logger),
        preferLocal: false);

    /// <summary>Completes when every request of the peer has been answered (or never, if one never is).</summary>
    public Task AllAnsweredAsync()
    {
        lock (_gate)
        {
            if (_unanswered.IsEmpty)
            {
                return Task.CompletedTask;
            }

            _allAnswered ??= new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _allAnswered.Task;
        }
    }

    /// <summary>The error for a frame the formatter could not read.</summary>
    public JsonRpcError? Classify(ReadOnlySequence<byte> frame)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(frame);
        }
        catch (JsonException e)
        {
            LogUnparsable(logger, e.Message);
            return Error(RpcId.Null, JsonRpcErrorCodes.ParseError, $"Parse error: {e.Message}");
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return Error(RpcId.Null, JsonRpcErrorCodes.InvalidRequest, "Invalid request: a message is a JSON object (batches are not supported).");
            }

            RpcId id = root.TryGetProperty("id", out JsonElement idElement) && TryReadId(idElement, out RpcId value) ? value : RpcId.Null;
            bool hasMethod = root.TryGetProperty("method", out _);
            if (!hasMethod && (root.TryGetProperty("result", out _) || root.TryGetProperty("error", out _)))
            {
                // A malformed response: answering it could start an endless exchange of errors.
                LogUnexpectedResponse(logger, id.ToString());
                return null;
            }

            return Error(id, JsonRpcErrorCodes.InvalidRequest, hasMethod
                ? "Invalid request: method must be a string of valid UTF-8, and id an integer or a string."
                : "Invalid request: neither a request, a notification nor a response.");
        }
    }

    /// <summary>An error answer with the message only (never a stack trace).</summary>
    public static JsonRpcError Error(RpcId id, int code, string message) => new()
    {
        RequestId = id.IsEmpty ? RpcId.Null : id,
        Error = new JsonRpcError.ErrorDetail { Code = (JsonRpcErrorCode)code, Message = message },
    };

    public static RequestId ToRequestId(RpcId id) => id.String is { } text ? new RequestId(text) : new RequestId(id.Number ?? 0);

    public static RpcId ToRpcId(RequestId id) => id.IsString ? new RpcId(id.Text) : new RpcId(id.Number);

    private static bool TryReadId(JsonElement element, out RpcId id)
    {
        try
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.String:
                    id = new RpcId(element.GetString());
                    return true;
                case JsonValueKind.Number when element.TryGetInt64(out long number):
                    id = new RpcId(number);
                    return true;
            }
        }
        catch (InvalidOperationException)
        {
            // A string that is not valid UTF-8.
        }

        id = default;
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "What was to follow an answer failed")]
    private static partial void LogAfterAnswerFailed(ILogger logger, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Answered an unparsable message with -32700: {Reason}")]
    private static partial void LogUnparsable(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Ignored a response to no pending request: id {Id}")]
    private static partial void LogUnexpectedResponse(ILogger logger, string id);
}
