using System.Text;
using System.Threading.Channels;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// A response body of server-sent events that the test writes as it goes; it knows when the client closes it before
/// reading it to the end, as a server learns that its client left.
/// </summary>
internal sealed class FakeServingEngineStream : Stream
{
    private readonly Channel<byte[]> _chunks = Channel.CreateUnbounded<byte[]>();
    private readonly TaskCompletionSource _abandoned = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private byte[]? _current;
    private int _offset;
    private bool _readToEnd;

    /// <summary>Completes when the client closed the stream before reading its end.</summary>
    public Task Abandoned => _abandoned.Task;

    /// <summary>Whether the client read the stream to its end.</summary>
    public bool ReadToEnd => Volatile.Read(ref _readToEnd);

    public override bool CanRead => true;

    public override bool CanSeek => false;

    public override bool CanWrite => false;

    public override long Length => throw new NotSupportedException();

    public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

    /// <summary>Sends one event whose data is <paramref name="json"/>, as <c>data: ...</c> and a blank line.</summary>
    public FakeServingEngineStream Data(string json) => Raw($"data: {json}\n\n");

    /// <summary>Sends the <c>data: [DONE]</c> that OpenAI-style streams end with.</summary>
    public FakeServingEngineStream Done() => Data("[DONE]");

    /// <summary>Sends bytes as they are.</summary>
    public FakeServingEngineStream Raw(string text)
    {
        _chunks.Writer.TryWrite(Encoding.UTF8.GetBytes(text));
        return this;
    }

    /// <summary>Ends the body: the server closes the stream.</summary>
    public void End() => _chunks.Writer.TryComplete();

    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (_current is null || _offset == _current.Length)
        {
            if (!await _chunks.Reader.WaitToReadAsync(cancellationToken))
            {
                Volatile.Write(ref _readToEnd, true);
                return 0;
            }

            if (_chunks.Reader.TryRead(out _current))
            {
                _offset = 0;
            }
        }

        int count = Math.Min(buffer.Length, _current.Length - _offset);
        _current.AsMemory(_offset, count).CopyTo(buffer);
        _offset += count;
        return count;
    }

    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    public override int Read(byte[] buffer, int offset, int count) => ReadAsync(buffer, offset, count).GetAwaiter().GetResult();

    public override void Flush()
    {
    }

    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    public override void SetLength(long value) => throw new NotSupportedException();

    public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

    protected override void Dispose(bool disposing)
    {
        if (disposing && !ReadToEnd)
        {
            _abandoned.TrySetResult();
        }

        base.Dispose(disposing);
    }
}
