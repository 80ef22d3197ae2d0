using System.Net;
using System.Net.WebSockets;
using Acp.GptOss.Agent;
using Acp.GptOss.Api;
using Acp.Protocol.JsonRpc;

namespace Acp.GptOss.Relay;

/// <summary>How a <see cref="RelayServer"/> listens and whom it lets in.</summary>
internal sealed record RelayOptions
{
    public const int DefaultPort = 8765;

    public required IPEndPoint Listen { get; init; }

    public required RelayToken Token { get; init; }

    /// <summary>Browser origins allowed besides the relay's own (<c>scheme://host:port</c>).</summary>
    public IReadOnlyList<string> AllowedOrigins { get; init; } = [];

    public AgentOptions Agent { get; init; } = new();

    /// <summary>The OpenAI-compatible API's defaults and limits.</summary>
    public ApiOptions Api { get; init; } = new();

    /// <summary>Limits of each connection; its idle timeout included.</summary>
    public WebSocketPeerOptions Transport { get; init; } = new() { IdleTimeout = TimeSpan.FromMinutes(30) };

    public TimeSpan KeepAliveInterval { get; init; } = TimeSpan.FromSeconds(20);

    /// <summary>Refused tokens an address may send per <see cref="AuthFailureWindow"/> before it is refused with 429 for as long.</summary>
    public int MaxAuthFailures { get; init; } = 10;

    public TimeSpan AuthFailureWindow { get; init; } = TimeSpan.FromMinutes(1);

    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Called as each connection ends, with the close status the relay chose (null when the client closed or vanished).</summary>
    public Action<WebSocketCloseStatus?>? ConnectionEnded { get; init; }

    /// <summary>Parses <c>host:port</c> (an IP address or <c>localhost</c>; <c>[::1]:port</c> for IPv6).</summary>
    public static bool TryParseListen(string text, bool allowRemote, out IPEndPoint? endPoint, out string? error)
    {
        endPoint = null;
        error = null;
        int colon = text.LastIndexOf(':');
        if (colon > 0 && text[..colon].Equals("localhost", StringComparison.OrdinalIgnoreCase)
            && int.TryParse(text[(colon + 1)..], out int localPort) && localPort is >= 0 and <= IPEndPoint.MaxPort)
        {
            endPoint = new IPEndPoint(IPAddress.Loopback, localPort);
        }
        else if (!IPEndPoint.TryParse(text, out endPoint) || colon < 0 || text.EndsWith(']'))
        {
            endPoint = null;
            error = $"--listen takes ADDRESS:PORT, such as 127.0.0.1:{DefaultPort}, not \"{text}\".";
            return false;
        }

        if (!IPAddress.IsLoopback(endPoint!.Address) && !allowRemote)
        {
            error = $"--listen {text} would accept connections from other machines: add --allow-remote if that is what you want, "
                + $"or listen on 127.0.0.1.";
            endPoint = null;
            return false;
        }

        return true;
    }
}
