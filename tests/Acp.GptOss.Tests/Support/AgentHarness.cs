using System.IO.Pipelines;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;
using Acp.GptOss.Agent;
using Acp.GptOss.Inference;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// The agent in-process on in-memory pipes, driven with raw JSON-RPC lines, so tests see exactly what it writes
/// and in which order.
/// </summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(30);

    private readonly Pipe _toAgent = new();
    private readonly Pipe _fromAgent = new();
    private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
    private readonly Task _agent;
    private readonly Task _reader;
    private int _nextId;

    public AgentHarness(IInferenceEngine engine, AgentOptions? options = null)
    {
        options ??= new AgentOptions();
        _agent = RunAgentAsync(engine, options with { Today = () => new DateOnly(2025, 8, 5) });
        _reader = ReadAsync();
    }

    /// <summary>Every line the agent wrote, in order, as it arrived.</summary>
    public List<JsonElement> Written { get; } = [];

    public Task Completion => _agent;

    public async Task SendAsync(string line) => await _toAgent.Writer.WriteAsync(Encoding.UTF8.GetBytes(line + "\n"));

    /// <summary>Sends several lines in one write, so the agent reads them back to back.</summary>
    public async Task SendAsync(IEnumerable<string> lines) => await _toAgent.Writer.WriteAsync(Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));

    public static string Request(int id, string method, object parameters) => JsonSerializer.Serialize(new { jsonrpc = "2.0", id, method, @params = parameters });

    public static string Notification(string method, object parameters) => JsonSerializer.Serialize(new { jsonrpc = "2.0", method, @params = parameters });

    /// <summary>Sends a request and returns its response and the notifications written before it.</summary>
    public async Task<(JsonElement Response, List<JsonElement> Notifications)> RequestAsync(string method, object parameters)
    {
        int id = await SendRequestAsync(method, parameters);
        return await ResponseAsync(id);
    }

    public async Task<int> SendRequestAsync(string method, object parameters)
    {
        int id = NextId();
        await SendAsync(Request(id, method, parameters));
        return id;
    }

    public int NextId() => Interlocked.Increment(ref _nextId);

    public Task NotifyAsync(string method, object parameters) => SendAsync(Notification(method, parameters));

    /// <summary>Waits for the response to request <paramref name="id"/>; returns it and the notifications before it.</summary>
    public async Task<(JsonElement Response, List<JsonElement> Notifications)> ResponseAsync(int id)
    {
        var notifications = new List<JsonElement>();
        while (true)
        {
            JsonElement line = await NextAsync();
            if (line.TryGetProperty("method", out _))
            {
                notifications.Add(line);
            }
            else if (line.TryGetProperty("id", out JsonElement lineId) && lineId.ValueKind == JsonValueKind.Number && lineId.GetInt32() == id)
            {
                return (line, notifications);
            }
        }
    }

    public async Task<JsonElement> NextAsync() => await _lines.Reader.ReadAsync().AsTask().WaitAsync(Timeout);

    /// <summary>Initializes and opens a session; returns its id.</summary>
    public async Task<string> NewSessionAsync(string cwd = "/workspace")
    {
        await RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        (JsonElement response, _) = await RequestAsync("session/new", new { cwd, mcpServers = Array.Empty<object>() });
        return response.GetProperty("result").GetProperty("sessionId").GetString()!;
    }

    public Task<(JsonElement Response, List<JsonElement> Notifications)> PromptAsync(string sessionId, string text) =>
        RequestAsync("session/prompt", new { sessionId, prompt = new[] { new { type = "text", text } } });

    public Task<int> SendPromptAsync(string sessionId, string text) =>
        SendRequestAsync("session/prompt", new { sessionId, prompt = new[] { new { type = "text", text } } });

    /// <summary>Ends the agent's input, as a client leaving.</summary>
    public async Task CloseInputAsync() => await _toAgent.Writer.CompleteAsync();

    public async ValueTask DisposeAsync()
    {
        await _toAgent.Writer.CompleteAsync();
        await _agent.WaitAsync(Timeout);
        await _reader.WaitAsync(Timeout);
    }

    private async Task RunAgentAsync(IInferenceEngine engine, AgentOptions options)
    {
        try
        {
            await AgentHost.RunAsync(
                new NdjsonTransport(_toAgent.Reader.AsStream(), _fromAgent.Writer.AsStream()), engine, options, NullLoggerFactory.Instance, CancellationToken.None);
        }
        finally
        {
            await _fromAgent.Writer.CompleteAsync();
        }
    }

    private async Task ReadAsync()
    {
        using var reader = new StreamReader(_fromAgent.Reader.AsStream(), Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            using JsonDocument document = JsonDocument.Parse(line);
            JsonElement element = document.RootElement.Clone();
            lock (Written)
            {
                Written.Add(element);
            }

            await _lines.Writer.WriteAsync(element);
        }

        _lines.Writer.Complete();
    }
}

/// <summary>Reading session updates.</summary>
internal static class Updates
{
    public static string Kind(JsonElement notification) => Update(notification).GetProperty("sessionUpdate").GetString()!;

    public static JsonElement Update(JsonElement notification) => notification.GetProperty("params").GetProperty("update");

    public static IEnumerable<JsonElement> OfKind(IEnumerable<JsonElement> notifications, string kind) =>
        notifications.Where(n => Kind(n) == kind).Select(Update);

    /// <summary>The text of all chunks of one kind, joined.</summary>
    public static string Text(IEnumerable<JsonElement> notifications, string kind) =>
        string.Concat(OfKind(notifications, kind).Select(u => u.GetProperty("content").GetProperty("text").GetString()));

    public static string StopReason(JsonElement response) => response.GetProperty("result").GetProperty("stopReason").GetString()!;

    public static int ErrorCode(JsonElement response) => response.GetProperty("error").GetProperty("code").GetInt32();
}
