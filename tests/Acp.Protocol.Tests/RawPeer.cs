using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.Protocol.Tests;

/// <summary>The other end of a connection under test: writes raw lines into it and reads what it writes.</summary>
internal sealed class RawPeer : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromSeconds(30);
    private readonly Pipe _toConnection = new();
    private readonly Pipe _fromConnection = new();
    private readonly StreamReader _reader;
    private readonly Task _running;

    public RawPeer(Action<JsonRpcPeer>? configure = null, int maxMessageBytes = 1024)
    {
        Connection = JsonRpcPeer.ForStreams(_toConnection.Reader.AsStream(), _fromConnection.Writer.AsStream(), NullLogger.Instance, maxMessageBytes);
        configure?.Invoke(Connection);
        _reader = new StreamReader(_fromConnection.Reader.AsStream(), Encoding.UTF8);
        _running = Connection.RunAsync(CancellationToken.None);
    }

    public JsonRpcPeer Connection { get; }

    public Task Running => _running;

    public async Task SendAsync(string text)
    {
        await _toConnection.Writer.WriteAsync(Encoding.UTF8.GetBytes(text));
    }

    public Task SendLineAsync(string line) => SendAsync(line + "\n");

    /// <summary>Writes raw bytes, whatever they are.</summary>
    public async Task SendBytesAsync(byte[] bytes) => await _toConnection.Writer.WriteAsync(bytes);

    /// <summary>The next line the connection wrote, parsed.</summary>
    public async Task<JsonElement> ReceiveAsync()
    {
        string? line = await _reader.ReadLineAsync().WaitAsync(s_timeout);
        Assert.NotNull(line);
        using JsonDocument document = JsonDocument.Parse(line);
        return document.RootElement.Clone();
    }

    /// <summary>Ends the input, as a client closing stdin.</summary>
    public async Task CloseInputAsync() => await _toConnection.Writer.CompleteAsync();

    /// <summary>Whatever the connection still writes, until it closes its output.</summary>
    public async Task<List<JsonElement>> ReceiveRestAsync()
    {
        var lines = new List<JsonElement>();
        await _running.WaitAsync(s_timeout);
        await _fromConnection.Writer.CompleteAsync();
        while (await _reader.ReadLineAsync().WaitAsync(s_timeout) is { } line)
        {
            using JsonDocument document = JsonDocument.Parse(line);
            lines.Add(document.RootElement.Clone());
        }

        return lines;
    }

    public async ValueTask DisposeAsync()
    {
        await _toConnection.Writer.CompleteAsync();
        await _running.WaitAsync(s_timeout);
        await Connection.DisposeAsync();
    }
}
