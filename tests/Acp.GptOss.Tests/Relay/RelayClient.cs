using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Relay;

/// <summary>An ACP client over a WebSocket: one JSON-RPC message per text message, as the relay speaks it.</summary>
internal sealed class RelayClient(ClientWebSocket socket) : IAsyncDisposable
{
    private int _nextId;

    public ClientWebSocket Socket { get; } = socket;

    /// <summary>Connects to <c>/acp</c>; <paramref name="configure"/> sets headers or subprotocols (the bearer header by default).</summary>
    public static async Task<RelayClient> ConnectAsync(Uri relay, string token, Action<ClientWebSocketOptions>? configure = null)
    {
        var socket = new ClientWebSocket();
        if (configure is null)
        {
            socket.Options.SetRequestHeader("Authorization", $"Bearer {token}");
        }
        else
        {
            configure(socket.Options);
        }

        using var timeout = new CancellationTokenSource(AgentHarness.Timeout);
        await socket.ConnectAsync(AcpUri(relay), timeout.Token);
        return new RelayClient(socket);
    }

    public static Uri AcpUri(Uri relay) => new($"ws://{relay.Authority}/acp");

    public async Task SendAsync(string json)
    {
        using var timeout = new CancellationTokenSource(AgentHarness.Timeout);
        await Socket.SendAsync(Encoding.UTF8.GetBytes(json), WebSocketMessageType.Text, endOfMessage: true, timeout.Token);
    }

    public async Task<int> SendRequestAsync(string method, object parameters)
    {
        int id = Interlocked.Increment(ref _nextId);
        await SendAsync(AgentHarness.Request(id, method, parameters));
        return id;
    }

    /// <summary>The next message, or null when the relay closed the socket (its status is then on <see cref="Socket"/>).</summary>
    public async Task<JsonElement?> ReceiveAsync()
    {
        using var timeout = new CancellationTokenSource(AgentHarness.Timeout);
        var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        while (true)
        {
            WebSocketReceiveResult result = await Socket.ReceiveAsync(chunk, timeout.Token);
            if (result.MessageType == WebSocketMessageType.Close)
            {
                return null;
            }

            buffer.Write(chunk, 0, result.Count);
            if (result.EndOfMessage)
            {
                return JsonDocument.Parse(buffer.ToArray()).RootElement.Clone();
            }
        }
    }

    /// <summary>Waits for the response to <paramref name="id"/>; returns it and the notifications before it.</summary>
    public async Task<(JsonElement Response, List<JsonElement> Notifications)> ResponseAsync(int id)
    {
        var notifications = new List<JsonElement>();
        while (true)
        {
            JsonElement message = await ReceiveAsync() ?? throw new InvalidOperationException($"The relay closed the socket: {Socket.CloseStatus}.");
            if (message.TryGetProperty("method", out _))
            {
                notifications.Add(message);
            }
            else if (message.TryGetProperty("id", out JsonElement messageId) && messageId.ValueKind == JsonValueKind.Number && messageId.GetInt32() == id)
            {
                return (message, notifications);
            }
        }
    }

    public async Task<(JsonElement Response, List<JsonElement> Notifications)> RequestAsync(string method, object parameters) =>
        await ResponseAsync(await SendRequestAsync(method, parameters));

    public async Task<string> NewSessionAsync()
    {
        (JsonElement initialized, _) = await RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        Assert.Equal(1, initialized.GetProperty("result").GetProperty("protocolVersion").GetInt32());
        (JsonElement response, _) = await RequestAsync("session/new", new { cwd = "/workspace", mcpServers = Array.Empty<object>() });
        return response.GetProperty("result").GetProperty("sessionId").GetString()!;
    }

    public Task<(JsonElement Response, List<JsonElement> Notifications)> PromptAsync(string sessionId, string text) =>
        RequestAsync("session/prompt", new { sessionId, prompt = new[] { new { type = "text", text } } });

    /// <summary>Reads until the relay ends the socket: true if it sent a close frame, false if the connection was cut.</summary>
    public async Task<bool> DrainUntilClosedAsync()
    {
        using var timeout = new CancellationTokenSource(AgentHarness.Timeout);
        byte[] chunk = new byte[256 * 1024];
        try
        {
            while (true)
            {
                WebSocketReceiveResult result = await Socket.ReceiveAsync(chunk, timeout.Token);
                if (result.MessageType == WebSocketMessageType.Close)
                {
                    return true;
                }
            }
        }
        catch (WebSocketException)
        {
            return false;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Socket.State == WebSocketState.Open)
        {
            using var timeout = new CancellationTokenSource(AgentHarness.Timeout);
            try
            {
                await Socket.CloseAsync(WebSocketCloseStatus.NormalClosure, null, timeout.Token);
            }
            catch (WebSocketException)
            {
                // The relay went first.
            }
        }

        Socket.Dispose();
    }
}
