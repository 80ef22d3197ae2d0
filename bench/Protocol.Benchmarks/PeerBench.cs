using System.Diagnostics;
using System.Text.Json.Serialization;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging.Abstractions;
using Nerdbank.Streams;

namespace Protocol.Benchmarks;

internal sealed record Ping(int N);

internal sealed record Pong(int N);

[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(Ping))]
[JsonSerializable(typeof(Pong))]
internal sealed partial class BenchJsonContext : JsonSerializerContext;

/// <summary>One measurement of the peer pair.</summary>
/// <param name="MicrosecondsEach">Wall time per message.</param>
/// <param name="PerSecond">Messages per second.</param>
/// <param name="BytesEach">Managed bytes allocated per message, both peers.</param>
/// <param name="CpuMicrosecondsEach">The process's CPU time (every thread, both peers) per message: steadier than the
/// wall clock on a busy machine.</param>
internal readonly record struct PeerFigures(double MicrosecondsEach, double PerSecond, double BytesEach, double CpuMicrosecondsEach);

/// <summary>An agent and a client peer joined by an in-process duplex stream pair, both ends parsing.</summary>
internal interface IPeerPair : IAsyncDisposable
{
    /// <summary>A request from the client the agent answers at once.</summary>
    Task<Pong> PingAsync(int n);

    /// <summary>The agent sends a session/update.</summary>
    void Update(SessionNotification notification);

    /// <summary>Completes when the client has read <paramref name="count"/> updates in all.</summary>
    Task UpdatesReadAsync(long count);
}

internal static class PeerBench
{
    // A realistic streamed token: one agent_message_chunk of a few characters.
    private static readonly SessionNotification s_chunk = new("sess_3f1c2a9e", new AgentMessageChunk(new TextContent("Hello, wor")));

    public static async Task<PeerFigures> RoundTripsAsync(PeerKind kind, int count)
    {
        await using IPeerPair pair = PeerKinds.Create(kind);
        await pair.PingAsync(0);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        long started = Stopwatch.GetTimestamp();
        for (int i = 1; i <= count; i++)
        {
            await pair.PingAsync(i);
        }

        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        TimeSpan used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return new PeerFigures(elapsed.TotalMicroseconds / count, count / elapsed.TotalSeconds, (double)bytes / count, used.TotalMicroseconds / count);
    }

    public static async Task<PeerFigures> NotificationsAsync(PeerKind kind, int count)
    {
        await using IPeerPair pair = PeerKinds.Create(kind);
        pair.Update(s_chunk);
        await pair.UpdatesReadAsync(1);
        long allocated = GC.GetTotalAllocatedBytes(precise: true);
        TimeSpan cpu = Process.GetCurrentProcess().TotalProcessorTime;
        long started = Stopwatch.GetTimestamp();
        for (int i = 0; i < count; i++)
        {
            pair.Update(s_chunk);
        }

        await pair.UpdatesReadAsync(count + 1);
        TimeSpan elapsed = Stopwatch.GetElapsedTime(started);
        long bytes = GC.GetTotalAllocatedBytes(precise: true) - allocated;
        TimeSpan used = Process.GetCurrentProcess().TotalProcessorTime - cpu;
        return new PeerFigures(elapsed.TotalMicroseconds / count, count / elapsed.TotalSeconds, (double)bytes / count, used.TotalMicroseconds / count);
    }
}

/// <summary>The agent's side alone: its updates go to a reader that only counts lines.</summary>
internal sealed class SendOnlyPair : IPeerPair
{
    private readonly JsonRpcPeer _agent;
    private readonly Task _running;
    private readonly Task _draining;
    private readonly Counter _updates = new();
    private readonly Stream _agentSide;
    private readonly Stream _clientSide;

    public SendOnlyPair()
    {
        (_agentSide, _clientSide) = DuplexPair.Create();
        _agent = JsonRpcPeer.ForStreams(_agentSide, _agentSide, NullLogger.Instance);
        _running = _agent.RunAsync(CancellationToken.None);
        _draining = DrainAsync();
    }

    public Task<Pong> PingAsync(int n) => throw new NotSupportedException();

    public void Update(SessionNotification notification) =>
        _agent.Notify(AcpMethods.SessionUpdate, notification, AcpJsonContext.Default.SessionNotification);

    public Task UpdatesReadAsync(long count) => _updates.WaitAsync(count);

    public async ValueTask DisposeAsync()
    {
        // The agent's end of output ends the drain; then the agent's end of input ends the agent.
        await _agentSide.DisposeAsync();
        await _draining.WaitAsync(TimeSpan.FromSeconds(30));
        await _clientSide.DisposeAsync();
        await _running.WaitAsync(TimeSpan.FromSeconds(30));
        await _agent.DisposeAsync();
    }

    private async Task DrainAsync()
    {
        byte[] buffer = new byte[64 * 1024];
        try
        {
            int read;
            while ((read = await _clientSide.ReadAsync(buffer)) > 0)
            {
                foreach (byte b in buffer.AsSpan(0, read))
                {
                    if (b == (byte)'\n')
                    {
                        _updates.Add();
                    }
                }
            }
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException or IOException)
        {
            // The pair is being taken down.
        }
    }
}

/// <summary>The peer on StreamJsonRpc.</summary>
internal sealed class StreamJsonRpcPair : IPeerPair
{
    private readonly JsonRpcPeer _agent;
    private readonly JsonRpcPeer _client;
    private readonly Task _running;
    private readonly Counter _updates = new();
    private readonly Stream _agentSide;
    private readonly Stream _clientSide;

    public StreamJsonRpcPair()
    {
        (_agentSide, _clientSide) = DuplexPair.Create();
        Stream agentSide = _agentSide;
        Stream clientSide = _clientSide;
        _agent = JsonRpcPeer.ForStreams(agentSide, agentSide, NullLogger.Instance);
        _client = JsonRpcPeer.ForStreams(clientSide, clientSide, NullLogger.Instance);
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

/// <summary>Counts events and wakes a waiter at a target.</summary>
internal sealed class Counter
{
    private readonly Lock _gate = new();
    private long _count;
    private long _target = long.MaxValue;
    private TaskCompletionSource? _reached;

    public void Add()
    {
        lock (_gate)
        {
            if (++_count >= _target)
            {
                _reached?.TrySetResult();
                _reached = null;
                _target = long.MaxValue;
            }
        }
    }

    public Task WaitAsync(long count)
    {
        lock (_gate)
        {
            if (_count >= count)
            {
                return Task.CompletedTask;
            }

            _target = count;
            _reached = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return _reached.Task.WaitAsync(TimeSpan.FromMinutes(1));
        }
    }
}

/// <summary>The in-process stream pair both peers run on (Nerdbank.Streams).</summary>
internal static class DuplexPair
{
    private static (Stream A, Stream B) Pipes()
    {
        var aToB = new System.IO.Pipelines.Pipe();
        var bToA = new System.IO.Pipelines.Pipe();
        return (FullDuplexStream.Splice(bToA.Reader.AsStream(), aToB.Writer.AsStream()), FullDuplexStream.Splice(aToB.Reader.AsStream(), bToA.Writer.AsStream()));
    }

    public static (Stream A, Stream B) Create() => Environment.GetEnvironmentVariable("BENCH_PAIR") switch
    {
        "inline" => FullDuplexStream.CreatePair(new System.IO.Pipelines.PipeOptions(
            readerScheduler: System.IO.Pipelines.PipeScheduler.Inline, writerScheduler: System.IO.Pipelines.PipeScheduler.Inline, useSynchronizationContext: false)),
        "pipes" => Pipes(),
        _ => FullDuplexStream.CreatePair(),
    };
}
