namespace Acp.Protocol;

/// <summary><c>session/list</c> params.</summary>
public sealed record ListSessionsRequest
{
    /// <summary>Only the sessions whose cwd is this absolute path; absent for all.</summary>
    public string? Cwd { get; init; }

    /// <summary>The <see cref="ListSessionsResponse.NextCursor"/> of the previous page; absent for the first.</summary>
    public string? Cursor { get; init; }
}

/// <summary><c>session/list</c> result: one page of sessions.</summary>
/// <param name="Sessions">The page.</param>
public sealed record ListSessionsResponse(IReadOnlyList<SessionInfo> Sessions)
{
    /// <summary>An opaque token for the next page; absent on the last.</summary>
    public string? NextCursor { get; init; }
}

/// <summary>A stored session, as <c>session/list</c> shows it.</summary>
/// <param name="SessionId">Its id.</param>
/// <param name="Cwd">Its root.</param>
public sealed record SessionInfo(string SessionId, string Cwd)
{
    /// <summary>Its further workspace roots.</summary>
    public IReadOnlyList<string>? AdditionalDirectories { get; init; }

    /// <summary>A short name for people.</summary>
    public string? Title { get; init; }

    /// <summary>When it last changed: ISO 8601.</summary>
    public string? UpdatedAt { get; init; }
}

/// <summary><c>session/load</c> params: reopen a stored session and replay its conversation.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Cwd">Its root from now on.</param>
/// <param name="McpServers">The MCP servers to connect to from now on.</param>
public sealed record LoadSessionRequest(string SessionId, string Cwd, IReadOnlyList<McpServer> McpServers)
{
    /// <summary>Its further workspace roots from now on.</summary>
    public IReadOnlyList<string>? AdditionalDirectories { get; init; }
}

/// <summary><c>session/load</c> result.</summary>
public sealed record LoadSessionResponse
{
    /// <summary>The session's modes and the one in force.</summary>
    public SessionModeState? Modes { get; init; }

    /// <summary>The session's config options and their current values.</summary>
    public IReadOnlyList<SessionConfigOption>? ConfigOptions { get; init; }
}

/// <summary><c>session/resume</c> params: reopen a stored session without replaying it.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Cwd">Its root from now on.</param>
public sealed record ResumeSessionRequest(string SessionId, string Cwd)
{
    /// <summary>The MCP servers to connect to from now on.</summary>
    public IReadOnlyList<McpServer>? McpServers { get; init; }

    /// <summary>Its further workspace roots from now on.</summary>
    public IReadOnlyList<string>? AdditionalDirectories { get; init; }
}

/// <summary><c>session/resume</c> result.</summary>
public sealed record ResumeSessionResponse
{
    /// <summary>The session's modes and the one in force.</summary>
    public SessionModeState? Modes { get; init; }

    /// <summary>The session's config options and their current values.</summary>
    public IReadOnlyList<SessionConfigOption>? ConfigOptions { get; init; }
}

/// <summary><c>session/close</c> params: free a session's resources; it stays stored.</summary>
/// <param name="SessionId">The session.</param>
public sealed record CloseSessionRequest(string SessionId);

/// <summary><c>session/close</c> result: empty.</summary>
public sealed record CloseSessionResponse;

/// <summary><c>session/delete</c> params: remove a stored session.</summary>
/// <param name="SessionId">The session.</param>
public sealed record DeleteSessionRequest(string SessionId);

/// <summary><c>session/delete</c> result: empty.</summary>
public sealed record DeleteSessionResponse;
