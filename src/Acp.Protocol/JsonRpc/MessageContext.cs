namespace Acp.Protocol.JsonRpc;

/// <summary>Where an inbound message stands.</summary>
/// <param name="Id">The request's id; null for a notification.</param>
/// <param name="Sequence">The message's place in arrival order, starting at 1. Handlers run concurrently, so this is
/// how one tells whether a notification (a cancel, say) arrived before or after a request.</param>
public readonly record struct MessageContext(RequestId? Id, long Sequence);
