using System.Net;
using System.Net.Sockets;
using System.Text.Json;
using Acp.GptOss.Tools.Mcp;
using Acp.Protocol;

namespace Acp.GptOss.Tests.Tools.Mcp;

/// <summary>The MCP toolbox against HTTP servers: Streamable HTTP and the older HTTP+SSE, on an in-process fake.</summary>
public sealed class McpToolboxHttpTests : IAsyncLifetime, IDisposable
{
    private static readonly TimeSpan s_deadline = TimeSpan.FromSeconds(60);

    private static readonly NameValue[] s_headers = [new("Authorization", "Bearer from-acp"), new("X-Acp-Test", "42")];

    private readonly TempWorkspace _temp = new();
    private readonly RecordingLoggers _loggers = new();
    private FakeHttpMcpServer _server = null!;

    public Task InitializeAsync()
    {
        _server = FakeHttpMcpServer.Start();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose()
    {
        _loggers.Factory.Dispose();
        _temp.Dispose();
    }

    [Fact]
    public async Task A_streamable_http_server_is_listed_called_and_gets_the_headers_and_its_session()
    {
        await using McpToolbox box = Start(new McpServer("remote") { Type = "http", Url = _server.StreamableEndpoint.AbsoluteUri, Headers = s_headers });

        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        McpFunction echo = functions[0];
        McpCallResult result = await box.CallAsync(echo, Json("""{"text":"over http"}"""), CancellationToken.None);

        Assert.Equal(["remote__echo", "remote__wait"], functions.Select(f => f.Name));
        Assert.Equal(new McpFunction("remote__echo", "remote", "echo", "Returns its text.", echo.Parameters), echo);
        Assert.Equal(new McpCallResult("over http", false), result);
        SeenHttpRequest[] posts = [.. _server.Requests.Where(r => r.HttpMethod == "POST")];
        Assert.Contains(posts, r => r.RpcMethod == "initialize");
        Assert.Contains(posts, r => r.RpcMethod == "tools/call");
        Assert.All(_server.Requests, r => AssertHeaders(r));
        // Every request after initialize carries the session it started.
        string session = Assert.Single(posts.Where(r => r.RpcMethod is "tools/list" or "tools/call").Select(r => r.Headers["Mcp-Session-Id"]).Distinct());
        Assert.NotEmpty(session);
    }

    [Fact]
    public async Task DisposeAsync_ends_the_http_session()
    {
        McpToolbox box = Start(new McpServer("remote") { Type = "http", Url = _server.StreamableEndpoint.AbsoluteUri, Headers = s_headers });
        Assert.NotEmpty(await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline));
        string session = _server.Requests.First(r => r.RpcMethod == "tools/list").Headers["Mcp-Session-Id"];

        await box.DisposeAsync().AsTask().WaitAsync(s_deadline);
        await box.DisposeAsync().AsTask().WaitAsync(s_deadline);

        Assert.Equal([session], _server.ClosedSessions);
        Assert.All(_server.Requests.Where(r => r.HttpMethod == "DELETE"), r => AssertHeaders(r));
    }

    [Fact]
    public async Task An_sse_server_is_listed_called_and_gets_the_headers()
    {
        await using McpToolbox box = Start(new McpServer("legacy") { Type = "sse", Url = _server.SseEndpoint.AbsoluteUri, Headers = s_headers });

        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        McpCallResult result = await box.CallAsync(functions[0], Json("""{"text":"over sse"}"""), CancellationToken.None);

        Assert.Equal("legacy__echo", functions[0].Name);
        Assert.Equal(new McpCallResult("over sse", false), result);
        // The event stream, then every message POSTed to the endpoint it named; none went to the Streamable HTTP path.
        Assert.Contains(_server.Requests, r => r.HttpMethod == "GET" && r.Path == "/sse");
        Assert.Contains(_server.Requests, r => r.HttpMethod == "POST" && r.Path == "/messages" && r.RpcMethod == "tools/call");
        Assert.DoesNotContain(_server.Requests, r => r.Path == "/mcp");
        Assert.All(_server.Requests, r => AssertHeaders(r));
    }

    [Fact]
    public async Task An_http_server_that_is_not_there_is_logged_and_left_out()
    {
        int closedPort;
        using (var probe = new TcpListener(IPAddress.Loopback, 0))
        {
            probe.Start();
            closedPort = ((IPEndPoint)probe.LocalEndpoint).Port;
        }

        await using McpToolbox box = Start(
            new McpServer("nobody") { Type = "http", Url = $"http://127.0.0.1:{closedPort}/mcp" },
            new McpServer("bad-url") { Type = "http", Url = "not a url" },
            new McpServer("remote") { Type = "http", Url = _server.StreamableEndpoint.AbsoluteUri });

        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);

        Assert.Equal(["remote__echo", "remote__wait"], functions.Select(f => f.Name));
        Assert.Contains(_loggers.Warnings, w => w.Message.Contains("nobody", StringComparison.Ordinal));
        Assert.Contains(_loggers.Warnings, w => w.Message.Contains("bad-url", StringComparison.Ordinal) && w.Message.Contains("not a url", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_call_to_an_http_server_that_went_away_gives_IsError()
    {
        await using McpToolbox box = Start(new McpServer("remote") { Type = "http", Url = _server.StreamableEndpoint.AbsoluteUri });
        McpFunction echo = (await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline))[0];

        await _server.DisposeAsync();
        McpCallResult result = await box.CallAsync(echo, Json("""{"text":"anyone?"}"""), CancellationToken.None).WaitAsync(s_deadline);

        Assert.True(result.IsError);
        Assert.Contains("remote", result.Text, StringComparison.Ordinal);
        // Started again, so that the class's own DisposeAsync has a server to stop.
        _server = FakeHttpMcpServer.Start();
    }

    [Fact]
    public async Task Cancelling_a_call_over_http_throws_promptly_and_the_server_is_told()
    {
        await using McpToolbox box = Start(new McpServer("remote") { Type = "http", Url = _server.StreamableEndpoint.AbsoluteUri, Headers = s_headers });
        IReadOnlyList<McpFunction> functions = await box.GetFunctionsAsync(CancellationToken.None).WaitAsync(s_deadline);
        using var cancellation = new CancellationTokenSource();

        Task<McpCallResult> wait = box.CallAsync(functions.Single(f => f.Tool == "wait"), Json("{}"), cancellation.Token);
        await PollAsync(() => _server.Waiting == 1);
        await cancellation.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.WaitAsync(TimeSpan.FromSeconds(10)));
        await PollAsync(() => _server.CancelledRequests.Count == 1 && _server.Waiting == 0);
        Assert.All(_server.Requests, r => AssertHeaders(r));
        // The toolbox still serves after a cancelled call.
        Assert.Equal("after", (await box.CallAsync(functions[0], Json("""{"text":"after"}"""), CancellationToken.None)).Text);
    }

    private static async Task PollAsync(Func<bool> condition)
    {
        DateTime deadline = DateTime.UtcNow + s_deadline;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not come true in time");
            await Task.Delay(20);
        }
    }

    private McpToolbox Start(params McpServer[] servers) => McpToolbox.Start(servers, _temp.Workspace, _loggers.Factory);

    private static void AssertHeaders(SeenHttpRequest request)
    {
        Assert.Equal("Bearer from-acp", request.Headers.GetValueOrDefault("Authorization"));
        Assert.Equal("42", request.Headers.GetValueOrDefault("X-Acp-Test"));
    }

    private static JsonElement Json(string json) => JsonDocument.Parse(json).RootElement.Clone();
}
