using System.Globalization;
using System.Text.Json;
using Acp.GptOss.Hosting;
using Microsoft.Extensions.Logging;
using ModelContextProtocol;
using ModelContextProtocol.Client;
using ModelContextProtocol.Protocol;

namespace Acp.GptOss.Tools.Mcp;

/// <summary>
/// The MCP servers of one session: started when the session is made, their tools offered to the model as functions,
/// called for it, stopped with the session.
/// </summary>
/// <remarks>
/// A server that cannot be started or reached costs only its own tools: the failure is logged and the session goes on
/// without them. Thread-safe: calls may run at once, on one server or several, and with <see cref="DisposeAsync"/>.
/// </remarks>
internal sealed partial class McpToolbox : IAsyncDisposable
{
    private static long s_lastCallId;

    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stopping = new();
    private readonly Task<Connection?>[] _connections;
    private readonly Task<Catalog> _catalog;
    private readonly Lazy<Task> _disposal;

    private McpToolbox(IReadOnlyList<Acp.Protocol.McpServer> servers, string cwd, ILoggerFactory loggers, McpToolboxOptions options)
    {
        _logger = loggers.CreateLogger("Acp.GptOss.Mcp");
        _time = options.TimeProvider;
        var clientLoggers = new McpClientLoggers(loggers);
        // Task.Run: starting a process or resolving a host name may block a moment, and Start must return at once.
        _connections = [.. servers.Select(server => Task.Run(() => ConnectAsync(server, cwd, clientLoggers, options.ConnectTimeout)))];
        _catalog = BuildCatalogAsync();
        _disposal = new Lazy<Task>(DisposeCoreAsync);
    }

    /// <summary>
    /// Starts connecting to every server at once, in the background, and returns at once. A server that fails to
    /// start or connect is logged (a warning with its name and why) and its tools are missing; it never throws.
    /// </summary>
    /// <param name="servers">The servers from <c>session/new</c>; an empty list gives an empty toolbox.</param>
    /// <param name="cwd">The session's working directory: that of the stdio servers.</param>
    /// <param name="loggers">For our own log lines, and, at Debug, the servers' stderr and the MCP client's own.</param>
    public static McpToolbox Start(IReadOnlyList<Acp.Protocol.McpServer> servers, string cwd, ILoggerFactory loggers) =>
        Start(servers, cwd, loggers, new McpToolboxOptions());

    /// <summary>As <see cref="Start(IReadOnlyList{Acp.Protocol.McpServer}, string, ILoggerFactory)"/>, with other <paramref name="options"/>.</summary>
    /// <param name="servers">The servers from <c>session/new</c>.</param>
    /// <param name="cwd">The session's working directory.</param>
    /// <param name="loggers">For every log line.</param>
    /// <param name="options">The connect timeout and its clock.</param>
    public static McpToolbox Start(IReadOnlyList<Acp.Protocol.McpServer> servers, string cwd, ILoggerFactory loggers, McpToolboxOptions options)
    {
        ArgumentNullException.ThrowIfNull(servers);
        ArgumentException.ThrowIfNullOrEmpty(cwd);
        ArgumentNullException.ThrowIfNull(loggers);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.ConnectTimeout, TimeSpan.Zero);
        return new McpToolbox(servers, cwd, loggers, options);
    }

    /// <summary>
    /// The functions of every server, in the order the servers were given, each server's in the order it listed them;
    /// once every server has connected and listed its tools, failed, or run out of time. Computed once.
    /// </summary>
    /// <param name="cancellationToken">Stops the wait, not the connecting.</param>
    public async Task<IReadOnlyList<McpFunction>> GetFunctionsAsync(CancellationToken cancellationToken) =>
        (await _catalog.WaitAsync(cancellationToken).ConfigureAwait(false)).Functions;

    /// <summary>
    /// Calls <paramref name="function"/>'s tool on its server. A server that is gone or refuses the call gives a result
    /// with <see cref="McpCallResult.IsError"/> set and a message for the model, not an exception.
    /// </summary>
    /// <param name="function">One of <see cref="GetFunctionsAsync"/>'s functions.</param>
    /// <param name="arguments">A JSON object: its properties are the tool's arguments.</param>
    /// <param name="cancellationToken">
    /// Cancels the request: the server is told (notifications/cancelled) and <see cref="OperationCanceledException"/> thrown.
    /// </param>
    public async Task<McpCallResult> CallAsync(McpFunction function, JsonElement arguments, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(function);
        cancellationToken.ThrowIfCancellationRequested();
        Dictionary<string, JsonElement> argumentMap;
        switch (arguments.ValueKind)
        {
            case JsonValueKind.Object:
                // Cloned: the caller's document may be disposed while the request is still being written.
                argumentMap = arguments.EnumerateObject().ToDictionary(p => p.Name, p => p.Value.Clone(), StringComparer.Ordinal);
                break;
            case JsonValueKind.Undefined or JsonValueKind.Null:
                argumentMap = [];
                break;
            default:
                return new McpCallResult($"The arguments of {function.Name} must be a JSON object, not {Kind(arguments.ValueKind)}.", IsError: true);
        }

        Catalog catalog = await _catalog.WaitAsync(cancellationToken).ConfigureAwait(false);
        if (_disposal.IsValueCreated)
        {
            return new McpCallResult($"The MCP server '{function.Server}' was stopped: the session is closing.", IsError: true);
        }

        if (catalog.Find(function) is not { } connection)
        {
            return new McpCallResult($"The MCP server '{function.Server}' is not connected, so its tool '{function.Tool}' cannot be called.", IsError: true);
        }

        // Our own request id, so that a cancellation can name the request (see TellCancelledAsync); a string never
        // collides with the client's own ids, which are numbers.
        var id = new RequestId(string.Create(CultureInfo.InvariantCulture, $"acp-gptoss-{Interlocked.Increment(ref s_lastCallId)}"));
        var abandon = new CancellationTokenSource();
        Task<CallToolResult> call;
        try
        {
            call = connection.Client.SendRequestAsync<CallToolRequestParams, CallToolResult>(
                RequestMethods.ToolsCall,
                new CallToolRequestParams { Name = function.Tool, Arguments = argumentMap },
                McpJsonUtilities.DefaultOptions,
                id,
                abandon.Token).AsTask();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            abandon.Dispose();
            return Failed(function, ex);
        }

        try
        {
            CallToolResult result = await call.WaitAsync(cancellationToken).ConfigureAwait(false);
            abandon.Dispose();
            return new McpCallResult(McpResultText.From(result), result.IsError == true);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            _ = TellCancelledAsync(connection, id, call, abandon);
            throw;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            abandon.Dispose();
            return Failed(function, ex);
        }
    }

    /// <summary>
    /// Stops every server: stdio processes end (stdin closed, then killed after the MCP client's grace period), HTTP
    /// sessions are closed. Cancels connects still under way. Safe to call more than once.
    /// </summary>
    public ValueTask DisposeAsync() => new(_disposal.Value);

    private async Task DisposeCoreAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        // Every connect ends soon once cancelled, and one that got through is closed below with the others.
        Connection?[] connections = await Task.WhenAll(_connections).ConfigureAwait(false);
        // At once, not in turn: each stdio server may take the client's grace period to exit.
        await Task.WhenAll(connections.OfType<Connection>().Select(c => CloseAsync(c.Name, c.Client))).ConfigureAwait(false);
        _stopping.Dispose();
    }

    private McpCallResult Failed(McpFunction function, Exception exception)
    {
        string why = Describe(exception);
        LogCallFailed(_logger, function.Tool, function.Server, why);
        return exception is McpProtocolException protocol
            // A JSON-RPC error: the server is there but refused this call (an unknown tool, invalid arguments).
            ? new McpCallResult($"The MCP server '{function.Server}' refused the call of '{function.Tool}': {protocol.Message} (error {(int)protocol.ErrorCode}).", IsError: true)
            // The server died, its connection broke, or it answered nonsense: whatever it is, the turn goes on.
            : new McpCallResult($"The call of '{function.Tool}' on the MCP server '{function.Server}' failed: {why}", IsError: true);
    }

    /// <summary>
    /// Sends notifications/cancelled for a call its caller gave up on, then stops waiting for the answer. Not left to
    /// the MCP client: it sends one from a registration on the request's token, but also awaits the answer on that
    /// token, and that await's own registration runs first (last registered, first run), ends the request and disposes
    /// the client's registration before it runs, so the server never hears of it.
    /// </summary>
    private async Task TellCancelledAsync(Connection connection, RequestId id, Task call, CancellationTokenSource abandon)
    {
        try
        {
            // Through the client, which then drops the request: an answer that still comes is ignored.
            await connection.Client.SendNotificationAsync(
                NotificationMethods.CancelledNotification,
                new CancelledNotificationParams { RequestId = id, Reason = "The user cancelled the turn." },
                McpJsonUtilities.DefaultOptions,
                CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The server is gone or going: there is no request left to cancel.
            LogCancelNotSent(_logger, connection.Name, ex);
        }

        try
        {
            // After the notification, which thus finds the request still pending in the client and drops it there;
            // over Streamable HTTP this also ends the POST still waiting for the answer.
            await abandon.CancelAsync().ConfigureAwait(false);
            await call.ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Cancelled, or failed with the connection: either way, nobody waits for it now.
        }
        finally
        {
            abandon.Dispose();
        }
    }

    private async Task<Connection?> ConnectAsync(Acp.Protocol.McpServer server, string cwd, McpClientLoggers clientLoggers, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout, _time);
        using var connecting = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token, deadline.Token);
        McpClient? client = null;
        try
        {
            IClientTransport transport = CreateTransport(server, cwd, clientLoggers, timeout);
            var options = new McpClientOptions
            {
                ClientInfo = new Implementation { Name = "acp-gptoss", Version = AppVersion.Current },
                InitializationTimeout = timeout,
            };
            client = await McpClient.CreateAsync(transport, options, clientLoggers, connecting.Token).ConfigureAwait(false);
            IList<McpClientTool> tools = await client.ListToolsAsync(cancellationToken: connecting.Token).ConfigureAwait(false);
            LogServerConnected(_logger, server.Name, tools.Count);
            return new Connection(server.Name, client, [.. tools.Select(t => t.ProtocolTool)]);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (client is not null)
            {
                await CloseAsync(server.Name, client).ConfigureAwait(false);
            }

            if (_stopping.IsCancellationRequested)
            {
                // The session closed before the server was ready: nothing failed.
                return null;
            }

            bool timedOut = ex is TimeoutException || (ex is OperationCanceledException && connecting.IsCancellationRequested);
            string why = timedOut
                ? string.Create(CultureInfo.InvariantCulture, $"it did not connect and list its tools within {timeout.TotalSeconds:0.###} s")
                : Describe(ex);
            LogServerFailed(_logger, server.Name, why);
            return null;
        }
    }

    private IClientTransport CreateTransport(Acp.Protocol.McpServer server, string cwd, McpClientLoggers clientLoggers, TimeSpan timeout)
    {
        if (server.Type is null || string.Equals(server.Type, "stdio", StringComparison.OrdinalIgnoreCase))
        {
            if (string.IsNullOrWhiteSpace(server.Command))
            {
                throw new InvalidOperationException("it is a stdio server without a command");
            }

            string name = server.Name;
            // A relative path (./bin/server) is taken from the session's folder, as the user wrote it there, not from
            // ours (which is what starting the process would do); a bare name is looked up on PATH.
            string command = server.Command.IndexOfAny(['/', Path.DirectorySeparatorChar]) >= 0 && !Path.IsPathRooted(server.Command)
                ? Path.GetFullPath(server.Command, cwd)
                : server.Command;
            var options = new StdioClientTransportOptions
            {
                Name = name,
                Command = command,
                Arguments = [.. server.Args ?? []],
                WorkingDirectory = cwd,
                // Added on top of ours: a server needs PATH, HOME and the like as much as what the client sets.
                InheritEnvironmentVariables = true,
                EnvironmentVariables = (server.Env ?? []).ToDictionary(e => e.Name, e => (string?)e.Value, StringComparer.Ordinal),
                // Never our stderr as it is, never stdout (that is ACP): through the log, where --log-level debug shows it.
                StandardErrorLines = line => LogServerStderr(_logger, name, line),
            };
            return new StdioClientTransport(options, clientLoggers);
        }

        HttpTransportMode mode = server.Type.ToUpperInvariant() switch
        {
            "HTTP" => HttpTransportMode.StreamableHttp,
            "SSE" => HttpTransportMode.Sse,
            _ => throw new InvalidOperationException($"its type '{server.Type}' is unknown (stdio, http and sse are)"),
        };
        if (string.IsNullOrWhiteSpace(server.Url))
        {
            throw new InvalidOperationException($"it is an {server.Type} server without a url");
        }

        if (!Uri.TryCreate(server.Url, UriKind.Absolute, out Uri? endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
        {
            throw new InvalidOperationException($"its url '{server.Url}' is not an absolute http or https URL");
        }

        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (Acp.Protocol.NameValue header in server.Headers ?? [])
        {
            headers[header.Name] = header.Value;
        }

        return new HttpClientTransport(
            new HttpClientTransportOptions
            {
                Name = server.Name,
                Endpoint = endpoint,
                TransportMode = mode,
                AdditionalHeaders = headers,
                ConnectionTimeout = timeout,
            },
            clientLoggers);
    }

    private async Task<Catalog> BuildCatalogAsync()
    {
        // ConnectAsync never throws: a failed server is a null here.
        Connection?[] connections = await Task.WhenAll(_connections).ConfigureAwait(false);
        var names = new McpNames();
        var functions = new List<McpFunction>();
        var owners = new Dictionary<string, Connection>(StringComparer.Ordinal);
        foreach (Connection connection in connections.OfType<Connection>())
        {
            foreach (Tool tool in connection.Tools)
            {
                string name = names.Next(connection.Name, tool.Name);
                functions.Add(new McpFunction(name, connection.Name, tool.Name, DescriptionOf(tool, connection.Name), ParametersOf(tool)));
                owners[name] = connection;
            }
        }

        return new Catalog(functions, owners, [.. connections.OfType<Connection>()]);
    }

    private static string DescriptionOf(Tool tool, string server) =>
        !string.IsNullOrWhiteSpace(tool.Description) ? tool.Description
        : !string.IsNullOrWhiteSpace(tool.Title) ? tool.Title
        : !string.IsNullOrWhiteSpace(tool.Annotations?.Title) ? tool.Annotations.Title
        : $"MCP tool {tool.Name} of {server}";

    private static JsonElement? ParametersOf(Tool tool)
    {
        JsonElement schema = tool.InputSchema;
        bool hasProperties = schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("properties", out JsonElement properties)
            && properties.ValueKind == JsonValueKind.Object
            && properties.EnumerateObject().Any();
        return hasProperties ? schema.Clone() : null;
    }

    private async Task CloseAsync(string server, McpClient client)
    {
        try
        {
            await client.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Closing is best effort: a server that fails to close must not keep the others open.
            LogCloseFailed(_logger, server, ex);
        }
    }

    /// <summary>Every distinct message down the chain of inner exceptions, and how a stdio server ended.</summary>
    private static string Describe(Exception exception)
    {
        var parts = new List<string>();
        for (Exception? e = exception; e is not null; e = e.InnerException)
        {
            if (e is ClientTransportClosedException { Details: StdioClientCompletionDetails stdio })
            {
                // Its inner exceptions say the same again, less tidily.
                parts.Add(DescribeExit(stdio));
                break;
            }

            string part = e.Message.TrimEnd('.');
            if (part.Length > 0 && !parts.Contains(part, StringComparer.Ordinal))
            {
                parts.Add(part);
            }
        }

        return string.Join(": ", parts);
    }

    private static string DescribeExit(StdioClientCompletionDetails stdio)
    {
        string exit = stdio.ExitCode is int code ? string.Create(CultureInfo.InvariantCulture, $"the server process exited with code {code}") : "the server process ended";
        return stdio.StandardErrorTail is { Count: > 0 } tail ? $"{exit}; the end of its stderr: {string.Join(" | ", tail)}" : exit;
    }

    private static string Kind(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Array => "an array",
        JsonValueKind.String => "a string",
        JsonValueKind.Number => "a number",
        _ => "a boolean",
    };

    [LoggerMessage(Level = LogLevel.Information, Message = "MCP server {Server}: connected, {Count} tools")]
    private static partial void LogServerConnected(ILogger logger, string server, int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP server {Server} is not available, its tools are left out: {Reason}")]
    private static partial void LogServerFailed(ILogger logger, string server, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP server {Server} stderr: {Line}")]
    private static partial void LogServerStderr(ILogger logger, string server, string line);

    [LoggerMessage(Level = LogLevel.Warning, Message = "MCP tool {Tool} of {Server} failed: {Reason}")]
    private static partial void LogCallFailed(ILogger logger, string tool, string server, string reason);

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP server {Server} did not close cleanly")]
    private static partial void LogCloseFailed(ILogger logger, string server, Exception exception);

    [LoggerMessage(Level = LogLevel.Debug, Message = "MCP server {Server} was not told of a cancelled call")]
    private static partial void LogCancelNotSent(ILogger logger, string server, Exception exception);

    /// <summary>A server that connected, with the tools it listed.</summary>
    private sealed record Connection(string Name, McpClient Client, IReadOnlyList<Tool> Tools);

    /// <summary>The functions offered, and which connection serves each.</summary>
    private sealed record Catalog(IReadOnlyList<McpFunction> Functions, Dictionary<string, Connection> Owners, IReadOnlyList<Connection> Connections)
    {
        public Connection? Find(McpFunction function) =>
            // By the unique function name first: two servers may share a name. Then by server, for a function made elsewhere.
            Owners.TryGetValue(function.Name, out Connection? owner) && owner.Name == function.Server
                ? owner
                : Connections.FirstOrDefault(c => c.Name == function.Server);
    }
}
