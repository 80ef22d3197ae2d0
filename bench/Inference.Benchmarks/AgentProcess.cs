using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Inference.Benchmarks;

/// <summary>
/// The built agent as an editor runs it, with each line of its stdout stamped on arrival: a minimal ACP client
/// for measuring what a client sees.
/// </summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    private readonly Process _process;
    private readonly Channel<(long At, AgentLine Line)> _lines = Channel.CreateUnbounded<(long, AgentLine)>();
    private readonly Task _reader;
    private readonly Task _errors;
    private readonly List<string> _contextsMade = [];

    /// <summary>From each generation cancelled inside llama.cpp, as its telemetry reports: from the cancel to llama.cpp's return.</summary>
    public List<double> NativeStops { get; } = [];
    private int _nextId;

    private AgentProcess(Process process)
    {
        _process = process;
        _reader = ReadAsync();
        // Its log is not measured, but must be read, or a full pipe would stall the agent.
        _errors = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
    }

    public static AgentProcess Start(params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(BenchSettings.Agent);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return new AgentProcess(Process.Start(start) ?? throw new InvalidOperationException("Could not start the agent."));
    }

    /// <summary>Sends a request; returns its id and the moment it was written.</summary>
    public async Task<(int Id, long SentAt)> SendAsync(string method, object parameters)
    {
        int id = ++_nextId;
        return (id, await WriteAsync(new { jsonrpc = "2.0", id, method, @params = parameters }));
    }

    /// <summary>Sends a notification; returns the moment it was written.</summary>
    public Task<long> NotifyAsync(string method, object parameters) => WriteAsync(new { jsonrpc = "2.0", method, @params = parameters });

    /// <summary>The next line, with the moment it arrived.</summary>
    public async Task<(long At, AgentLine Line)> NextAsync()
    {
        (long At, AgentLine Line) next = await _lines.Reader.ReadAsync().AsTask().WaitAsync(s_timeout);
        if (next.Line.TelemetryKind == "load" && next.Line.Message.GetProperty("params").GetProperty("stage").GetString() == "context_created")
        {
            _contextsMade.Add(next.Line.Text);
        }
        else if (next.Line.TelemetryKind == "inference" && next.Line.Message.GetProperty("params").TryGetProperty("abortStopMs", out JsonElement stop))
        {
            NativeStops.Add(stop.GetDouble());
        }

        return next;
    }

    /// <summary>Reads up to the response to <paramref name="id"/>; returns it, its arrival, and the notifications before it.</summary>
    public async Task<(JsonElement Response, long At, List<(long At, AgentLine Line)> Notifications)> ResponseAsync(int id)
    {
        var notifications = new List<(long, AgentLine)>();
        while (true)
        {
            (long at, AgentLine line) = await NextAsync();
            if (!line.IsNotification && line.Message is var message
                && message.TryGetProperty("id", out JsonElement lineId) && lineId.ValueKind == JsonValueKind.Number && lineId.GetInt32() == id)
            {
                return (message, at, notifications);
            }

            notifications.Add((at, line));
        }
    }

    /// <summary>Initializes the agent and opens a session.</summary>
    public async Task<string> NewSessionAsync()
    {
        if (_nextId == 0)
        {
            // With telemetry: each generation's inference event says where its time went.
            await ResponseAsync((await SendAsync("initialize", new
            {
                protocolVersion = 1,
                clientCapabilities = new Dictionary<string, object> { ["_meta"] = new { gptoss = new { telemetry = true } } },
            })).Id);
        }

        (JsonElement response, _, _) = await ResponseAsync((await SendAsync("session/new", new { cwd = "/tmp", mcpServers = Array.Empty<object>() })).Id);
        return response.GetProperty("result").GetProperty("sessionId").GetString()!;
    }

    /// <summary>Waits for the telemetry that says the session's llama context is made: as a user takes a moment to write.</summary>
    public async Task ContextReadyAsync(string sessionId)
    {
        while (!_contextsMade.Any(line => line.Contains(sessionId, StringComparison.Ordinal)))
        {
            await NextAsync();
        }
    }

    public Task<(int Id, long SentAt)> PromptAsync(string sessionId, string text) =>
        SendAsync("session/prompt", new { sessionId, prompt = new[] { new { type = "text", text } } });

    public static string StopReason(JsonElement response) =>
        response.TryGetProperty("result", out JsonElement result) ? result.GetProperty("stopReason").GetString()! : $"error {response.GetProperty("error")}";

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        await _process.WaitForExitAsync().WaitAsync(s_timeout);
        await Task.WhenAll(_reader, _errors).WaitAsync(s_timeout);
        _process.Dispose();
    }

    private async Task<long> WriteAsync(object message)
    {
        byte[] line = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(message) + "\n");
        Stream input = _process.StandardInput.BaseStream;
        long at = Stopwatch.GetTimestamp();
        await input.WriteAsync(line);
        await input.FlushAsync();
        return at;
    }

    private async Task ReadAsync()
    {
        using var reader = new StreamReader(_process.StandardOutput.BaseStream, Encoding.UTF8);
        while (await reader.ReadLineAsync() is { } line)
        {
            // Stamped and queued as text: this client shares the cores with the agent it measures.
            _lines.Writer.TryWrite((Stopwatch.GetTimestamp(), new AgentLine(line)));
        }

        _lines.Writer.Complete();
    }
}

/// <summary>A line the agent wrote, parsed only when asked.</summary>
internal sealed class AgentLine(string text)
{
    private JsonElement? _message;

    public string Text => text;

    public bool IsNotification => text.Contains("\"method\"", StringComparison.Ordinal) && !text.Contains("\"result\"", StringComparison.Ordinal);

    /// <summary>An agent_message_chunk update, told by its text alone.</summary>
    public bool IsChunk => text.Contains("\"sessionUpdate\":\"agent_message_chunk\"", StringComparison.Ordinal);

    public JsonElement Message => _message ??= Parse(text);

    /// <summary>For a _gptoss/telemetry notification: the event's kind.</summary>
    public string? TelemetryKind =>
        text.Contains("\"method\":\"_gptoss/telemetry\"", StringComparison.Ordinal) ? Message.GetProperty("params").GetProperty("kind").GetString() : null;

    /// <summary>For a session/update notification: the update's kind.</summary>
    public string? UpdateKind =>
        IsNotification && Message.GetProperty("params").TryGetProperty("update", out JsonElement update) ? update.GetProperty("sessionUpdate").GetString() : null;

    private static JsonElement Parse(string text)
    {
        using JsonDocument document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
