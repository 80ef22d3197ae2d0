using System.Diagnostics;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// GPT-OSS on a remote server, as the agent controls a model: "loading" is finding the server and checking that it
/// serves the model; "ready" means it answered; "error" says why it did not, or why the last completion failed, until
/// the next check or completion succeeds. Unloading forgets what the probe learned: the server's memory is its own.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class RemoteModel : IModel
{
    private readonly RemoteServer _server;
    private readonly RemoteEngineOptions _options;
    private readonly IReadOnlyList<IRemoteDialect> _dialects;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private Task<(IRemoteDialect Dialect, RemoteModelInfo Info)>? _probe;
    private ModelState _state = ModelState.NotLoaded;
    private string? _error;
    private (IRemoteDialect Dialect, RemoteModelInfo Info)? _ready;

    public RemoteModel(RemoteServer server, RemoteEngineOptions options, IReadOnlyList<IRemoteDialect> dialects, Telemetry telemetry, ILogger logger)
    {
        _server = server;
        _options = options;
        _dialects = dialects;
        _telemetry = telemetry;
        _logger = logger;
    }

    public ModelRole Role => ModelRole.GptOss;

    public ModelState State
    {
        get
        {
            lock (_gate)
            {
                return _state;
            }
        }
    }

    /// <summary>What the last probe found, once ready.</summary>
    public RemoteModelInfo? Info
    {
        get
        {
            lock (_gate)
            {
                return _ready?.Info;
            }
        }
    }

    public ModelStatus GetStatus()
    {
        lock (_gate)
        {
            RemoteModelInfo? info = _ready?.Info;
            return new ModelStatus(Role, _state, _server.Endpoint.AbsoluteUri)
            {
                Error = _state == ModelState.Error ? _error : null,
                LoadProgress = _state == ModelState.Ready ? 1 : 0,
                ContextSize = info is null ? null : info.ContextSize ?? _options.ContextSize,
                Description = info is null ? null : $"{WireName(info.Kind)} serving {info.Model}" + (info.Version is { } v ? $" ({v})" : ""),
                Remote = new RemoteStatus(_server.Endpoint.AbsoluteUri, info is null ? _options.Kind is { } k ? WireName(k) : null : WireName(info.Kind), info?.Model ?? _options.Model, info?.Version),
            };
        }
    }

    public void StartLoading() => _ = ProbeAsync(CancellationToken.None).ContinueWith(static t => _ = t.Exception, TaskScheduler.Default);

    public Task LoadAsync(CancellationToken cancellationToken) => ProbeAsync(cancellationToken);

    public Task UnloadAsync()
    {
        lock (_gate)
        {
            if (_state != ModelState.Loading)
            {
                (_state, _ready, _error) = (ModelState.NotLoaded, null, null);
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>The dialect and model to use, probing first unless ready.</summary>
    /// <exception cref="InferenceException">The server cannot be used; the message says why.</exception>
    public async Task<(IRemoteDialect Dialect, RemoteModelInfo Info)> ReadyAsync(CancellationToken cancellationToken)
    {
        lock (_gate)
        {
            if (_ready is { } ready && _state != ModelState.Error)
            {
                return ready;
            }
        }

        return await ProbeAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>A completion failed on the server's side: status shows why until the next success.</summary>
    public void ReportFailure(string message)
    {
        lock (_gate)
        {
            if (_state == ModelState.Ready)
            {
                (_state, _error) = (ModelState.Error, message);
            }
        }
    }

    /// <summary>A completion succeeded: the server is healthy.</summary>
    public void ReportSuccess()
    {
        lock (_gate)
        {
            if (_state == ModelState.Error && _ready is not null)
            {
                (_state, _error) = (ModelState.Ready, null);
            }
        }
    }

    internal static string WireName(RemoteKind kind) => kind switch
    {
        RemoteKind.LlamaServer => "llama-server",
        RemoteKind.Vllm => "vllm",
        RemoteKind.Sglang => "sglang",
        _ => "openai",
    };

    private Task<(IRemoteDialect Dialect, RemoteModelInfo Info)> ProbeAsync(CancellationToken cancellationToken)
    {
        Task<(IRemoteDialect, RemoteModelInfo)> probe;
        lock (_gate)
        {
            if (_probe is null || _probe.IsCompleted)
            {
                _state = ModelState.Loading;
                _probe = RunProbeAsync();
            }

            probe = _probe;
        }

        return probe.WaitAsync(cancellationToken);
    }

    // One probe at a time, shared by every caller; none of them can cancel it for the others.
    private async Task<(IRemoteDialect Dialect, RemoteModelInfo Info)> RunProbeAsync()
    {
        await Task.Yield();
        long started = Stopwatch.GetTimestamp();
        _telemetry.Publish(new LoadStageEvent(Role, LoadStageEvent.Open, 0, 0, _server.Endpoint.AbsoluteUri));
        try
        {
            IRemoteDialect dialect = await DialectAsync().ConfigureAwait(false);
            RemoteModelInfo info = await dialect.ProbeAsync(_server, _options.Model, CancellationToken.None).ConfigureAwait(false);
            lock (_gate)
            {
                (_state, _ready, _error) = (ModelState.Ready, (dialect, info), null);
            }

            string detail = $"{WireName(info.Kind)} at {_server.Endpoint} serving {info.Model}, context {info.ContextSize?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "unknown"}";
            LogReady(_logger, detail);
            _telemetry.Publish(new LoadStageEvent(Role, LoadStageEvent.Warm, Stopwatch.GetElapsedTime(started).TotalMilliseconds, 1, detail));
            return (dialect, info);
        }
        catch (InferenceException e)
        {
            lock (_gate)
            {
                (_state, _ready, _error) = (ModelState.Error, null, e.Message);
            }

            LogFailed(_logger, e.Message);
            _telemetry.Publish(new LoadStageEvent(Role, LoadStageEvent.Failed, Stopwatch.GetElapsedTime(started).TotalMilliseconds, 0, e.Message));
            throw;
        }
    }

    private async Task<IRemoteDialect> DialectAsync()
    {
        if (_options.Kind is { } kind)
        {
            return _dialects.First(d => d.Kind == kind);
        }

        foreach (IRemoteDialect dialect in _dialects.Where(d => d.Kind != RemoteKind.OpenAi))
        {
            if (await dialect.IsServedByAsync(_server, CancellationToken.None).ConfigureAwait(false))
            {
                return dialect;
            }
        }

        // A server that answers none of the token-id paths may still take chat messages.
        return _dialects.FirstOrDefault(d => d.Kind == RemoteKind.OpenAi)
            ?? throw new InferenceException($"The server at {_server.Endpoint} is none of llama-server, vLLM or SGLang; say which with --remote-kind.");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Remote engine ready: {Detail}")]
    private static partial void LogReady(ILogger logger, string detail);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote engine unavailable: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
