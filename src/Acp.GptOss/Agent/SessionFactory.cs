using Acp.GptOss.Routing;
using Acp.GptOss.Sessions;
using Acp.GptOss.Tools;
using Acp.GptOss.Tools.Mcp;
using Acp.Protocol;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>Makes the agent's sessions: each with its id, its tools and what all sessions share.</summary>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class SessionFactory
{
    private readonly IAcpClient _client;
    private readonly AgentOptions _options;
    private readonly ILoggerFactory _loggers;
    private readonly SessionServices _services;
    private readonly ILogger _storeLogger;

    public SessionFactory(AgentEngines engines, IAcpClient client, AgentOptions options, ILoggerFactory loggers)
    {
        _client = client;
        _options = options;
        _loggers = loggers;
        _storeLogger = loggers.CreateLogger("Acp.GptOss.Sessions");
        // Routing is work (a token count, the signals, a log line and a file write) done only when there is a choice.
        TurnRouter? router = engines.Fast is null
            ? null
            : new TurnRouter(engines.GptOss, options.RouteThreshold, new RouteDecisionLog(options.StateDirectory, loggers.CreateLogger("Acp.GptOss.Routing")));
        _services = new SessionServices(engines, client, options, router, loggers.CreateLogger("Acp.GptOss.Agent"));
        Store = options.StateDirectory is null
            ? null
            : new SessionStore(Path.Combine(options.StateDirectory, "sessions"), _storeLogger, options.SessionListPageSize);
    }

    /// <summary>Where sessions are stored; null when they are not (no state folder: a replay, say).</summary>
    public SessionStore? Store { get; }

    /// <summary>A new session in <paramref name="cwd"/>; its MCP servers start now, in the background, and the first turn waits for them.</summary>
    /// <param name="cwd">The session's working directory, an absolute path.</param>
    /// <param name="additionalDirectories">Its further roots, as the client gave them.</param>
    /// <param name="roots">Where its tools may act.</param>
    /// <param name="mcpServers">The MCP servers the client gave.</param>
    /// <param name="clientCapabilities">What the editor can do for the tools (fs, terminals), from initialize.</param>
    /// <param name="stored">A stored session's id and open journal, for load and resume; null for a new session, whose journal starts here.</param>
    public AgentSession Create(
        string cwd, IReadOnlyList<string>? additionalDirectories, WorkspaceRoots roots, IReadOnlyList<McpServer> mcpServers, ClientCapabilities? clientCapabilities, (string Id, SessionJournal Journal)? stored = null)
    {
        string id = stored?.Id ?? _options.NewSessionId();
        SessionJournal? journal = stored?.Journal ?? StartJournal(id, cwd, additionalDirectories);
        StoredSession? kept = journal is null ? null : new StoredSession(journal, Store!, _options.SessionStateBudgetBytes, _options.Time, _storeLogger);
        var tools = new SessionTools(
            id, roots, _client, clientCapabilities, McpToolbox.Start(AllowedServers(id, mcpServers), cwd, _loggers),
            _options.MaxCommandTimeout, _options.LocalTools, _options.Time);
        return new AgentSession(id, cwd, tools, _services, kept) { ClientCapabilities = clientCapabilities };
    }

    // A state folder that cannot be written costs the session its afterlife, not its use.
    private SessionJournal? StartJournal(string id, string cwd, IReadOnlyList<string>? additionalDirectories)
    {
        try
        {
            return Store?.Create(id, cwd, additionalDirectories, _options.Time.GetUtcNow());
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogNotStored(_services.Logger, id, e.Message);
            return null;
        }
    }

    // A stdio server is a command run on this machine: where tools may not act locally (a relay's remote clients),
    // neither may they start one.
    private List<McpServer> AllowedServers(string sessionId, IReadOnlyList<McpServer> servers)
    {
        var allowed = new List<McpServer>(servers.Count);
        foreach (McpServer server in servers)
        {
            if (server.Type is null && !_options.LocalTools)
            {
                LogStdioServerRefused(_services.Logger, sessionId, server.Name);
            }
            else
            {
                allowed.Add(server);
            }
        }

        return allowed;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId} is not stored (it ends with the agent): {Reason}")]
    private static partial void LogNotStored(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the stdio MCP server {Server} is not started: local tools are off (relay: --local-tools)")]
    private static partial void LogStdioServerRefused(ILogger logger, string sessionId, string server);
}
