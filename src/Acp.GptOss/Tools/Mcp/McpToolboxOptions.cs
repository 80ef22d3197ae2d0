namespace Acp.GptOss.Tools.Mcp;

/// <summary>How an <see cref="McpToolbox"/> connects to its servers.</summary>
internal sealed record McpToolboxOptions
{
    /// <summary>How long a server has to start, initialize and list its tools.</summary>
    public TimeSpan ConnectTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock of <see cref="ConnectTimeout"/>.</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
