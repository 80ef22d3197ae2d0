using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Threading.Channels;
using Acp.GptOss.Agent;
using Acp.GptOss.Api;
using Acp.GptOss.Completions;
using Acp.GptOss.Inference;
using Acp.GptOss.Relay;
using Acp.GptOss.Tests.Support;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Api;

/// <summary>The relay in-process on a free port, for its OpenAI-compatible API, with an HTTP client that has the token.</summary>
internal sealed class ApiServer : IAsyncDisposable
{
    public const string Token = "api-test-token_0123456789abcdef";

    private readonly Channel<CompletionFinishReason?> _ended = Channel.CreateUnbounded<CompletionFinishReason?>();

    private ApiServer()
    {
    }

    public RelayServer Relay { get; private set; } = null!;

    public Uri Address => Relay.Address;

    /// <summary>The API's base URL, as OpenAI clients take it.</summary>
    public string BaseUrl => Address.ToString().TrimEnd('/') + "/v1";

    public HttpClient Http { get; } = new() { Timeout = AgentHarness.Timeout };

    public static async Task<ApiServer> StartAsync(IInferenceEngine engine, Func<RelayOptions, RelayOptions>? configure = null, Telemetry? telemetry = null)
    {
        var server = new ApiServer();
        var options = new RelayOptions
        {
            Listen = new IPEndPoint(IPAddress.Loopback, 0),
            Token = RelayToken.Load(Path.GetTempPath(), fromEnvironment: Token),
            Transport = new WebSocketPeerOptions(),
            Api = new ApiOptions { GenerationEnded = r => server._ended.Writer.TryWrite(r), Today = () => new DateOnly(2026, 1, 2) },
        };
        options = configure?.Invoke(options) ?? options;
        options = options with { Api = options.Api with { GenerationEnded = r => server._ended.Writer.TryWrite(r) } };
        using var timeout = new CancellationTokenSource(AgentHarness.Timeout);
        AgentEngines engines = telemetry is null ? new AgentEngines(engine) : new AgentEngines(engine, null, telemetry);
        server.Relay = await RelayServer.StartAsync(options, engines, NullLoggerFactory.Instance, timeout.Token);
        server.Http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Token);
        return server;
    }

    /// <summary>The finish reason of the next generation to end (null: the engine failed).</summary>
    public async Task<CompletionFinishReason?> NextGenerationEndAsync() => await _ended.Reader.ReadAsync().AsTask().WaitAsync(AgentHarness.Timeout);

    public Task<HttpResponseMessage> PostAsync(string path, string json, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead) =>
        Http.SendAsync(new HttpRequestMessage(HttpMethod.Post, new Uri(Address, path)) { Content = new StringContent(json, Encoding.UTF8, "application/json") }, completion);

    public Task<string> MetricsAsync() => Http.GetStringAsync(new Uri(Address, "/metrics"));

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await Relay.DisposeAsync();
    }
}
