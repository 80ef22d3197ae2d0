using System.Diagnostics;
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
/// An ACP client driving the agent with raw JSON-RPC lines, so tests see exactly what it writes and in which order:
/// either the agent in-process on in-memory pipes, or the built executable on its stdio.
/// </summary>
internal sealed class AgentHarness : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    private readonly Stream _toAgent;
    private readonly Channel<JsonElement> _lines = Channel.CreateUnbounded<JsonElement>();
    private readonly Task _agent;
    private readonly Task _reader;
    private readonly Process? _process;
    private readonly StringBuilder _error = new();
    private readonly Channel<string> _errorLines = Channel.CreateUnbounded<string>();
    private int _nextId;

    /// <summary>The agent in-process, on <paramref name="engine"/>.</summary>
    public AgentHarness(IInferenceEngine engine, AgentOptions? options = null)
        : this(new AgentEngines(engine), options)
    {
    }

    /// <summary>The agent in-process, on <paramref name="engines"/>.</summary>
    public AgentHarness(AgentEngines engines, AgentOptions? options = null)
    {
        options ??= new AgentOptions();
        var toAgent = new Pipe();
        var fromAgent = new Pipe();
        _toAgent = toAgent.Writer.AsStream();
        _agent = RunAgentAsync(toAgent.Reader, fromAgent.Writer, engines, options with { Today = () => new DateOnly(2025, 8, 5) });
        _reader = ReadAsync(fromAgent.Reader.AsStream());
    }

    private AgentHarness(Process process)
    {
        _process = process;
        _toAgent = process.StandardInput.BaseStream;
        _agent = process.WaitForExitAsync();
        _reader = Task.WhenAll(ReadAsync(process.StandardOutput.BaseStream), CollectErrorAsync(process.StandardError));
    }

    /// <summary>Every line the agent wrote, in order, as it arrived.</summary>
    public List<JsonElement> Written { get; } = [];

    /// <summary>Ends when the agent does.</summary>
    public Task Completion => _agent;

    /// <summary>For the executable: what it wrote to stderr so far.</summary>
    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>For the executable: waits for a line on its stderr (a log event) that satisfies <paramref name="match"/>.</summary>
    public async Task<string> WaitForErrorLineAsync(Func<string, bool> match)
    {
        try
        {
            while (true)
            {
                string line = await _errorLines.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (Exception e) when (e is ChannelClosedException or TimeoutException)
        {
            throw new InvalidOperationException($"The agent logged no such line ({e.Message}). Its stderr:\n{Error}", e);
        }
    }

    /// <summary>For the executable: its exit code, once <see cref="Completion"/> is done.</summary>
    public int ExitCode => _process?.ExitCode ?? throw new InvalidOperationException("The agent runs in-process.");

    /// <summary>The built executable, as an editor launches it, with <paramref name="arguments"/>.</summary>
    public static AgentHarness StartProcess(params string[] arguments) => Start("dotnet", [Repository.Agent, .. arguments]);

    /// <summary>The built executable with <paramref name="arguments"/>, in an environment with these variables changed.</summary>
    public static AgentHarness StartProcess(IDictionary<string, string> environment, params string[] arguments) => Start("dotnet", [Repository.Agent, .. arguments], environment);

    /// <summary>
    /// The published native executable with <paramref name="arguments"/>, in an environment with these variables
    /// changed, started in <paramref name="workingDirectory"/> (an editor starts it in the project).
    /// </summary>
    public static AgentHarness StartNativeIn(string workingDirectory, IDictionary<string, string> environment, params string[] arguments) =>
        Start(Repository.NativeAgent ?? throw new InvalidOperationException(Repository.NativeAgentMissing), arguments, environment, workingDirectory);

    /// <summary>The published native executable (<see cref="Repository.NativeAgent"/>), with <paramref name="arguments"/>.</summary>
    public static AgentHarness StartNative(params string[] arguments) =>
        Start(Repository.NativeAgent ?? throw new InvalidOperationException(Repository.NativeAgentMissing), arguments);

    private static AgentHarness Start(string fileName, IEnumerable<string> arguments, IDictionary<string, string>? environment = null, string? workingDirectory = null) =>
        new(Process.Start(ChildProcess.StartInfo(fileName, arguments, workingDirectory, environment))!);

    public async Task SendAsync(string line) => await SendAsync([line]);

    /// <summary>Sends several lines in one write, so the agent reads them back to back.</summary>
    public async Task SendAsync(IEnumerable<string> lines)
    {
        await _toAgent.WriteAsync(Encoding.UTF8.GetBytes(string.Concat(lines.Select(l => l + "\n"))));
        await _toAgent.FlushAsync();
    }

    public static string Request(int id, string method, object parameters) => JsonSerializer.Serialize(new { jsonrpc = "2.0", id, method, @params = parameters });

    public static string Notification(string method, object parameters) => JsonSerializer.Serialize(new { jsonrpc = "2.0", method, @params = parameters });

    public static string Prompt(int id, string sessionId, string text) =>
        Request(id, "session/prompt", new { sessionId, prompt = new[] { new { type = "text", text } } });

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

    public async Task<JsonElement> NextAsync()
    {
        try
        {
            return await _lines.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
        }
        catch (Exception e) when (e is ChannelClosedException or TimeoutException)
        {
            throw new InvalidOperationException($"The agent wrote no further line ({e.Message}). Its stderr:\n{Error}", e);
        }
    }

    /// <summary>Initializes and opens a session; returns its id.</summary>
    public async Task<string> NewSessionAsync(string cwd = "/workspace")
    {
        await RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        (JsonElement response, _) = await RequestAsync("session/new", new { cwd, mcpServers = Array.Empty<object>() });
        await CommandsAfterAsync(response);
        return response.GetProperty("result").GetProperty("sessionId").GetString()!;
    }

    /// <summary>Initializes with <paramref name="clientCapabilities"/> and opens a session in <paramref name="cwd"/>; returns the session/new result.</summary>
    public async Task<JsonElement> NewSessionAsync(string cwd, object clientCapabilities, object[]? mcpServers = null)
    {
        await RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities });
        (JsonElement response, _) = await RequestAsync("session/new", new { cwd, mcpServers = mcpServers ?? [] });
        await CommandsAfterAsync(response);
        return response.GetProperty("result");
    }

    /// <summary>
    /// Takes the <c>available_commands_update</c> that follows a session's opening answer (docs/acp.md §4.5), so that
    /// the next line a test reads is the one it waits for. It, and any telemetry skipped on the way, is still in
    /// <see cref="Written"/>.
    /// </summary>
    public async Task<JsonElement> CommandsAfterAsync(JsonElement openingResponse)
    {
        if (!openingResponse.TryGetProperty("result", out _))
        {
            return default;
        }

        // Load telemetry, for a client that asked for it, comes from the load's own thread and may come first.
        JsonElement line = await NextAsync();
        while (line.TryGetProperty("method", out JsonElement m) && m.GetString() == "_gptoss/telemetry")
        {
            line = await NextAsync();
        }

        return line.TryGetProperty("method", out JsonElement method) && method.GetString() == "session/update" && Updates.Kind(line) == "available_commands_update"
            ? line
            : throw new InvalidOperationException($"The session's commands did not follow its answer; the next line was {line.GetRawText()}");
    }

    /// <summary>
    /// Sends a prompt and plays the client until its response: each request the agent makes (permission, fs,
    /// terminal) is answered with what <paramref name="answer"/> returns, a result object or a <see cref="ClientError"/>.
    /// </summary>
    /// <returns>The response, the session updates before it, and the agent's requests in order.</returns>
    public async Task<(JsonElement Response, List<JsonElement> Notifications, List<JsonElement> Requests)> PromptAnsweringAsync(
        string sessionId, string text, Func<JsonElement, object> answer)
    {
        int id = await SendPromptAsync(sessionId, text);
        return await AnswerUntilResponseAsync(id, answer);
    }

    /// <summary>Plays the client as <see cref="PromptAnsweringAsync"/> does, until the response to request <paramref name="id"/>.</summary>
    public async Task<(JsonElement Response, List<JsonElement> Notifications, List<JsonElement> Requests)> AnswerUntilResponseAsync(
        int id, Func<JsonElement, object> answer)
    {
        var notifications = new List<JsonElement>();
        var requests = new List<JsonElement>();
        while (true)
        {
            JsonElement line = await NextAsync();
            bool hasMethod = line.TryGetProperty("method", out JsonElement method);
            bool hasId = line.TryGetProperty("id", out JsonElement lineId);
            if (hasMethod && hasId)
            {
                requests.Add(line);
                await AnswerAsync(line, answer(line));
            }
            else if (hasMethod)
            {
                if (method.GetString() == "session/update")
                {
                    notifications.Add(line);
                }
                else
                {
                    requests.Add(line);
                }
            }
            else if (hasId && lineId.ValueKind == JsonValueKind.Number && lineId.GetInt32() == id)
            {
                return (line, notifications, requests);
            }
        }
    }

    /// <summary>Answers a request the agent sent.</summary>
    public Task AnswerAsync(JsonElement request, object result)
    {
        JsonElement id = request.GetProperty("id");
        return SendAsync(result is ClientError error
            ? JsonSerializer.Serialize(new { jsonrpc = "2.0", id, error = new { code = error.Code, message = error.Message } })
            : JsonSerializer.Serialize(new { jsonrpc = "2.0", id, result }));
    }

    /// <summary>Waits for the agent's next request to the client (a line with a method and an id), collecting what comes before.</summary>
    public async Task<JsonElement> NextRequestAsync(List<JsonElement>? before = null)
    {
        while (true)
        {
            JsonElement line = await NextAsync();
            if (line.TryGetProperty("method", out _) && line.TryGetProperty("id", out _))
            {
                return line;
            }

            before?.Add(line);
        }
    }

    public Task<(JsonElement Response, List<JsonElement> Notifications)> PromptAsync(string sessionId, string text) =>
        RequestAsync("session/prompt", new { sessionId, prompt = new[] { new { type = "text", text } } });

    public async Task<int> SendPromptAsync(string sessionId, string text)
    {
        int id = NextId();
        await SendAsync(Prompt(id, sessionId, text));
        return id;
    }

    /// <summary>Ends the executable at once: for servers (the relay), which do not end with their input.</summary>
    public void Kill()
    {
        if (_process is { HasExited: false })
        {
            _process.Kill(entireProcessTree: true);
        }
    }

    /// <summary>Ends the agent's input, as a client leaving.</summary>
    public async Task CloseInputAsync() => await _toAgent.DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        await _toAgent.DisposeAsync();
        try
        {
            await _agent.WaitAsync(Timeout);
            await _reader.WaitAsync(Timeout);
        }
        finally
        {
            if (_process is not null)
            {
                if (!_process.HasExited)
                {
                    _process.Kill(entireProcessTree: true);
                }

                _process.Dispose();
            }
        }
    }

    private static async Task RunAgentAsync(PipeReader input, PipeWriter output, AgentEngines engines, AgentOptions options)
    {
        try
        {
            await AgentHost.RunAsync(JsonRpcPeer.ForStreams(input.AsStream(), output.AsStream(), NullLogger.Instance), engines, options, NullLoggerFactory.Instance, CancellationToken.None);
        }
        finally
        {
            await output.CompleteAsync();
        }
    }

    private async Task ReadAsync(Stream fromAgent)
    {
        using var reader = new StreamReader(fromAgent, Encoding.UTF8);
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

    private async Task CollectErrorAsync(StreamReader error)
    {
        while (await error.ReadLineAsync() is { } line)
        {
            lock (_error)
            {
                _error.Append(line).Append('\n');
            }

            _errorLines.Writer.TryWrite(line);
        }

        _errorLines.Writer.Complete();
    }
}

/// <summary>An error answer to one of the agent's requests.</summary>
internal sealed record ClientError(int Code, string Message);

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
