using System.Net;
using System.Net.WebSockets;
using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Api;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;
using Acp.Protocol.JsonRpc;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Acp.GptOss.Relay;

/// <summary>
/// Serves ACP over WebSockets on <c>/acp</c>: each connection is its own ACP client, with its own JSON-RPC peer and
/// agent, over the one set of engines the process loaded. Also <c>/health</c>, the page at <c>/</c>, and the
/// OpenAI-compatible API (<c>/v1/*</c>, <c>/metrics</c>: <see cref="OpenAiApi"/>) behind the same token and origin checks.
/// </summary>
/// <remarks>Thread-safe. Start with <see cref="StartAsync"/>; <see cref="DisposeAsync"/> stops it and closes every connection.</remarks>
internal sealed partial class RelayServer : IAsyncDisposable
{
    public const string PageResource = "Acp.GptOss.Relay.wwwroot.index.html";
    public const string SubProtocol = "acp";

    private const string ContentSecurityPolicy =
        "default-src 'self'; connect-src 'self' ws: wss:; style-src 'self' 'unsafe-inline'; script-src 'self' 'unsafe-inline'; "
        + "frame-ancestors 'none'; base-uri 'none'";

    private readonly RelayOptions _options;
    private readonly AgentEngines _engines;
    private readonly ILoggerFactory _loggers;
    private readonly ILogger _logger;
    private readonly AuthFailureLimiter _failures;
    private readonly CancellationTokenSource _stopping = new();
    private readonly byte[]? _page;
    private readonly OpenAiApi _api;
    private WebApplication? _app;
    private int _connections;

    private RelayServer(RelayOptions options, AgentEngines engines, ILoggerFactory loggers)
    {
        _options = options;
        _engines = engines;
        _loggers = loggers;
        _logger = loggers.CreateLogger("Acp.GptOss.Relay");
        _failures = new AuthFailureLimiter(options.MaxAuthFailures, options.AuthFailureWindow, options.Time);
        _page = ReadPage();
        _api = new OpenAiApi(options.Api, engines.GptOss, () => engines.Models, engines.Telemetry, options.Time, loggers.CreateLogger("Acp.GptOss.Api"));
    }

    /// <summary>Where it listens, with the port actually bound: <c>http://127.0.0.1:8765</c>.</summary>
    public Uri Address { get; private set; } = null!;

    /// <summary>Open ACP connections.</summary>
    public int Connections => Volatile.Read(ref _connections);

    /// <summary>Binds the address and starts serving; the engines stay the caller's.</summary>
    public static async Task<RelayServer> StartAsync(RelayOptions options, AgentEngines engines, ILoggerFactory loggers, CancellationToken cancellationToken)
    {
        var server = new RelayServer(options, engines, loggers);
        try
        {
            await server.StartCoreAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await server.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return server;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync().ConfigureAwait(false);
        if (_app is not null)
        {
            await _app.StopAsync(CancellationToken.None).ConfigureAwait(false);
            await _app.DisposeAsync().ConfigureAwait(false);
        }

        await _api.DisposeAsync().ConfigureAwait(false);
        _stopping.Dispose();
    }

    private async Task StartCoreAsync(CancellationToken cancellationToken)
    {
        // The empty builder reads no appsettings, no ASPNETCORE_* variables and adds no console logger: stdout stays clean.
        WebApplicationBuilder builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.Logging.AddProvider(new ForwardingLoggerProvider(_loggers));
        // Kestrel's own chatter (every request) is not news; its warnings are.
        builder.Logging.AddFilter("Microsoft", LogLevel.Warning);
        builder.Services.AddSingleton<IHostLifetime, NoSignalsLifetime>();
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(10));
        builder.WebHost.UseKestrelCore().ConfigureKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Listen(_options.Listen);
        });

        WebApplication app = builder.Build();
        app.UseWebSockets();
        app.Run(HandleAsync);
        _app = app;
        await app.StartAsync(cancellationToken).ConfigureAwait(false);

        string bound = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        // Kestrel may name the address differently (localhost, [::]); keep the numeric one the user gave, with the bound port.
        IPAddress address = _options.Listen.Address;
        string host = address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 ? $"[{address}]" : address.ToString();
        Address = new Uri($"http://{host}:{new Uri(bound).Port}");
    }

    private Task HandleAsync(HttpContext context) => context.Request.Path.Value switch
    {
        "/acp" => AcpAsync(context),
        "/health" when HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) => HealthAsync(context),
        "/" or "/index.html" when HttpMethods.IsGet(context.Request.Method) || HttpMethods.IsHead(context.Request.Method) => PageAsync(context),
        string path when OpenAiApi.Handles(path) => ApiAsync(context),
        _ => NotFound(context),
    };

    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    private async Task PageAsync(HttpContext context)
    {
        if (_page is null)
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return;
        }

        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers[HeaderNames.ContentSecurityPolicy] = ContentSecurityPolicy;
        context.Response.Headers[HeaderNames.XContentTypeOptions] = "nosniff";
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.Headers["Referrer-Policy"] = "no-referrer";
        context.Response.ContentLength = _page.Length;
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(_page, context.RequestAborted).ConfigureAwait(false);
        }
    }

    private async Task HealthAsync(HttpContext context)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("status", "ok");
            json.WriteString("version", AppVersion.Current);
            json.WriteNumber("connections", Connections);
            json.WriteStartArray("models");
            foreach (IModel model in _engines.Models)
            {
                ModelStatus status = model.GetStatus();
                json.WriteStartObject();
                json.WriteString("role", status.Role.WireName());
                json.WriteString("state", StateName(status.State));
                json.WriteString("path", status.Path);
                if (status.Error is { } error)
                {
                    json.WriteString("error", error);
                }

                json.WriteEndObject();
            }

            json.WriteEndArray();
            json.WriteEndObject();
        }

        context.Response.ContentType = "application/json";
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.ContentLength = buffer.Length;
        if (HttpMethods.IsGet(context.Request.Method))
        {
            await context.Response.Body.WriteAsync(buffer.GetBuffer().AsMemory(0, (int)buffer.Length), context.RequestAborted).ConfigureAwait(false);
        }
    }

    private static string StateName(ModelState state) => state switch
    {
        ModelState.NotLoaded => "notLoaded",
        ModelState.Loading => "loading",
        ModelState.Ready => "ready",
        ModelState.Error => "error",
        _ => state.ToString(),
    };

    private async Task AcpAsync(HttpContext context)
    {
        IPAddress remote = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (_failures.IsBlocked(remote))
        {
            context.Response.StatusCode = StatusCodes.Status429TooManyRequests;
            context.Response.Headers[HeaderNames.RetryAfter] = ((int)_options.AuthFailureWindow.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
            return;
        }

        // Before the token: a foreign page must learn nothing, not even whether its guess was right.
        string? origin = context.Request.Headers.Origin;
        if (origin is not null && !IsAllowedOrigin(context, origin))
        {
            LogForeignOrigin(_logger, origin, remote);
            context.Response.StatusCode = StatusCodes.Status403Forbidden;
            return;
        }

        IList<string> offered = context.WebSockets.WebSocketRequestedProtocols;
        bool viaHeader = TryBearer(context.Request.Headers.Authorization, out string? bearer) && _options.Token.Matches(bearer);
        bool viaProtocol = !viaHeader && offered.Any(p => _options.Token.Matches(p));
        if (!viaHeader && !viaProtocol)
        {
            LogRefusedToken(_logger, remote, offered.Count > 0 || bearer is not null ? "a wrong token" : "no token");
            if (_failures.RecordFailure(remote))
            {
                LogBlocked(_logger, remote, _options.MaxAuthFailures, _options.AuthFailureWindow.TotalSeconds);
            }

            context.Response.StatusCode = StatusCodes.Status401Unauthorized;
            context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
            return;
        }

        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status426UpgradeRequired;
            context.Response.Headers[HeaderNames.Upgrade] = "websocket";
            return;
        }

        // The token is never echoed: a browser that offered it alongside "acp" is answered with "acp".
        string? subProtocol = offered.Contains(SubProtocol, StringComparer.Ordinal) ? SubProtocol : null;
        WebSocket socket = await context.WebSockets.AcceptWebSocketAsync(new WebSocketAcceptContext
        {
            SubProtocol = subProtocol,
            KeepAliveInterval = _options.KeepAliveInterval,
        }).ConfigureAwait(false);

        int open = Interlocked.Increment(ref _connections);
        LogConnected(_logger, remote, open);
        JsonRpcPeer peer = JsonRpcPeer.ForWebSocket(socket, _options.Transport, _loggers.CreateLogger("Acp.GptOss.Relay.WebSocket"), _options.Time);
        WebSocketCloseStatus? closedWith = null;
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        try
        {
            // AgentHost disposes the peer (after its close frame) before it returns.
            await AgentHost.RunAsync(peer, _engines, _options.Agent, _loggers, ending.Token).ConfigureAwait(false);
            closedWith = peer.CloseStatus;
        }
        catch (Exception e) when (e is OperationCanceledException or WebSocketException or IOException)
        {
            // The relay is stopping or the client vanished.
        }
        finally
        {
            socket.Dispose();
            open = Interlocked.Decrement(ref _connections);
            LogDisconnected(_logger, remote, closedWith is { } status ? (int)status : 0, open);
            _options.ConnectionEnded?.Invoke(closedWith);
        }
    }

    /// <summary>
    /// The API, behind the checks <c>/acp</c> has, in the same order, each refusal in OpenAI's error shape. A browser
    /// page from an allowed origin gets CORS headers, and its preflight (which carries no token) an answer.
    /// </summary>
    private async Task ApiAsync(HttpContext context)
    {
        IPAddress remote = context.Connection.RemoteIpAddress ?? IPAddress.None;
        if (_failures.IsBlocked(remote))
        {
            await OpenAiApi.WriteErrorAsync(context, new ApiException(
                StatusCodes.Status429TooManyRequests, "Too many requests with a wrong token from this address; wait and try again.", code: "rate_limit_exceeded",
                type: "rate_limit_error")
            {
                RetryAfterSeconds = (int)_options.AuthFailureWindow.TotalSeconds,
            }).ConfigureAwait(false);
            return;
        }

        string? origin = context.Request.Headers.Origin;
        if (origin is not null)
        {
            if (!IsAllowedOrigin(context, origin))
            {
                LogForeignOrigin(_logger, origin, remote);
                await OpenAiApi.WriteErrorAsync(context, new ApiException(
                    StatusCodes.Status403Forbidden, $"Origin {origin} is not allowed (the server's --allow-origin adds one).", code: "origin_not_allowed",
                    type: "permission_error")).ConfigureAwait(false);
                return;
            }

            context.Response.Headers[HeaderNames.AccessControlAllowOrigin] = origin;
            context.Response.Headers[HeaderNames.Vary] = "Origin";
            if (HttpMethods.IsOptions(context.Request.Method))
            {
                context.Response.Headers[HeaderNames.AccessControlAllowMethods] = "GET, POST";
                context.Response.Headers[HeaderNames.AccessControlAllowHeaders] = "authorization, content-type, prefer";
                context.Response.Headers[HeaderNames.AccessControlMaxAge] = "600";
                context.Response.StatusCode = StatusCodes.Status204NoContent;
                return;
            }
        }

        if (!TryBearer(context.Request.Headers.Authorization, out string? bearer) || !_options.Token.Matches(bearer))
        {
            LogRefusedToken(_logger, remote, bearer is not null ? "a wrong token" : "no token");
            if (_failures.RecordFailure(remote))
            {
                LogBlocked(_logger, remote, _options.MaxAuthFailures, _options.AuthFailureWindow.TotalSeconds);
            }

            context.Response.Headers[HeaderNames.WWWAuthenticate] = "Bearer";
            await OpenAiApi.WriteErrorAsync(context, new ApiException(
                StatusCodes.Status401Unauthorized, "A valid token is required: send the relay's token as Authorization: Bearer TOKEN.", code: "invalid_api_key"))
                .ConfigureAwait(false);
            return;
        }

        // The client going away, or the relay stopping, cancels the request's generation at once.
        using var ending = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, _stopping.Token);
        await _api.HandleAsync(context, ending.Token).ConfigureAwait(false);
    }

    private bool IsAllowedOrigin(HttpContext context, string origin)
    {
        string own = $"{context.Request.Scheme}://{context.Request.Host.Value}";
        return string.Equals(origin, own, StringComparison.OrdinalIgnoreCase)
            || _options.AllowedOrigins.Any(o => string.Equals(origin, o.TrimEnd('/'), StringComparison.OrdinalIgnoreCase));
    }

    private static bool TryBearer(string? authorization, out string? token)
    {
        const string Scheme = "Bearer ";
        token = authorization is not null && authorization.StartsWith(Scheme, StringComparison.OrdinalIgnoreCase)
            ? authorization[Scheme.Length..].Trim()
            : null;
        return token is not null;
    }

    private static byte[]? ReadPage()
    {
        using Stream? stream = typeof(RelayServer).Assembly.GetManifestResourceStream(PageResource);
        if (stream is null)
        {
            return null;
        }

        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a connection from {Remote}: {What}")]
    private static partial void LogRefusedToken(ILogger logger, IPAddress remote, string what);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Blocking {Remote} after more than {Max} refused tokens; it gets 429 for {Seconds} s")]
    private static partial void LogBlocked(ILogger logger, IPAddress remote, int max, double seconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Refused a connection from {Remote}: origin {Origin} is not allowed (--allow-origin adds one)")]
    private static partial void LogForeignOrigin(ILogger logger, string origin, IPAddress remote);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client connected from {Remote}; {Open} open")]
    private static partial void LogConnected(ILogger logger, IPAddress remote, int open);

    [LoggerMessage(Level = LogLevel.Information, Message = "Client from {Remote} disconnected (close status {Status}, 0 when the client closed); {Open} open")]
    private static partial void LogDisconnected(ILogger logger, IPAddress remote, int status, int open);

    /// <summary>Kestrel logs through the process's logger factory, so it reaches stderr and nothing else.</summary>
    private sealed class ForwardingLoggerProvider(ILoggerFactory loggers) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => loggers.CreateLogger(categoryName);

        public void Dispose()
        {
        }
    }

    /// <summary>The command handles Ctrl-C and SIGTERM; a relay inside tests must not claim the process's signals.</summary>
    private sealed class NoSignalsLifetime : IHostLifetime
    {
        public Task WaitForStartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
