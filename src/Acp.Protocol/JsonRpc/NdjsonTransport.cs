using System.Buffers;
using System.IO.Pipelines;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// Newline-delimited JSON over a pair of streams, as ACP uses on stdio: one message per line. Blank lines are
/// skipped, <c>\r\n</c> is accepted, and a line longer than the limit is skipped and reported once.
/// </summary>
public sealed class NdjsonTransport : IMessageTransport
{
    /// <summary>The longest line read, as in the ACP TypeScript SDK.</summary>
    public const int DefaultMaxMessageBytes = 32 * 1024 * 1024;

    private readonly PipeReader _input;
    private readonly PipeWriter _output;
    private readonly int _maxMessageBytes;
    private bool _skippingLongLine;

    /// <summary>Creates the transport; the streams stay open when it is disposed.</summary>
    public NdjsonTransport(Stream input, Stream output, int maxMessageBytes = DefaultMaxMessageBytes)
    {
        ArgumentNullException.ThrowIfNull(input);
        ArgumentNullException.ThrowIfNull(output);
        _input = PipeReader.Create(input, new StreamPipeReaderOptions(leaveOpen: true));
        _output = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        _maxMessageBytes = maxMessageBytes;
    }

    /// <inheritdoc />
    public async ValueTask<TransportMessage?> ReadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            ReadResult result = await _input.ReadAsync(cancellationToken).ConfigureAwait(false);
            ReadOnlySequence<byte> buffer = result.Buffer;
            SequencePosition? newline = buffer.PositionOf((byte)'\n');
            if (newline is { } end)
            {
                ReadOnlySequence<byte> line = buffer.Slice(0, end);
                bool skip = _skippingLongLine;
                bool tooLarge = !skip && line.Length > _maxMessageBytes;
                // Copy out before advancing: the pipe reuses the memory afterwards.
                byte[]? message = skip || tooLarge ? null : Trim(line).ToArray();
                _input.AdvanceTo(buffer.GetPosition(1, end));
                _skippingLongLine = false;
                if (tooLarge)
                {
                    return new TransportMessage(ReadOnlyMemory<byte>.Empty, TooLarge: true);
                }

                if (message is { Length: > 0 })
                {
                    return new TransportMessage(message);
                }

                continue;
            }

            if (buffer.Length > _maxMessageBytes && !_skippingLongLine)
            {
                // Drop what is buffered and the rest of the line as it arrives; report the line once.
                _skippingLongLine = true;
                _input.AdvanceTo(buffer.End);
                return new TransportMessage(ReadOnlyMemory<byte>.Empty, TooLarge: true);
            }

            if (result.IsCompleted)
            {
                // A last line without its newline still counts.
                byte[] rest = _skippingLongLine ? [] : Trim(buffer).ToArray();
                _input.AdvanceTo(buffer.End);
                _skippingLongLine = false;
                return rest.Length == 0 ? null : new TransportMessage(rest);
            }

            _input.AdvanceTo(_skippingLongLine ? buffer.End : buffer.Start, buffer.End);
        }
    }

    /// <inheritdoc />
    public ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        _output.Write(message.Span);
        _output.Write("\n"u8);
        return ValueTask.CompletedTask;
    }

    /// <inheritdoc />
    public async ValueTask FlushAsync(CancellationToken cancellationToken) =>
        await _output.FlushAsync(cancellationToken).ConfigureAwait(false);

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        await _input.CompleteAsync().ConfigureAwait(false);
        await _output.CompleteAsync().ConfigureAwait(false);
    }

    private static ReadOnlySequence<byte> Trim(ReadOnlySequence<byte> line)
    {
        // Lines are short in practice; trimming on a copy keeps this simple.
        ReadOnlySpan<byte> span = line.IsSingleSegment ? line.FirstSpan : line.ToArray();
        int start = 0;
        int end = span.Length;
        while (start < end && IsWhitespace(span[start]))
        {
            start++;
        }

        while (end > start && IsWhitespace(span[end - 1]))
        {
            end--;
        }

        return line.Slice(start, end - start);
    }

    private static bool IsWhitespace(byte value) => value is (byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n';
}
