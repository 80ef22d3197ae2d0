using Acp.Protocol.JsonRpc;

namespace Acp.GptOss.Cli;

/// <summary>A transport that keeps a copy of what it writes while recording, for <c>replay</c>.</summary>
internal sealed class RecordingTransport(IMessageTransport inner) : IMessageTransport
{
    private readonly List<byte[]> _recorded = [];
    private volatile bool _recording;

    public bool Recording
    {
        get => _recording;
        set => _recording = value;
    }

    /// <summary>The messages written while recording.</summary>
    public IReadOnlyList<byte[]> Recorded => _recorded;

    public ValueTask<TransportMessage?> ReadAsync(CancellationToken cancellationToken) => inner.ReadAsync(cancellationToken);

    public ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken)
    {
        if (_recording)
        {
            lock (_recorded)
            {
                _recorded.Add(message.ToArray());
            }
        }

        return inner.WriteAsync(message, cancellationToken);
    }

    public ValueTask FlushAsync(CancellationToken cancellationToken) => inner.FlushAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}
