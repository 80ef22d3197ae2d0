using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Protocol.Benchmarks;

internal enum PeerKind
{
    Old,
    New,
}

internal static class PeerKinds
{
    public static IReadOnlyList<PeerKind> All { get; } = [PeerKind.Old, PeerKind.New];

    public static IPeerPair Create(PeerKind kind) => kind == PeerKind.Old ? new HandWrittenPair() : new StreamJsonRpcPair();
}

/// <summary>The hand-written peer StreamJsonRpc replaces, measured beside it before its deletion.</summary>
internal sealed class HandWrittenPair : IPeerPair
{
    private readonly JsonRpcConnection _agent;
    private readonly JsonRpcConnection _client;
    private readonly Task _running;
    private readonly Counter _updates = new();
    private readonly Stream _agentSide;
    private readonly Stream _clientSide;

    public HandWrittenPair()
    {
        (_agentSide, _clientSide) = DuplexPair.Create();
        Stream agentSide = _agentSide;
        Stream clientSide = _clientSide;
        _agent = new JsonRpcConnection(new NdjsonTransport(agentSide, agentSide), NullLogger.Instance);
        _client = new JsonRpcConnection(new NdjsonTransport(clientSide, clientSide), NullLogger.Instance);
        _agent.AddRequestHandler("ping", BenchJsonContext.Default.Ping, BenchJsonContext.Default.Pong, static (p, _, _) => ValueTask.FromResult(new Pong(p.N)));
        _client.AddNotificationHandler(AcpMethods.SessionUpdate, AcpJsonContext.Default.SessionNotification, (_, _) => _updates.Add());
        _running = Task.WhenAll(_agent.RunAsync(CancellationToken.None), _client.RunAsync(CancellationToken.None));
    }

    public Task<Pong> PingAsync(int n) =>
        _client.RequestAsync("ping", new Ping(n), BenchJsonContext.Default.Ping, BenchJsonContext.Default.Pong, CancellationToken.None);

    public void Update(SessionNotification notification) =>
        _agent.Notify(AcpMethods.SessionUpdate, notification, AcpJsonContext.Default.SessionNotification);

    public Task UpdatesReadAsync(long count) => _updates.WaitAsync(count);

    public async ValueTask DisposeAsync()
    {
        // Each side's end of input ends the other's loop.
        await _agentSide.DisposeAsync();
        await _clientSide.DisposeAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(30));
        await _agent.DisposeAsync();
        await _client.DisposeAsync();
    }
}
