using System.Buffers;
using System.IO.Pipelines;
using StreamJsonRpc;
using StreamJsonRpc.Protocol;
using RpcId = StreamJsonRpc.RequestId;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// Newline-delimited JSON, as ACP uses on stdio: StreamJsonRpc's handler with <c>\n</c> line ends, reading through
/// <see cref="MessageGuard"/>. Blank lines are skipped, <c>\r\n</c> is accepted, a last line without its newline still
/// counts, and a line over the limit is answered with -32600 and skipped.
/// </summary>
internal sealed class NdjsonMessageHandler : NewLineDelimitedMessageHandler, IPeerMessageHandler
{
    private readonly MessageGuard _guard;
    private readonly int _maxMessageBytes;
    private JsonRpcMessage? _writing;
    private bool _skippingLongLine;
    private volatile bool _stopped;

    public NdjsonMessageHandler(Stream output, Stream input, IJsonRpcMessageTextFormatter formatter, MessageGuard guard, int maxMessageBytes)
        // Stream pipes of our own rather than StreamJsonRpc's: a flush is then on the stream when it completes (the end
        // of input counts on that), and the streams stay open for their owner.
        : base(PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true)), PipeReader.Create(input, new StreamPipeReaderOptions(leaveOpen: true)), formatter)
    {
        NewLine = NewLineStyle.Lf;
        _guard = guard;
        _maxMessageBytes = maxMessageBytes;
    }

    public Func<Task> InputEnded { get; set; } = static () => Task.CompletedTask;

    public void StopReading()
    {
        _stopped = true;
        Reader?.CancelPendingRead();
    }

    public ValueTask CloseAsync() => ValueTask.CompletedTask;

    protected override void Write(JsonRpcMessage content, CancellationToken cancellationToken)
    {
        _guard.OnSending(content);
        base.Write(content, cancellationToken);
        _writing = content;
    }

    protected override async ValueTask FlushAsync(CancellationToken cancellationToken)
    {
        if (_writing is PeerRpc.QueuedNotification { MoreFollow: true })
        {
            // The next notification is already queued and will flush this line with its own: one write for a burst.
            _writing = null;
            return;
        }

        await base.FlushAsync(cancellationToken).ConfigureAwait(false);
        // Only once it is flushed does an answer count as given (the end of input waits for that).
        if (Interlocked.Exchange(ref _writing, null) is { } written)
        {
            _guard.OnSent(written);
        }
    }

    protected override async ValueTask<JsonRpcMessage?> ReadCoreAsync(CancellationToken cancellationToken)
    {
        PipeReader reader = Reader!;
        while (true)
        {
            ReadResult result = await reader.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            if (_stopped)
            {
                // The host is stopping: what was read but not yet served is dropped, as after the end of input.
                reader.AdvanceTo(buffer.End);
                await InputEnded().ConfigureAwait(false);
                return null;
            }

            ReadOnlySequence<byte> line;
            SequencePosition consumed;
            bool tooLarge = false;
            if (buffer.PositionOf((byte)'\n') is { } end)
            {
                line = buffer.Slice(0, end);
                consumed = buffer.GetPosition(1, end);
                tooLarge = !_skippingLongLine && line.Length > _maxMessageBytes;
                if (_skippingLongLine || tooLarge)
                {
                    line = default;
                }

                _skippingLongLine = false;
            }
            else if (buffer.Length > _maxMessageBytes && !_skippingLongLine)
            {
                // Drop what is buffered and the rest of the line as it arrives; answer the line once.
                _skippingLongLine = true;
                line = default;
                consumed = buffer.End;
                tooLarge = true;
            }
            else if (result.IsCompleted)
            {
                if (_skippingLongLine || Trim(buffer).Length == 0)
                {
                    reader.AdvanceTo(buffer.End);
                    await InputEnded().ConfigureAwait(false);
                    return null;
                }

                // A last line without its newline still counts.
                line = buffer;
                consumed = buffer.End;
            }
            else
            {
                reader.AdvanceTo(_skippingLongLine ? buffer.End : buffer.Start, buffer.End);
                continue;
            }

            JsonRpcMessage? message = null;
            JsonRpcError? reply = null;
            line = Trim(line);
            if (tooLarge)
            {
                reply = MessageGuard.Error(RpcId.Null, JsonRpcErrorCodes.InvalidRequest, "Invalid request: the message is too large.");
            }
            else if (line.Length > 0)
            {
                // Read before advancing: StreamJsonRpc takes what it needs from the line before the next read.
                message = _guard.Admit(line, Formatter, out reply);
            }

            reader.AdvanceTo(consumed);
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

    private static ReadOnlySequence<byte> Trim(ReadOnlySequence<byte> line)
    {
        long start = 0;
        long end = line.Length;
        var reader = new SequenceReader<byte>(line);
        while (reader.TryRead(out byte value) && IsWhitespace(value))
        {
            start++;
        }

        if (start == end)
        {
            return line.Slice(0, 0);
        }

        // Lines end in at most a few whitespace bytes: walk back from the end.
        while (end > start && IsWhitespace(line.Slice(end - 1, 1).FirstSpan[0]))
        {
            end--;
        }

        return line.Slice(start, end - start);
    }

    private static bool IsWhitespace(byte value) => value is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
}

/// <summary>What the peer needs of its message handler.</summary>
internal interface IPeerMessageHandler : IJsonRpcMessageHandler
{
    /// <summary>Called on the read loop when the input ends, before it reports the end: the peer winds down there.</summary>
    Func<Task> InputEnded { get; set; }

    /// <summary>Ends reading as if the input had ended.</summary>
    void StopReading();

    /// <summary>Closes the transport's own side once the peer is done (a WebSocket's close frame).</summary>
    ValueTask CloseAsync();
}
