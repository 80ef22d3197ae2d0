using System.Buffers;
using System.Net.WebSockets;
using Microsoft.Extensions.Logging;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;

namespace Acp.Protocol.JsonRpc;

/// <summary>Limits of a peer on a WebSocket.</summary>
public sealed record WebSocketPeerOptions
{
    /// <summary>The largest inbound message; a larger one closes the socket with 1009.</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>How long one outbound message may wait for the peer to take it; past that the peer does not read, and
    /// the socket is aborted (reported as 1008).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Closes the socket with 1000 when the peer sends nothing for this long; null never does.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>How long a closing socket waits for the peer's close frame before giving up on it.</summary>
    public TimeSpan CloseGrace { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// One JSON-RPC message per WebSocket text message: StreamJsonRpc's handler, reading through <see cref="MessageGuard"/>
/// (stock, a frame that is not JSON aborts the socket) and with the relay's limits: binary messages close with 1003,
/// oversized ones with 1009, a silent peer with 1000 after the idle timeout, one that stops reading is aborted (1008).
/// </summary>
/// <remarks>It does not own the socket: the caller disposes it after the peer has run.</remarks>
internal sealed partial class WebSocketPeerHandler : WebSocketMessageHandler, IPeerMessageHandler
{
    private const int ReceiveChunk = 16 * 1024;
    private const int KeptBufferBytes = 1024 * 1024;

    private readonly WebSocketPeerOptions _options;
    private readonly MessageGuard _guard;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly SemaphoreSlim _send = new(1, 1);
    private readonly CancellationTokenSource _receiveAbort = new();
    private readonly Lock _gate = new();
    private readonly ITimer? _idleTimer;
    private ArrayBufferWriter<byte> _buffer = new(ReceiveChunk);
    private WebSocketCloseStatus? _closeStatus;
    private volatile bool _closeRequested;

    public WebSocketPeerHandler(
        WebSocket socket, IJsonRpcMessageTextFormatter formatter, MessageGuard guard, WebSocketPeerOptions options, ILogger logger, TimeProvider time)
        : base(socket, formatter)
    {
        _options = options;
        _guard = guard;
        _logger = logger;
        _time = time;
        if (options.IdleTimeout is { } idle)
        {
            _idleTimer = time.CreateTimer(static state => ((WebSocketPeerHandler)state!).OnIdle(), this, idle, Timeout.InfiniteTimeSpan);
        }
    }

    public Func<Task> InputEnded { get; set; } = static () => Task.CompletedTask;

    /// <summary>Why we closed the socket, once decided; null while open or when the peer closed first.</summary>
    public WebSocketCloseStatus? CloseStatus
    {
        get
        {
            lock (_gate)
            {
                return _closeStatus;
            }
        }
    }

    public void StopReading() => TryCancel(_receiveAbort);

    /// <summary>Ends the conversation: our close frame (1000 unless a limit decided otherwise), then the timers.</summary>
    public async ValueTask CloseAsync()
    {
        await RequestCloseAsync(WebSocketCloseStatus.NormalClosure, null, peerClosed: true).ConfigureAwait(false);
        if (_idleTimer is not null)
        {
            await _idleTimer.DisposeAsync().ConfigureAwait(false);
        }
    }

    protected override async ValueTask<JsonRpcMessage?> ReadCoreAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _receiveAbort.Token);
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await WebSocket.ReceiveAsync(_buffer.GetMemory(ReceiveChunk), linked.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    await InputEnded().ConfigureAwait(false);
                    return null;
                }

                if (_closeRequested)
                {
                    // After our close frame, read only to see the peer's; what it sent meanwhile is dropped.
                    _buffer.ResetWrittenCount();
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    LogBinaryMessage(_logger);
                    _buffer.ResetWrittenCount();
                    await RequestCloseAsync(WebSocketCloseStatus.InvalidMessageType, "Messages are JSON text.").ConfigureAwait(false);
                    continue;
                }

                _buffer.Advance(result.Count);
                if (_buffer.WrittenCount > _options.MaxMessageBytes)
                {
                    LogMessageTooLarge(_logger, _options.MaxMessageBytes);
                    _buffer.ResetWrittenCount();
                    await RequestCloseAsync(WebSocketCloseStatus.MessageTooBig, $"A message is at most {_options.MaxMessageBytes} bytes.").ConfigureAwait(false);
                    continue;
                }

                if (!result.EndOfMessage)
                {
                    continue;
                }

                _idleTimer?.Change(_options.IdleTimeout!.Value, Timeout.InfiniteTimeSpan);
                JsonRpcMessage? message = null;
                JsonRpcError? reply = null;
                if (_buffer.WrittenCount > 0)
                {
                    // StreamJsonRpc takes what it needs from the frame before the next read reuses the buffer.
                    message = _guard.Admit(new ReadOnlySequence<byte>(_buffer.WrittenMemory), Formatter, out reply);
                }

                if (_buffer.Capacity > KeptBufferBytes)
                {
                    // One large message should not pin its buffer for the connection's life.
                    _buffer = new ArrayBufferWriter<byte>(ReceiveChunk);
                }
                else
                {
                    _buffer.ResetWrittenCount();
                }

                if (reply is not null)
                {
                    await WriteAsync(reply, cancellationToken).ConfigureAwait(false);
                }

                if (message is not null)
                {
                    return message;
                }
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // The peer vanished, or we aborted the socket: either way the conversation is over.
            await InputEnded().ConfigureAwait(false);
            return null;
        }
    }

    protected override async ValueTask WriteCoreAsync(JsonRpcMessage content, CancellationToken cancellationToken)
    {
        _guard.OnSending(content);
        try
        {
            if (_closeRequested)
            {
                return;
            }

            var message = new ArrayBufferWriter<byte>(1024);
            Formatter.Serialize(message, content);
            await _send.WaitAsync(cancellationToken).ConfigureAwait(false);
            try
            {
                if (_closeRequested)
                {
                    return;
                }

                using var stall = new CancellationTokenSource(_options.StallTimeout, _time);
                await WebSocket.SendAsync(message.WrittenMemory, WebSocketMessageType.Text, endOfMessage: true, stall.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                // A send stuck on a peer that does not read cannot finish; the cancelled send has aborted the socket.
                if (MarkClosed(WebSocketCloseStatus.PolicyViolation))
                {
                    LogPeerNotReading(_logger, _options.StallTimeout.TotalSeconds);
                }

                TryCancel(_receiveAbort);
            }
            catch (Exception e) when (e is WebSocketException or IOException or ObjectDisposedException)
            {
                // The peer is gone; the reader sees it too.
                MarkClosed(null);
            }
            finally
            {
                _send.Release();
            }
        }
        finally
        {
            // Sent or dropped, the answer will not come later: the end of input must not wait for it.
            _guard.OnSent(content);
        }
    }

    protected override void Dispose(bool disposing)
    {
        if (disposing)
        {
            _idleTimer?.Dispose();
        }

        base.Dispose(disposing);
    }

    private void OnIdle()
    {
        if (!_closeRequested)
        {
            LogIdle(_logger, _options.IdleTimeout!.Value.TotalMinutes);
            _ = RequestCloseAsync(WebSocketCloseStatus.NormalClosure, "Idle timeout.");
        }
    }

    private bool MarkClosed(WebSocketCloseStatus? status)
    {
        lock (_gate)
        {
            if (_closeRequested)
            {
                return false;
            }

            _closeRequested = true;
            _closeStatus = status;
            return true;
        }
    }

    /// <summary>Sends our close frame once, after any message being sent; then waits at most the grace for the peer's.</summary>
    private async Task RequestCloseAsync(WebSocketCloseStatus status, string? description, bool peerClosed = false)
    {
        if (!MarkClosed(peerClosed ? null : status))
        {
            return;
        }

        try
        {
            // A send in progress ends within the stall timeout at worst.
            await _send.WaitAsync(CancellationToken.None).ConfigureAwait(false);
            try
            {
                if (WebSocket.State is WebSocketState.Open or WebSocketState.CloseReceived)
                {
                    using var grace = new CancellationTokenSource(_options.CloseGrace, _time);
                    await WebSocket.CloseOutputAsync(status, description, grace.Token).ConfigureAwait(false);
                }
            }
            finally
            {
                _send.Release();
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // Aborted, or the peer is gone.
        }

        // A peer that never answers our close frame must not keep the reader, and the connection, alive.
        try
        {
            _receiveAbort.CancelAfter(_options.CloseGrace);
        }
        catch (ObjectDisposedException)
        {
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
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the WebSocket with 1003: a binary message")]
    private static partial void LogBinaryMessage(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the WebSocket with 1009: a message over {Limit} bytes")]
    private static partial void LogMessageTooLarge(ILogger logger, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disconnecting a client that does not read: a message waited {Seconds} s (1008)")]
    private static partial void LogPeerNotReading(ILogger logger, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Closing the WebSocket with 1000: nothing received for {Minutes} minutes")]
    private static partial void LogIdle(ILogger logger, double minutes);
}
