using System.Net;
using System.Net.WebSockets;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Inference;
using Acp.GptOss.Relay;
using Acp.GptOss.Tests.Support;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Relay;

/// <summary>The relay in-process on a free port, driven by real WebSocket clients.</summary>
public sealed class RelayServerTests : IAsyncLifetime
{
    private const string Token = "test-token_0123456789abcdefABCDEF";
    private const string Hello = "<|channel|>final<|message|>Hello over the relay.<|return|>";

    private readonly List<RelayServer> _servers = [];

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        foreach (RelayServer server in _servers)
        {
            await server.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_client_initializes_opens_a_session_and_gets_the_answer_streamed_before_the_response()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));
        await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token);

        string session = await client.NewSessionAsync();
        (JsonElement response, List<JsonElement> updates) = await client.PromptAsync(session, "Say hello.");

        Assert.Equal("end_turn", response.GetProperty("result").GetProperty("stopReason").GetString());
        Assert.Equal("Hello over the relay.", AgentText(updates));
        Assert.All(updates, u => Assert.Equal("session/update", u.GetProperty("method").GetString()));
    }

    [Fact]
    public async Task Session_cancel_ends_a_slow_turn_with_stop_reason_cancelled()
    {
        var engine = new FakeEngine("<|channel|>final<|message|>A very long story that never ends<|return|>");
        Task held = engine.HoldFirstCallAt(5);
        RelayServer relay = await StartAsync(engine);
        await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token);
        string session = await client.NewSessionAsync();

        int prompt = await client.SendRequestAsync("session/prompt", new { sessionId = session, prompt = new[] { new { type = "text", text = "Go." } } });
        await held;
        await client.SendAsync(AgentHarness.Notification("session/cancel", new { sessionId = session }));
        (JsonElement response, _) = await client.ResponseAsync(prompt);

        Assert.Equal("cancelled", response.GetProperty("result").GetProperty("stopReason").GetString());
    }

    [Theory]
    [InlineData(null)]
    [InlineData("Bearer not-the-token")]
    [InlineData("Basic dGVzdA==")]
    public async Task A_missing_or_wrong_token_is_refused_with_401_before_the_upgrade(string? authorization)
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        if (authorization is not null)
        {
            socket.Options.SetRequestHeader("Authorization", authorization);
        }

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(RelayClient.AcpUri(relay.Address), Timeout()));

        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
        Assert.Equal(0, relay.Connections);
    }

    [Fact]
    public async Task The_token_as_a_subprotocol_is_accepted_and_the_relay_answers_with_acp_never_the_token()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));
        await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token, o =>
        {
            o.AddSubProtocol("acp");
            o.AddSubProtocol(Token);
        });

        string session = await client.NewSessionAsync();
        (JsonElement response, _) = await client.PromptAsync(session, "Hi.");

        Assert.Equal("acp", client.Socket.SubProtocol);
        Assert.Equal("end_turn", response.GetProperty("result").GetProperty("stopReason").GetString());
    }

    [Fact]
    public async Task A_wrong_token_as_a_subprotocol_is_refused_with_401()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));
        using var socket = new ClientWebSocket();
        socket.Options.CollectHttpResponseDetails = true;
        socket.Options.AddSubProtocol("acp");
        socket.Options.AddSubProtocol("wrong-token");

        await Assert.ThrowsAsync<WebSocketException>(() => socket.ConnectAsync(RelayClient.AcpUri(relay.Address), Timeout()));

        Assert.Equal(HttpStatusCode.Unauthorized, socket.HttpStatusCode);
    }

    [Fact]
    public async Task A_foreign_origin_is_refused_with_403_while_the_relays_own_and_allowed_origins_connect()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello), o => o with { AllowedOrigins = ["https://editor.example/"] });
        using var foreign = new ClientWebSocket();
        foreign.Options.CollectHttpResponseDetails = true;
        foreign.Options.SetRequestHeader("Authorization", $"Bearer {Token}");
        foreign.Options.SetRequestHeader("Origin", "http://evil.example");

        await Assert.ThrowsAsync<WebSocketException>(() => foreign.ConnectAsync(RelayClient.AcpUri(relay.Address), Timeout()));
        string own = $"http://{relay.Address.Authority}";
        await using RelayClient ownClient = await RelayClient.ConnectAsync(relay.Address, Token, o =>
        {
            o.SetRequestHeader("Authorization", $"Bearer {Token}");
            o.SetRequestHeader("Origin", own);
        });
        await using RelayClient allowedClient = await RelayClient.ConnectAsync(relay.Address, Token, o =>
        {
            o.SetRequestHeader("Authorization", $"Bearer {Token}");
            o.SetRequestHeader("Origin", "https://editor.example");
        });

        Assert.Equal(HttpStatusCode.Forbidden, foreign.HttpStatusCode);
        Assert.NotNull(await ownClient.NewSessionAsync());
        Assert.NotNull(await allowedClient.NewSessionAsync());
    }

    [Fact]
    public async Task An_oversized_message_closes_that_socket_with_1009_and_the_relay_keeps_serving()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello), o => o with { Transport = o.Transport with { MaxMessageBytes = 64 * 1024 } });
        await using RelayClient big = await RelayClient.ConnectAsync(relay.Address, Token);
        await using RelayClient other = await RelayClient.ConnectAsync(relay.Address, Token);

        string padding = new('x', 100 * 1024);
        await big.SendAsync(AgentHarness.Request(1, "initialize", new { protocolVersion = 1, padding }));
        JsonElement? next = await big.ReceiveAsync();
        await using RelayClient after = await RelayClient.ConnectAsync(relay.Address, Token);

        Assert.Null(next);
        Assert.Equal(WebSocketCloseStatus.MessageTooBig, big.Socket.CloseStatus);
        Assert.Equal("end_turn", (await other.PromptAsync(await other.NewSessionAsync(), "Hi.")).Response.GetProperty("result").GetProperty("stopReason").GetString());
        Assert.Equal("end_turn", (await after.PromptAsync(await after.NewSessionAsync(), "Hi.")).Response.GetProperty("result").GetProperty("stopReason").GetString());
    }

    [Fact]
    public async Task A_binary_message_closes_that_socket_with_1003()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));
        await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token);

        await client.Socket.SendAsync("{}"u8.ToArray(), WebSocketMessageType.Binary, endOfMessage: true, Timeout());
        JsonElement? next = await client.ReceiveAsync();

        Assert.Null(next);
        Assert.Equal(WebSocketCloseStatus.InvalidMessageType, client.Socket.CloseStatus);
    }

    [Fact]
    public async Task Fifty_concurrent_connections_each_complete_a_prompt_on_the_shared_engine()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));

        string[] stops = await Task.WhenAll(Enumerable.Range(0, 50).Select(async _ =>
        {
            await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token);
            (JsonElement response, List<JsonElement> updates) = await client.PromptAsync(await client.NewSessionAsync(), "Hi.");
            Assert.Equal("Hello over the relay.", AgentText(updates));
            return response.GetProperty("result").GetProperty("stopReason").GetString()!;
        }));

        Assert.Equal(50, stops.Length);
        Assert.All(stops, s => Assert.Equal("end_turn", s));
    }

    [Fact]
    public async Task A_client_that_never_reads_a_long_answer_is_disconnected_and_the_relay_keeps_serving()
    {
        string story = string.Concat(Enumerable.Repeat("and then ", 20_000));
        var engine = new FakeEngine($"<|channel|>final<|message|>{story}<|return|>");
        var ended = new TaskCompletionSource<WebSocketCloseStatus?>(TaskCreationOptions.RunContinuationsAsynchronously);
        RelayServer relay = await StartAsync(engine, o => o with
        {
            Agent = o.Agent with { MaxTokens = 1_000_000 },
            Transport = o.Transport with { StallTimeout = TimeSpan.FromMilliseconds(500) },
            ConnectionEnded = status => ended.TrySetResult(status),
        });
        await using RelayClient stalled = await RelayClient.ConnectAsync(relay.Address, Token);
        string session = await stalled.NewSessionAsync();

        // Asks for the story and then reads nothing while it streams.
        await stalled.SendRequestAsync("session/prompt", new { sessionId = session, prompt = new[] { new { type = "text", text = "A story." } } });
        WebSocketCloseStatus? status = await ended.Task.WaitAsync(AgentHarness.Timeout);
        bool closeFrame = await stalled.DrainUntilClosedAsync();

        // A client that reads gets the same story streamed, and can stop it.
        await using RelayClient next = await RelayClient.ConnectAsync(relay.Address, Token);
        string nextSession = await next.NewSessionAsync();
        int prompt = await next.SendRequestAsync("session/prompt", new { sessionId = nextSession, prompt = new[] { new { type = "text", text = "A story." } } });
        JsonElement first = await next.ReceiveAsync() ?? throw new InvalidOperationException("closed");
        await next.SendAsync(AgentHarness.Notification("session/cancel", new { sessionId = nextSession }));
        (JsonElement response, _) = await next.ResponseAsync(prompt);

        Assert.Equal(WebSocketCloseStatus.PolicyViolation, status);
        Assert.True(!closeFrame || stalled.Socket.CloseStatus == WebSocketCloseStatus.PolicyViolation, $"closed with {stalled.Socket.CloseStatus}");
        Assert.Equal("session/update", first.GetProperty("method").GetString());
        Assert.Equal("cancelled", response.GetProperty("result").GetProperty("stopReason").GetString());
    }

    [Fact]
    public async Task A_client_that_reads_a_long_fast_answer_gets_all_of_it()
    {
        string story = string.Concat(Enumerable.Repeat("abc ", 2_000));
        RelayServer relay = await StartAsync(new FakeEngine($"<|channel|>final<|message|>{story}<|return|>"), o => o with
        {
            Agent = o.Agent with { MaxTokens = 1_000_000 },
        });
        await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token);

        (JsonElement response, List<JsonElement> updates) = await client.PromptAsync(await client.NewSessionAsync(), "A story.");

        Assert.Equal("end_turn", response.GetProperty("result").GetProperty("stopReason").GetString());
        Assert.Equal(story, AgentText(updates));
    }

    [Fact]
    public async Task A_client_silent_for_the_idle_timeout_is_closed_with_1000()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello), o => o with { Transport = o.Transport with { IdleTimeout = TimeSpan.FromMilliseconds(200) } });
        await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token);

        JsonElement? next = await client.ReceiveAsync();

        Assert.Null(next);
        Assert.Equal(WebSocketCloseStatus.NormalClosure, client.Socket.CloseStatus);
    }

    [Fact]
    public async Task Health_needs_no_token_and_shows_connections_and_models_but_not_the_token()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));
        await using RelayClient client = await RelayClient.ConnectAsync(relay.Address, Token);
        Assert.NotNull(await client.NewSessionAsync());
        using var http = new HttpClient();

        using HttpResponseMessage response = await http.GetAsync(new Uri(relay.Address, "/health"), Timeout());
        string body = await response.Content.ReadAsStringAsync();
        using JsonDocument health = JsonDocument.Parse(body);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("ok", health.RootElement.GetProperty("status").GetString());
        Assert.Equal(Hosting.AppVersion.Current, health.RootElement.GetProperty("version").GetString());
        Assert.Equal(1, health.RootElement.GetProperty("connections").GetInt32());
        Assert.Equal(JsonValueKind.Array, health.RootElement.GetProperty("models").ValueKind);
        Assert.DoesNotContain(Token, body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_page_is_served_as_html_with_a_content_security_policy()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello));
        using var http = new HttpClient();

        using HttpResponseMessage response = await http.GetAsync(relay.Address, Timeout());
        using HttpResponseMessage missing = await http.GetAsync(new Uri(relay.Address, "/nothing-here"), Timeout());

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("text/html; charset=utf-8", response.Content.Headers.ContentType?.ToString());
        string policy = string.Join(' ', response.Headers.GetValues("Content-Security-Policy"));
        Assert.Contains("default-src 'self'", policy, StringComparison.Ordinal);
        Assert.Contains("connect-src 'self' ws: wss:", policy, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
    }

    [Fact]
    public async Task More_than_the_allowed_refused_tokens_from_an_address_get_429()
    {
        RelayServer relay = await StartAsync(new FakeEngine(Hello), o => o with { MaxAuthFailures = 3 });
        using var http = new HttpClient();
        var statuses = new List<HttpStatusCode>();

        for (int i = 0; i < 5; i++)
        {
            using HttpResponseMessage response = await http.GetAsync(new Uri(relay.Address, "/acp"), Timeout());
            statuses.Add(response.StatusCode);
        }

        Assert.Equal(
            [HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.Unauthorized, HttpStatusCode.TooManyRequests],
            statuses);
    }

    private async Task<RelayServer> StartAsync(IInferenceEngine engine, Func<RelayOptions, RelayOptions>? configure = null)
    {
        var options = new RelayOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Token = RelayToken.Load(Path.GetTempPath(), fromEnvironment: Token),
            Transport = new WebSocketPeerOptions(),
        };
        RelayServer relay = await RelayServer.StartAsync(configure?.Invoke(options) ?? options, new AgentEngines(engine), NullLoggerFactory.Instance, Timeout());
        _servers.Add(relay);
        return relay;
    }

    private static CancellationToken Timeout() => new CancellationTokenSource(AgentHarness.Timeout).Token;

    private static string AgentText(List<JsonElement> notifications)
    {
        var text = new StringBuilder();
        foreach (JsonElement n in notifications)
        {
            JsonElement update = n.GetProperty("params").GetProperty("update");
            if (update.GetProperty("sessionUpdate").GetString() == "agent_message_chunk")
            {
                text.Append(update.GetProperty("content").GetProperty("text").GetString());
            }
        }

        return text.ToString();
    }
}
