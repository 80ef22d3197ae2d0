namespace Protocol.Benchmarks;

internal enum PeerKind
{
    StreamJsonRpc,

    /// <summary>Updates only, read back by a line counter: what the agent's side costs.</summary>
    SendOnly,
}

internal static class PeerKinds
{
    // The hand-written peer StreamJsonRpc replaced was measured beside it until its deletion: bench/results/.
    public static IReadOnlyList<PeerKind> All { get; } = [PeerKind.StreamJsonRpc, PeerKind.SendOnly];

    public static IPeerPair Create(PeerKind kind) => kind switch
    {
        PeerKind.StreamJsonRpc => new StreamJsonRpcPair(),
        PeerKind.SendOnly => new SendOnlyPair(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
