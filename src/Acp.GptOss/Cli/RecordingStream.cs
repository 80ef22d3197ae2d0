namespace Acp.GptOss.Cli;

/// <summary>The agent's output stream for <c>replay</c>: passes every write on, and keeps a copy while recording.</summary>
internal sealed class RecordingStream(Stream inner) : Stream
{
    private readonly MemoryStream _recorded = new();
    private volatile bool _recording;

    public bool Recording
    {
        get => _recording;
        set => _recording = value;
    }

    /// <summary>What was written while recording: whole lines, as the peer writes and flushes one message at a time.</summary>
    public ReadOnlyMemory<byte> Recorded
    {
        get
        {
            lock (_recorded)
            {
                return _recorded.ToArray();
            }
        }
    }

    public override bool CanRead => false;

    public override bool CanSeek => false;

    public override bool CanWrite => true;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    public override void Write(ReadOnlySpan<byte> buffer)
    {
        Keep(buffer);
        inner.Write(buffer);
    }

    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        Keep(buffer.Span);
        await inner.WriteAsync(buffer, cancellationToken).ConfigureAwait(false);
    }

    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override void Flush() => inner.Flush();

    public override Task FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    private void Keep(ReadOnlySpan<byte> buffer)
    {
        if (_recording)
        {
            lock (_recorded)
            {
                _recorded.Write(buffer);
            }
        }
    }
}
