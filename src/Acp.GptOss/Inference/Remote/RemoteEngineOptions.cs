namespace Acp.GptOss.Inference.Remote;

/// <summary>Where the remote engine is and how to talk to it.</summary>
internal sealed record RemoteEngineOptions
{
    /// <summary>The server's base address, such as <c>http://gpu-box:8080/</c>.</summary>
    public required Uri Endpoint { get; init; }

    /// <summary>Sent as <c>Authorization: Bearer</c>, or null for none.</summary>
    public string? ApiKey { get; init; }

    /// <summary>The model to ask for; null takes the only (or first) one the server lists.</summary>
    public string? Model { get; init; }

    /// <summary>The server's kind, or null to detect it from what the server answers.</summary>
    public RemoteKind? Kind { get; init; }

    /// <summary>The context size to assume when the server does not say; the server's own figure wins.</summary>
    public int ContextSize { get; init; } = 8192;

    /// <summary>A request that receives no byte for this long fails (a stalled server, a dead link).</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>The longest to wait for a connection.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>Sampling temperature unless a request says otherwise.</summary>
    public float Temperature { get; init; } = 1.0f;

    /// <summary>Nucleus sampling unless a request says otherwise.</summary>
    public float TopP { get; init; } = 1.0f;

    /// <summary>The sampling seed unless a request says otherwise; null for the server's choice.</summary>
    public uint? Seed { get; init; }
}
