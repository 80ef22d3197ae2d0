using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.Protocol;

/// <summary><c>session/new</c> params.</summary>
/// <param name="Cwd">The session's root: an absolute path.</param>
/// <param name="McpServers">MCP servers the agent should connect to.</param>
public sealed record NewSessionRequest(string Cwd, IReadOnlyList<McpServer> McpServers)
{
    /// <summary>More workspace roots (absolute paths), when the agent advertises <c>sessionCapabilities.additionalDirectories</c>.</summary>
    public IReadOnlyList<string>? AdditionalDirectories { get; init; }
}

/// <summary>An MCP server to connect to: stdio (command) or HTTP/SSE (url).</summary>
/// <param name="Name">Its name.</param>
public sealed record McpServer(string Name)
{
    /// <summary><c>http</c> or <c>sse</c>; absent for stdio.</summary>
    public string? Type { get; init; }

    /// <summary>The command of a stdio server.</summary>
    public string? Command { get; init; }

    /// <summary>The arguments of a stdio server.</summary>
    public IReadOnlyList<string>? Args { get; init; }

    /// <summary>Environment variables of a stdio server.</summary>
    public IReadOnlyList<NameValue>? Env { get; init; }

    /// <summary>The URL of an HTTP or SSE server.</summary>
    public string? Url { get; init; }

    /// <summary>HTTP headers sent to an HTTP or SSE server.</summary>
    public IReadOnlyList<NameValue>? Headers { get; init; }
}

/// <summary>An environment variable or an HTTP header: ACP sends both as lists of pairs, not maps.</summary>
/// <param name="Name">Its name.</param>
/// <param name="Value">Its value.</param>
public sealed record NameValue(string Name, string Value);

/// <summary><c>session/new</c> result.</summary>
/// <param name="SessionId">The new session's id.</param>
public sealed record NewSessionResponse(string SessionId)
{
    /// <summary>The session's modes and the one in force.</summary>
    public SessionModeState? Modes { get; init; }

    /// <summary>The session's config options and their current values.</summary>
    public IReadOnlyList<SessionConfigOption>? ConfigOptions { get; init; }
}

/// <summary>A session's modes and the one in force.</summary>
/// <param name="CurrentModeId">The mode in force.</param>
/// <param name="AvailableModes">Every mode.</param>
public sealed record SessionModeState(string CurrentModeId, IReadOnlyList<SessionMode> AvailableModes);

/// <summary>A mode a session can be in.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Name">Its display name.</param>
public sealed record SessionMode(string Id, string Name)
{
    /// <summary>A longer explanation.</summary>
    public string? Description { get; init; }
}

/// <summary><c>session/set_mode</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="ModeId">One of the session's <see cref="SessionModeState.AvailableModes"/>.</param>
public sealed record SetSessionModeRequest(string SessionId, string ModeId);

/// <summary><c>session/set_mode</c> result: empty.</summary>
public sealed record SetSessionModeResponse;

/// <summary><c>session/cancel</c> params (a notification).</summary>
/// <param name="SessionId">The session whose turn to cancel.</param>
public sealed record CancelNotification(string SessionId);

/// <summary><c>session/set_config_option</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="ConfigId">The option's id.</param>
/// <param name="Value">The new value: a string for select options, a boolean for boolean ones.</param>
public sealed record SetSessionConfigOptionRequest(string SessionId, string ConfigId, JsonElement Value)
{
    /// <summary><c>boolean</c> for a boolean option; absent for select options.</summary>
    public string? Type { get; init; }
}

/// <summary><c>session/set_config_option</c> result: every option with its current value.</summary>
/// <param name="ConfigOptions">The options.</param>
public sealed record SetSessionConfigOptionResponse(IReadOnlyList<SessionConfigOption> ConfigOptions);

/// <summary>A select config option.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Name">Its display name.</param>
/// <param name="CurrentValue">The value in force.</param>
/// <param name="Options">The values it may take.</param>
public sealed record SessionConfigOption(string Id, string Name, string CurrentValue, IReadOnlyList<SessionConfigSelectOption> Options)
{
    /// <summary>Always <c>select</c>.</summary>
    [JsonPropertyOrder(-1)]
    public string Type { get; init; } = "select";

    /// <summary>What it is for: <c>thought_level</c>, <c>mode</c>, <c>model</c>, ...</summary>
    public string? Category { get; init; }

    /// <summary>A longer explanation.</summary>
    public string? Description { get; init; }
}

/// <summary>One value of a select option.</summary>
/// <param name="Value">The value.</param>
/// <param name="Name">Its display name.</param>
public sealed record SessionConfigSelectOption(string Value, string Name)
{
    /// <summary>A longer explanation.</summary>
    public string? Description { get; init; }
}

/// <summary>The <c>data</c> of a -32002 error about a session.</summary>
/// <param name="SessionId">The unknown session.</param>
public sealed record SessionErrorData(string SessionId);
