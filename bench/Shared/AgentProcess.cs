using System.Diagnostics;
using System.Text;
using System.Text.Json;
using System.Threading.Channels;

namespace Bench.Shared;

/// <summary>
/// The agent as an editor runs it: a process speaking ACP over stdio, each line of its stdout stamped on arrival.
/// The agent is an executable or a .dll (run through dotnet). One client for every benchmark that drives the agent
/// (compiled into each of them).
/// </summary>
internal sealed class AgentProcess : IAsyncDisposable
{
    private static readonly TimeSpan s_timeout = TimeSpan.FromMinutes(2);

    private readonly Process _process;
    private readonly Channel<(long At, AgentLine Line)> _lines = Channel.CreateUnbounded<(long, AgentLine)>();
    private readonly Task _reader;
    private readonly Task _errors;
    private int _nextId;

    private AgentProcess(Process process, long startedAt)
    {
        _process = process;
        StartedAt = startedAt;
        _reader = ReadAsync();
        // Its log is not measured, but must be read, or a full pipe would stall the agent.
        _errors = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
    }

    /// <summary>When the process was started.</summary>
    public long StartedAt { get; }

    /// <summary>From each generation cancelled inside llama.cpp, as its telemetry reports: from the cancel to llama.cpp's return.</summary>
    public List<double> NativeStops { get; } = [];

    public static ProcessStartInfo Command(string agent, IEnumerable<string> arguments)
    {
        bool dll = agent.EndsWith(".dll", StringComparison.OrdinalIgnoreCase);
        var start = new ProcessStartInfo(dll ? "dotnet" : agent)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        if (dll)
        {
            start.ArgumentList.Add(agent);
        }

        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return start;
    }

    public static AgentProcess Start(string agent, params string[] arguments) => Start(agent, new Dictionary<string, string>(), arguments);

    /// <summary>Starts the agent with <paramref name="environment"/> added to its environment (a scratch state folder, say).</summary>
    public static AgentProcess Start(string agent, IReadOnlyDictionary<string, string> environment, params string[] arguments)
    {
        ProcessStartInfo start = Command(agent, arguments);
        foreach ((string name, string value) in environment)
        {
            start.Environment[name] = value;
        }

        long at = Stopwatch.GetTimestamp();
        return new AgentProcess(Process.Start(start) ?? throw new InvalidOperationException($"Could not start {agent}."), at);
    }

    /// <summary>Sends a request; returns its id and the moment it was written.</summary>
    public async Task<(int Id, long SentAt)> SendAsync(string method, object parameters)
    {
        int id = ++_nextId;
        return (id, await WriteAsync(new { jsonrpc = "2.0", id, method, @params = parameters }));
    }

    /// <summary>Sends a notification; returns the moment it was written.</summary>
    public Task<long> NotifyAsync(string method, object parameters) => WriteAsync(new { jsonrpc = "2.0", method, @params = parameters });

    /// <summary>Answers a request the agent made.</summary>
    public Task<long> AnswerAsync(JsonElement id, object result) => WriteAsync(new { jsonrpc = "2.0", id, result });

    /// <summary>Every line read so far, with the moment it arrived.</summary>
    public List<(long At, AgentLine Line)> Seen { get; } = [];

    /// <summary>The next line, with the moment it arrived.</summary>
    public async Task<(long At, AgentLine Line)> NextAsync()
    {
        (long At, AgentLine Line) next = await _lines.Reader.ReadAsync().AsTask().WaitAsync(s_timeout);
        Seen.Add(next);
        if (next.Line.TelemetryKind == "inference" && next.Line.Message.GetProperty("params").TryGetProperty("abortStopMs", out JsonElement stop))
        {
            NativeStops.Add(stop.GetDouble());
        }

        return next;
    }

    /// <summary>The first line, read already or to come, that <paramref name="match"/> accepts.</summary>
    public async Task<(long At, AgentLine Line)> FindAsync(Func<AgentLine, bool> match)
    {
        foreach ((long At, AgentLine Line) seen in Seen)
        {
            if (match(seen.Line))
            {
                return seen;
            }
        }

        return await WaitForAsync(match);
    }

    /// <summary>Reads up to the response to <paramref name="id"/>; returns it, its arrival, and the lines before it.</summary>
    public async Task<(JsonElement Response, long At, List<(long At, AgentLine Line)> Before)> ResponseAsync(int id)
    {
        var before = new List<(long, AgentLine)>();
        while (true)
        {
            (long at, AgentLine line) = await NextAsync();
            if (line.IsResponseTo(id))
            {
                return (line.Message, at, before);
            }

            before.Add((at, line));
        }
    }

    /// <summary>Reads up to the first line <paramref name="match"/> accepts; returns it and its arrival.</summary>
    public async Task<(long At, AgentLine Line)> WaitForAsync(Func<AgentLine, bool> match)
    {
        while (true)
        {
            (long at, AgentLine line) = await NextAsync();
            if (match(line))
            {
                return (at, line);
            }
        }
    }

    /// <summary>Initializes, asking for telemetry, which tells the benchmark where a load is.</summary>
    public async Task<long> InitializeAsync()
    {
        (int id, _) = await SendAsync("initialize", new
        {
            protocolVersion = 1,
            clientCapabilities = new { _meta = new { gptoss = new { telemetry = true } } },
        });
        (_, long at, _) = await ResponseAsync(id);
        return at;
    }

    /// <summary>Opens a session; returns its id, and when session/new was sent and answered.</summary>
    public async Task<(string Session, long SentAt, long AnsweredAt)> NewSessionAsync(string cwd)
    {
        (int id, long sent) = await SendAsync("session/new", new { cwd, mcpServers = Array.Empty<object>() });
        (JsonElement response, long at, _) = await ResponseAsync(id);
        if (!response.TryGetProperty("result", out JsonElement result))
        {
            throw new InvalidOperationException($"session/new failed: {response}");
        }

        return (result.GetProperty("sessionId").GetString()!, sent, at);
    }

    /// <summary>Waits for the telemetry that says the session's llama context is made: as a user takes a moment to write.</summary>
    public Task ContextReadyAsync(string sessionId) =>
        FindAsync(line => line.LoadStage == "context_created" && line.Text.Contains(sessionId, StringComparison.Ordinal));

    public Task<(int Id, long SentAt)> PromptAsync(string sessionId, string text) =>
        SendAsync("session/prompt", new { sessionId, prompt = new[] { new { type = "text", text } } });

    public Task<long> CancelAsync(string sessionId) => NotifyAsync("session/cancel", new { sessionId });

    public static string StopReason(JsonElement response) =>
        response.TryGetProperty("result", out JsonElement result) ? result.GetProperty("stopReason").GetString()! : $"error {response.GetProperty("error")}";

    public async ValueTask DisposeAsync()
    {
        _process.StandardInput.Close();
        try
        {
            await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(20));
        }
        catch (TimeoutException)
        {
            _process.Kill(entireProcessTree: true);
        }

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

    /// <summary>A notification, or a request of the agent's: told by its text alone.</summary>
    public bool IsNotification => text.Contains("\"method\"", StringComparison.Ordinal) && !text.Contains("\"result\"", StringComparison.Ordinal);

    /// <summary>An agent_message_chunk update, told by its text alone.</summary>
    public bool IsChunk => text.Contains("\"sessionUpdate\":\"agent_message_chunk\"", StringComparison.Ordinal);

    public bool IsTelemetry => text.Contains("\"method\":\"_gptoss/telemetry\"", StringComparison.Ordinal);

    public bool IsPermissionRequest => text.Contains("\"method\":\"session/request_permission\"", StringComparison.Ordinal);

    public JsonElement Message => _message ??= Parse(text);

    /// <summary>For a _gptoss/telemetry notification: the event's kind.</summary>
    public string? TelemetryKind => IsTelemetry ? Message.GetProperty("params").GetProperty("kind").GetString() : null;

    /// <summary>For a session/update notification: the update's kind.</summary>
    public string? UpdateKind =>
        IsNotification && Message.GetProperty("params").TryGetProperty("update", out JsonElement update) ? update.GetProperty("sessionUpdate").GetString() : null;

    /// <summary>For a load telemetry event: its stage.</summary>
    public string? LoadStage => IsTelemetry && Message.GetProperty("params").TryGetProperty("stage", out JsonElement stage) ? stage.GetString() : null;

    /// <summary>For a load telemetry event: its detail.</summary>
    public string? LoadDetail => IsTelemetry && Message.GetProperty("params").TryGetProperty("detail", out JsonElement detail) ? detail.GetString() : null;

    public bool IsResponseTo(int id) =>
        !IsNotification && Message.TryGetProperty("id", out JsonElement lineId)
        && lineId.ValueKind == JsonValueKind.Number && lineId.GetInt32() == id;

    public bool IsToolCallInProgress => text.Contains("\"sessionUpdate\":\"tool_call_update\"", StringComparison.Ordinal)
        && text.Contains("\"status\":\"in_progress\"", StringComparison.Ordinal);

    private static JsonElement Parse(string text)
    {
        using JsonDocument document = JsonDocument.Parse(text);
        return document.RootElement.Clone();
    }
}
