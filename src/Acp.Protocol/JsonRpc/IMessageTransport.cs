namespace Acp.Protocol.JsonRpc;

/// <summary>
/// Moves whole JSON-RPC messages: one JSON text each, framing removed. NDJSON over stdio here; the relay adds a
/// WebSocket one.
/// </summary>
/// <remarks><see cref="ReadAsync"/> is called by one reader, <see cref="WriteAsync"/> and <see cref="FlushAsync"/>
/// by one writer; the two may run at the same time.</remarks>
public interface IMessageTransport : IAsyncDisposable
{
    /// <summary>The next message, or null once the peer has closed its side.</summary>
    ValueTask<TransportMessage?> ReadAsync(CancellationToken cancellationToken);

    /// <summary>Writes one message; it may stay buffered until <see cref="FlushAsync"/>.</summary>
    ValueTask WriteAsync(ReadOnlyMemory<byte> message, CancellationToken cancellationToken);

    /// <summary>Sends whatever is buffered.</summary>
    ValueTask FlushAsync(CancellationToken cancellationToken);
}

/// <summary>One inbound message.</summary>
/// <param name="Json">Its UTF-8 JSON text, owned by the receiver.</param>
/// <param name="TooLarge">The message exceeded the transport's limit and was skipped; <paramref name="Json"/> is empty.</param>
public readonly record struct TransportMessage(ReadOnlyMemory<byte> Json, bool TooLarge = false);
