using System.Collections.Concurrent;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;

namespace Acp.GptOss.Tests.Tools.Mcp;

/// <summary>An HTTP request as the fake server saw it.</summary>
/// <param name="HttpMethod">GET, POST or DELETE.</param>
/// <param name="Path">The path, without the query.</param>
/// <param name="RpcMethod">The JSON-RPC method of a POSTed request or notification; null otherwise.</param>
/// <param name="Headers">Every header, by name (case-insensitive).</param>
internal sealed record SeenHttpRequest(string HttpMethod, string Path, string? RpcMethod, IReadOnlyDictionary<string, string> Headers);

/// <summary>
/// An MCP server over HTTP on loopback, in-process, with just enough of each transport for the toolbox: Streamable
/// HTTP at <see cref="StreamableEndpoint"/> (POST JSON-RPC answered with application/json, 202 for notifications,
/// an <c>Mcp-Session-Id</c> from initialize required afterwards, 405 for the optional GET stream, DELETE ending the
/// session) and the older HTTP+SSE at <see cref="SseEndpoint"/> (a GET event stream that names the message
/// endpoint, POSTs answered 202 with the replies sent on the stream). Two tools: echo, and wait, whose Streamable
/// HTTP POST is held open until notifications/cancelled names it.
/// </summary>
internal sealed class FakeHttpMcpServer : IAsyncDisposable
{
    private const string SessionHeader = "Mcp-Session-Id";

    private readonly HttpListener _listener;
    private readonly CancellationTokenSource _stop = new();
    private readonly ConcurrentDictionary<string, bool> _sessions = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, SseStream> _sseStreams = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> _handlers = new();
    private readonly List<SeenHttpRequest> _requests = [];
    private readonly List<string> _closedSessions = [];
    private readonly List<string> _cancelled = [];
    private readonly ConcurrentDictionary<string, TaskCompletionSource> _waiting = new(StringComparer.Ordinal);
    private readonly Task _accepting;

    private FakeHttpMcpServer(HttpListener listener, Uri root)
    {
        _listener = listener;
        StreamableEndpoint = new Uri(root, "/mcp");
        SseEndpoint = new Uri(root, "/sse");
        _accepting = AcceptAsync();
    }

    public Uri StreamableEndpoint { get; }

    public Uri SseEndpoint { get; }

    public IReadOnlyList<SeenHttpRequest> Requests
    {
        get
        {
            lock (_requests)
            {
                return [.. _requests];
            }
        }
    }

    /// <summary>The Streamable HTTP sessions the client ended with DELETE.</summary>
    public IReadOnlyList<string> ClosedSessions
    {
        get
        {
            lock (_requests)
            {
                return [.. _closedSessions];
            }
        }
    }

    /// <summary>The ids (as JSON) of the requests that notifications/cancelled named.</summary>
    public IReadOnlyList<string> CancelledRequests
    {
        get
        {
            lock (_requests)
            {
                return [.. _cancelled];
            }
        }
    }

    /// <summary>How many wait calls are held open.</summary>
    public int Waiting => _waiting.Count;

    public static FakeHttpMcpServer Start()
    {
        // HttpListener cannot take port 0: take a free one from the system, and try again in the rare case that
        // another process took it in between.
        for (int attempt = 1; ; attempt++)
        {
            int port;
            using (var probe = new TcpListener(IPAddress.Loopback, 0))
            {
                probe.Start();
                port = ((IPEndPoint)probe.LocalEndpoint).Port;
            }

            var listener = new HttpListener();
            var root = new Uri($"http://127.0.0.1:{port}/");
            listener.Prefixes.Add(root.AbsoluteUri);
            try
            {
                listener.Start();
                return new FakeHttpMcpServer(listener, root);
            }
            catch (HttpListenerException) when (attempt < 10)
            {
                listener.Close();
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        foreach (SseStream stream in _sseStreams.Values)
        {
            stream.Closed.TrySetResult();
        }

        foreach (TaskCompletionSource wait in _waiting.Values)
        {
            wait.TrySetResult();
        }

        _listener.Stop();
        await _accepting;
        await Task.WhenAll(_handlers.Keys);
        _listener.Close();
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (true)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception e) when (e is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            Task handler = ServeAsync(context);
            _handlers[handler] = true;
            _ = handler.ContinueWith(t => _handlers.TryRemove(t, out _), TaskScheduler.Default);
        }
    }

    private async Task ServeAsync(HttpListenerContext context)
    {
        try
        {
            HttpListenerRequest request = context.Request;
            string? body = request.HttpMethod == "POST" ? await new StreamReader(request.InputStream, Encoding.UTF8).ReadToEndAsync(_stop.Token) : null;
            JsonNode? message = body is null ? null : JsonNode.Parse(body);
            var headers = request.Headers.AllKeys.OfType<string>().ToDictionary(k => k, k => request.Headers[k] ?? "", StringComparer.OrdinalIgnoreCase);
            lock (_requests)
            {
                _requests.Add(new SeenHttpRequest(request.HttpMethod, request.Url!.AbsolutePath, (string?)message?["method"], headers));
            }

            switch (request.HttpMethod, request.Url!.AbsolutePath)
            {
                case ("POST", "/mcp"):
                    await PostStreamableAsync(context, message!);
                    break;
                case ("DELETE", "/mcp"):
                    string? session = request.Headers[SessionHeader];
                    bool known = session is not null && _sessions.TryRemove(session, out _);
                    if (known)
                    {
                        lock (_requests)
                        {
                            _closedSessions.Add(session!);
                        }
                    }

                    await WriteAsync(context.Response, known ? 200 : 404, null);
                    break;
                case ("GET", "/sse"):
                    await StreamEventsAsync(context);
                    break;
                case ("POST", "/messages"):
                    await PostSseMessageAsync(context, message!);
                    break;
                default:
                    // The GET stream of Streamable HTTP is optional: a server without one answers 405.
                    context.Response.AddHeader("Allow", "POST, DELETE");
                    await WriteAsync(context.Response, request.Url.AbsolutePath == "/mcp" ? 405 : 404, null);
                    break;
            }
        }
        catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
        {
            // The client went away, or the server is stopping.
        }
    }

    private async Task PostStreamableAsync(HttpListenerContext context, JsonNode message)
    {
        string? method = (string?)message["method"];
        JsonNode? id = message["id"];
        if (method is null || id is null)
        {
            if (method == "notifications/cancelled" && message["params"]?["requestId"]?.ToJsonString() is { } cancelled)
            {
                lock (_requests)
                {
                    _cancelled.Add(cancelled);
                }

                if (_waiting.TryRemove(cancelled, out TaskCompletionSource? wait))
                {
                    wait.TrySetResult();
                }
            }

            await WriteAsync(context.Response, 202, null);
            return;
        }

        string? session = context.Request.Headers[SessionHeader];
        if (method == "initialize")
        {
            session = Guid.NewGuid().ToString("N");
            _sessions[session] = true;
            context.Response.AddHeader(SessionHeader, session);
        }
        else if (session is null)
        {
            // As servers of the session-based revisions answer anything but initialize without a session.
            await WriteAsync(context.Response, 400, Error(id, -32000, "Bad Request: Mcp-Session-Id header is required"));
            return;
        }
        else if (!_sessions.ContainsKey(session))
        {
            await WriteAsync(context.Response, 404, Error(id, -32001, "Session not found"));
            return;
        }

        if (method == "tools/call" && (string?)message["params"]?["name"] == "wait")
        {
            // No answer: a cancelled request gets none. The POST ends when the client gives up on it (or we stop).
            var wait = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _waiting[id.ToJsonString()] = wait;
            await wait.Task;
            context.Response.Abort();
            return;
        }

        await WriteAsync(context.Response, 200, Answer(id, method, message["params"]));
    }

    private async Task StreamEventsAsync(HttpListenerContext context)
    {
        string session = Guid.NewGuid().ToString("N");
        var stream = new SseStream(context.Response);
        _sseStreams[session] = stream;
        context.Response.ContentType = "text/event-stream";
        context.Response.SendChunked = true;
        await stream.SendAsync("endpoint", $"/messages?session={session}", _stop.Token);
        // Open until the server stops or a write finds the client gone.
        await stream.Closed.Task;
        _sseStreams.TryRemove(session, out _);
        context.Response.Abort();
    }

    private async Task PostSseMessageAsync(HttpListenerContext context, JsonNode message)
    {
        string? session = context.Request.QueryString["session"];
        if (session is null || !_sseStreams.TryGetValue(session, out SseStream? stream))
        {
            await WriteAsync(context.Response, 404, null);
            return;
        }

        await WriteAsync(context.Response, 202, null);
        if ((string?)message["method"] is { } method && message["id"] is { } id)
        {
            await stream.SendAsync("message", Answer(id, method, message["params"]).ToJsonString(), _stop.Token);
        }
    }

    private static JsonObject Answer(JsonNode id, string method, JsonNode? parameters)
    {
        string? tool = (string?)parameters?["name"];
        switch (method)
        {
            case "initialize":
                return Result(id, new JsonObject
                {
                    ["protocolVersion"] = parameters?["protocolVersion"]?.DeepClone(),
                    ["capabilities"] = new JsonObject { ["tools"] = new JsonObject() },
                    ["serverInfo"] = new JsonObject { ["name"] = "fake-http-mcp", ["version"] = "1.0.0" },
                });
            case "ping":
                return Result(id, new JsonObject());
            case "tools/list":
                return Result(id, JsonNode.Parse("""
                    {"tools":[{"name":"echo","description":"Returns its text.","inputSchema":{"type":"object","properties":{"text":{"type":"string"}}}},{"name":"wait","inputSchema":{"type":"object"}}]}
                    """)!);
            case "tools/call" when tool == "echo":
                return Result(id, new JsonObject
                {
                    ["content"] = new JsonArray(new JsonObject { ["type"] = "text", ["text"] = parameters?["arguments"]?["text"]?.DeepClone() }),
                });
            case "tools/call":
                return Error(id, -32602, $"Unknown tool: {tool}");
            default:
                return Error(id, -32601, $"Method not found: {method}");
        }
    }

    private static JsonObject Result(JsonNode id, JsonNode result) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id.DeepClone(), ["result"] = result };

    private static JsonObject Error(JsonNode id, int code, string message) =>
        new() { ["jsonrpc"] = "2.0", ["id"] = id.DeepClone(), ["error"] = new JsonObject { ["code"] = code, ["message"] = message } };

    private async Task WriteAsync(HttpListenerResponse response, int status, JsonObject? body)
    {
        response.StatusCode = status;
        if (body is not null)
        {
            byte[] bytes = Encoding.UTF8.GetBytes(body.ToJsonString());
            response.ContentType = "application/json";
            response.ContentLength64 = bytes.Length;
            await response.OutputStream.WriteAsync(bytes, _stop.Token);
        }

        response.Close();
    }

    /// <summary>An open event stream; writes are one event at a time, in the order they were asked for.</summary>
    private sealed class SseStream(HttpListenerResponse response)
    {
        private readonly Lock _gate = new();
        private Task _last = Task.CompletedTask;

        public TaskCompletionSource Closed { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public Task SendAsync(string eventType, string data, CancellationToken cancellationToken)
        {
            lock (_gate)
            {
                _last = WriteAfterAsync(_last, Encoding.UTF8.GetBytes($"event: {eventType}\ndata: {data}\n\n"), cancellationToken);
                return _last;
            }
        }

        private async Task WriteAfterAsync(Task previous, byte[] bytes, CancellationToken cancellationToken)
        {
            await previous;
            try
            {
                await response.OutputStream.WriteAsync(bytes, cancellationToken);
                await response.OutputStream.FlushAsync(cancellationToken);
            }
            catch (Exception e) when (e is HttpListenerException or IOException or ObjectDisposedException or OperationCanceledException)
            {
                // The client went away, or the server is stopping: the stream is over.
                Closed.TrySetResult();
            }
        }
    }
}
