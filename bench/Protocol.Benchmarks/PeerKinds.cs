namespace Protocol.Benchmarks;

internal enum PeerKind
{
    StreamJsonRpc,
}

internal static class PeerKinds
{
    // The hand-written peer StreamJsonRpc replaced was measured beside it until its deletion: bench/results/.
    public static IReadOnlyList<PeerKind> All { get; } = [PeerKind.StreamJsonRpc];

    public static IPeerPair Create(PeerKind kind) => kind switch
    {
        PeerKind.StreamJsonRpc => new StreamJsonRpcPair(),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
