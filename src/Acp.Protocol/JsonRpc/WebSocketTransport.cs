using System.Buffers;
using System.Net.WebSockets;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.Protocol.JsonRpc;

/// <summary>Limits of a <see cref="WebSocketTransport"/>.</summary>
public sealed record WebSocketTransportOptions
{
    /// <summary>The largest inbound message; a larger one closes the socket with 1009.</summary>
    public int MaxMessageBytes { get; init; } = 4 * 1024 * 1024;

    /// <summary>Outbound messages waiting for the peer; at the limit, writing waits for the peer to take one.</summary>
    public int MaxQueuedMessages { get; init; } = 1024;

    /// <summary>Outbound bytes waiting for the peer; at the limit, writing waits like <see cref="MaxQueuedMessages"/>.</summary>
    public long MaxQueuedBytes { get; init; } = 16L * 1024 * 1024;

    /// <summary>How long a full queue may wait for the peer to take a message before the socket is closed (1008, or an
    /// abort while a send is stuck).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Closes the socket with 1000 when the peer sends nothing for this long; null never does.</summary>
    public TimeSpan? IdleTimeout { get; init; }

    /// <summary>How long a closing socket waits for the peer's close frame, or for a stuck send, before aborting.</summary>
    public TimeSpan CloseGrace { get; init; } = TimeSpan.FromSeconds(5);
}

/// <summary>
/// One JSON-RPC message per WebSocket text message. Outbound messages go through a bounded queue drained by one
/// send loop: a slow peer slows the writer down, and a peer that stops reading is disconnected.
/// </summary>
/// <remarks>Binary messages close with 1003, oversized ones with 1009. The transport does not own the socket: the
/// caller disposes it after <see cref="DisposeAsync"/>. One reader and one writer, as <see cref="IMessageTransport"/> says.</remarks>
public sealed partial class WebSocketTransport : IMessageTransport
{
    private const int ReceiveChunk = 16 * 1024;
    private const int KeptBufferBytes = 1024 * 1024;

    private readonly WebSocket _socket;
    private readonly WebSocketTransportOptions _options;
    private readonly ILogger _logger;
    private readonly Channel<byte[]> _outgoing = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _sendAbort = new();
    private readonly CancellationTokenSource _receiveAbort = new();
    private readonly Lock _gate = new();
    private readonly ITimer? _idleTimer;
    private readonly Task _sendLoop;
    private ArrayBufferWriter<byte> _buffer = new(ReceiveChunk);
    private int _queuedMessages;
    private long _queuedBytes;
    private WebSocketCloseStatus? _closeStatus;
    private string? _closeDescription;
    private volatile bool _closeRequested;
    private TaskCompletionSource _progress = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Starts sending at once; reading starts with the first <see cref="ReadAsync"/>.</summary>
    public WebSocketTransport(WebSocket socket, WebSocketTransportOptions? options = null, ILogger? logger = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(socket);
        _socket = socket;
        _options = options ?? new WebSocketTransportOptions();
        _logger = logger ?? NullLogger.Instance;
        if (_options.IdleTimeout is { } idle)
        {
            _idleTimer = (time ?? TimeProvider.System).CreateTimer(
                static state => ((WebSocketTransport)state!).OnIdle(), this, idle, Timeout.InfiniteTimeSpan);
        }

        _sendLoop = SendLoopAsync();
    }

    /// <summary>Why the transport closed the socket, once it has decided to; null while open or when the peer closed first.</summary>
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

    /// <inheritdoc />
    public async ValueTask<TransportMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, _receiveAbort.Token);
        try
        {
            while (true)
            {
                ValueWebSocketReceiveResult result = await _socket.ReceiveAsync(_buffer.GetMemory(ReceiveChunk), linked.Token).ConfigureAwait(false);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    RequestClose(WebSocketCloseStatus.NormalClosure, null, peerClosed: true);
                    return null;
                }

                bool closing = CloseStatus is not null;
                if (closing)
                {
                    // After our close frame, read only to see the peer's; what it sent meanwhile is dropped.
                    _buffer.ResetWrittenCount();
                    continue;
                }

                if (result.MessageType == WebSocketMessageType.Binary)
                {
                    LogBinaryMessage(_logger);
                    RequestClose(WebSocketCloseStatus.InvalidMessageType, "Messages are JSON text.");
                    continue;
                }

                _buffer.Advance(result.Count);
                if (_buffer.WrittenCount > _options.MaxMessageBytes)
                {
                    LogMessageTooLarge(_logger, _options.MaxMessageBytes);
                    RequestClose(WebSocketCloseStatus.MessageTooBig, $"A message is at most {_options.MaxMessageBytes} bytes.");
                    continue;
                }

                if (result.EndOfMessage)
                {
                    byte[] message = _buffer.WrittenSpan.ToArray();
                    // One large message should not pin its buffer for the connection's life.
                    if (_buffer.Capacity > KeptBufferBytes)
                    {
                        _buffer = new ArrayBufferWriter<byte>(ReceiveChunk);
                    }
                    else
                    {
                        _buffer.ResetWrittenCount();
                    }

                    _idleTimer?.Change(_options.IdleTimeout!.Value, Timeout.InfiniteTimeSpan);
                    if (message.Length > 0)
                    {
                        return new TransportMessage(message);
                    }
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
            return null;
        }
    }

    /// <inheritdoc />
    /// <remarks>Returns at once while the queue has room; when it is full, waits for the peer to take a message, and
    /// closes the socket if it takes none within <see cref="WebSocketTransportOptions.StallTimeout"/>.</remarks>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        while (!_closeRequested && Volatile.Read(ref _queuedMessages) > 0)
        {
            // Taken before the check, so progress made in between is not missed.
            Task progress = Volatile.Read(ref _progress).Task;
            if (Volatile.Read(ref _queuedMessages) < _options.MaxQueuedMessages
                && Interlocked.Read(ref _queuedBytes) + message.Length <= _options.MaxQueuedBytes)
            {
                break;
            }

            try
            {
                await progress.WaitAsync(_options.StallTimeout, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                if (RequestClose(WebSocketCloseStatus.PolicyViolation, "The client does not read its messages."))
                {
                    LogPeerNotReading(_logger, Volatile.Read(ref _queuedMessages), Interlocked.Read(ref _queuedBytes), _options.StallTimeout.TotalSeconds);
                    // A send stuck on a peer that does not read cannot finish: abort it rather than wait.
                    await _sendAbort.CancelAsync().ConfigureAwait(false);
                    await _receiveAbort.CancelAsync().ConfigureAwait(false);
                }

                return;
            }
        }

        Interlocked.Increment(ref _queuedMessages);
        Interlocked.Add(ref _queuedBytes, message.Length);
        // Dropped, uncounted, once the transport is closing.
        if (!_outgoing.Writer.TryWrite(message.ToArray()))
        {
            Interlocked.Decrement(ref _queuedMessages);
            Interlocked.Add(ref _queuedBytes, -message.Length);
        }
    }

    /// <inheritdoc />
    /// <remarks>The send loop sends as soon as messages are queued; there is nothing to flush.</remarks>
    public ValueTask FlushAsync(CancellationToken cancellationToken) => ValueTask.CompletedTask;

    /// <summary>Sends what is queued, then a close frame (1000 unless a limit decided otherwise), within the close grace.</summary>
    public async ValueTask DisposeAsync()
    {
        RequestClose(WebSocketCloseStatus.NormalClosure, null);
        try
        {
            await _sendLoop.WaitAsync(_options.CloseGrace).ConfigureAwait(false);
        }
        catch (TimeoutException)
        {
            await _sendAbort.CancelAsync().ConfigureAwait(false);
            await _sendLoop.ConfigureAwait(false);
        }

        if (_idleTimer is not null)
        {
            await _idleTimer.DisposeAsync().ConfigureAwait(false);
        }

        _sendAbort.Dispose();
        _receiveAbort.Dispose();
    }

    private void OnIdle()
    {
        if (RequestClose(WebSocketCloseStatus.NormalClosure, "Idle timeout."))
        {
            LogIdle(_logger, _options.IdleTimeout!.Value.TotalMinutes);
        }
    }

    /// <summary>Decides the close status, once; the send loop sends what is queued, then the close frame.</summary>
    private bool RequestClose(WebSocketCloseStatus status, string? description, bool peerClosed = false)
    {
        lock (_gate)
        {
            if (_closeRequested)
            {
                return false;
            }

            _closeRequested = true;
            // A writer waiting for room stops waiting: nothing more is sent.
            Volatile.Read(ref _progress).TrySetResult();

            if (!peerClosed)
            {
                _closeStatus = status;
                _closeDescription = description;
            }

            _outgoing.Writer.TryComplete();
            return true;
        }
    }

    private async Task SendLoopAsync()
    {
        // Runs off the constructor's thread.
        await Task.Yield();
        ChannelReader<byte[]> reader = _outgoing.Reader;
        try
        {
            while (await reader.WaitToReadAsync(_sendAbort.Token).ConfigureAwait(false))
            {
                while (reader.TryRead(out byte[]? message))
                {
                    await _socket.SendAsync(message, WebSocketMessageType.Text, endOfMessage: true, _sendAbort.Token).ConfigureAwait(false);
                    Interlocked.Decrement(ref _queuedMessages);
                    Interlocked.Add(ref _queuedBytes, -message.Length);
                    Interlocked.Exchange(ref _progress, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
                }
            }

            if (_socket.State is WebSocketState.Open or WebSocketState.CloseReceived)
            {
                WebSocketCloseStatus status;
                string? description;
                lock (_gate)
                {
                    status = _closeStatus ?? WebSocketCloseStatus.NormalClosure;
                    description = _closeDescription;
                }

                await _socket.CloseOutputAsync(status, description, _sendAbort.Token).ConfigureAwait(false);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException or ObjectDisposedException)
        {
            // Aborted, or the peer is gone; the reader sees it too.
        }
        finally
        {
            RequestClose(WebSocketCloseStatus.NormalClosure, null, peerClosed: true);
            // A peer that never answers our close frame must not keep the reader, and the connection, alive.
            try
            {
                _receiveAbort.CancelAfter(_options.CloseGrace);
            }
            catch (ObjectDisposedException)
            {
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the WebSocket with 1003: a binary message")]
    private static partial void LogBinaryMessage(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Closing the WebSocket with 1009: a message over {Limit} bytes")]
    private static partial void LogMessageTooLarge(ILogger logger, int limit);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Disconnecting a client that does not read: {Count} messages, {Bytes} bytes queued, none taken for {Seconds} s (1008)")]
    private static partial void LogPeerNotReading(ILogger logger, int count, long bytes, double seconds);

    [LoggerMessage(Level = LogLevel.Information, Message = "Closing the WebSocket with 1000: nothing received for {Minutes} minutes")]
    private static partial void LogIdle(ILogger logger, double minutes);
}
