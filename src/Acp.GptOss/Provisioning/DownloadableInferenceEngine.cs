using Acp.GptOss.Inference;
using Acp.GptOss.Models;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Provisioning;

/// <summary>
/// The GPT-OSS engine when no model is installed anywhere (docs/models.md §9): it knows which model to offer
/// (gpt-oss-20b, from the Hugging Face Hub into the Hugging Face cache), and until the model is there each session it
/// is asked for fails with <see cref="ModelNotDownloadedException"/>, which the first prompt turns into a question
/// to the user. Once the file is downloaded and verified it starts the real engine on it (llama.cpp, with the
/// options the agent was started with) and delegates everything to it from then on.
/// </summary>
/// <remarks>Thread-safe. One download at a time, shared by every session that waits for it.</remarks>
internal sealed partial class DownloadableInferenceEngine : IInferenceEngine, IModelDownload
{
    private static readonly TimeSpan s_progressInterval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan s_probeTimeout = TimeSpan.FromSeconds(10);

    private readonly HubFile _file;
    private readonly ModelEnvironment _environment;
    private readonly HttpClient _http;
    private readonly ModelDownloader _downloader;
    private readonly HubClient _probe;
    private readonly HuggingFaceCache _cache;
    private readonly DownloadOptions _options;
    private readonly Func<string, IInferenceEngine> _start;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _disposing = new();
    private IInferenceEngine? _engine;
    private SharedDownload? _running;
    private Task _previous = Task.CompletedTask;

    /// <summary>Creates the engine; nothing is requested or downloaded until a prompt asks.</summary>
    /// <param name="name">The model's short name, as <c>models pull</c> takes it (gpt-oss-20b).</param>
    /// <param name="environment">Where the cache, the Hub, the token and HF_HUB_OFFLINE come from.</param>
    /// <param name="http">A client from <see cref="HubClient.CreateHttpClient"/>; the engine owns it.</param>
    /// <param name="options">The downloader's patience, and the clock progress is throttled by.</param>
    /// <param name="start">Starts the real engine on the downloaded file (llama.cpp, with the agent's options).</param>
    /// <param name="logger">The log.</param>
    public DownloadableInferenceEngine(
        string name, ModelEnvironment environment, HttpClient http, DownloadOptions options, Func<string, IInferenceEngine> start, ILogger logger)
    {
        ArgumentNullException.ThrowIfNull(environment);
        IReadOnlyList<HubFile> files = HubFile.Parse(name, "main", out string? error) ?? throw new ArgumentException(error, nameof(name));
        _file = files.Count == 1 ? files[0] : throw new ArgumentException($"{name} is a split model; only a model in one file is offered.", nameof(name));
        _environment = environment;
        _http = http;
        _options = options;
        _start = start;
        _logger = logger;
        _downloader = new ModelDownloader(http, environment, options, logger);
        // One short attempt: a Hub that cannot be reached makes the first prompt say so at once, not after retries.
        _probe = new HubClient(http, environment, options with { StallTimeout = options.StallTimeout < s_probeTimeout ? options.StallTimeout : s_probeTimeout }, logger);
        _cache = new HuggingFaceCache(environment.HuggingFaceCache);
        Offer = new ModelOffer(name, _file.Repository, _file.FileName, _cache.RepositoryFolder(_file.Repository));
        Guidance =
            $"To install it without this chat, run `acp-gptoss models pull {name}` in a terminal (it stores {_file.Name} in the Hugging Face cache, "
            + $"{_cache.Root}); or put a GPT-OSS GGUF in {Path.Combine(environment.Home, "models")}, or name one as \"model\" in {environment.ConfigFile} "
            + "(or with --model FILE.gguf, or GPT_OSS_GGUF_PATH). Then restart the agent.";
    }

    public ModelOffer Offer { get; }

    public string Guidance { get; }

    public bool IsDownloading
    {
        get
        {
            lock (_gate)
            {
                return _running is not null;
            }
        }
    }

    public string Description => Volatile.Read(ref _engine)?.Description ?? $"none yet ({Offer.Name} can be downloaded)";

    public IReadOnlyList<IModel> Models => Volatile.Read(ref _engine)?.Models ?? [];

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => CreateSessionAsync("-", cancellationToken);

    public ValueTask<IInferenceSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken) =>
        Volatile.Read(ref _engine) is { } engine
            ? engine.CreateSessionAsync(sessionId, cancellationToken)
            : throw new ModelNotDownloadedException($"No GPT-OSS model is installed. {Guidance}", this);

    public ValueTask<int> CountTokensAsync(string text, CancellationToken cancellationToken) =>
        Volatile.Read(ref _engine) is { } engine
            ? engine.CountTokensAsync(text, cancellationToken)
            : ValueTask.FromResult(System.Text.Encoding.UTF8.GetByteCount(text));

    public async Task<ModelOffer> CheckAsync(CancellationToken cancellationToken)
    {
        if (_environment.Offline)
        {
            throw new ModelDownloadUnavailableException($"HF_HUB_OFFLINE is set, so {Offer.Name} cannot be downloaded.");
        }

        if (_cache.FindComplete(_file) is { } complete && FileFacts.Target(complete) is { } blob)
        {
            // Pulled in a terminal meanwhile: nothing to download.
            return Offer with { SizeBytes = blob.Length, DownloadedBytes = blob.Length };
        }

        try
        {
            RemoteFile remote = await _probe.ResolveAsync(_file, _file.Revision, cancellationToken).ConfigureAwait(false);
            long partial = FileFacts.Target(_cache.IncompletePath(_file.Repository, remote.Sha256))?.Length ?? 0;
            return Offer with { SizeBytes = remote.Size, DownloadedBytes = partial <= remote.Size ? partial : 0 };
        }
        catch (TransientDownloadException e)
        {
            LogHubUnreachable(_logger, e.Message);
            throw new ModelDownloadUnavailableException($"The Hugging Face Hub cannot be reached ({e.Message}), so {Offer.Name} cannot be downloaded now.", e);
        }
        catch (ModelDownloadException e)
        {
            LogHubUnreachable(_logger, e.Message);
            throw new ModelDownloadUnavailableException($"{Offer.Name} cannot be downloaded now: {e.Message}", e);
        }
    }

    public async Task DownloadAsync(Action<ModelDownloadProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        SharedDownload shared;
        lock (_gate)
        {
            if (_engine is not null)
            {
                return;
            }

            ObjectDisposedException.ThrowIf(_disposing.IsCancellationRequested, this);
            shared = _running ??= Begin();
            shared.Join(progress);
        }

        try
        {
            await shared.Completion.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            bool stop;
            lock (_gate)
            {
                // The last one waiting stops the download; a prompt after it starts a new one, which resumes.
                stop = shared.Leave(progress) == 0 && !shared.Completion.IsCompleted;
                if (stop && _running == shared)
                {
                    _running = null;
                }
            }

            if (stop)
            {
                LogStopped(_logger, _file.Name);
                await shared.Cancellation.CancelAsync().ConfigureAwait(false);
            }
        }
    }

    // Under _gate.
    private SharedDownload Begin()
    {
        var shared = new SharedDownload(new ProgressThrottle(_options.Time, s_progressInterval));
        // The download before (cancelled) may still be letting go of the partial file and its lock.
        Task previous = _previous;
        shared.Completion = Task.Run(() => RunAsync(previous, shared));
        _previous = shared.Completion;
        _ = shared.Completion.ContinueWith(
            _ =>
            {
                lock (_gate)
                {
                    if (_running == shared)
                    {
                        _running = null;
                    }
                }
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
        return shared;
    }

    private async Task RunAsync(Task previous, SharedDownload shared)
    {
        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(shared.Cancellation.Token, _disposing.Token);
        CancellationToken token = cancellation.Token;
        string path;
        try
        {
            LogDownloading(_logger, _file.Name, _cache.Root);
            IReadOnlyList<DownloadedFile> done = await _downloader.DownloadAsync([_file], shared.Report, token).ConfigureAwait(false);
            path = done[0].Path;
        }
        catch (ModelDownloadException e)
        {
            throw new InferenceException(e.Message, e);
        }
        finally
        {
            shared.Close();
        }

        IInferenceEngine engine = _start(path);
        lock (_gate)
        {
            _engine = engine;
        }

        LogDownloaded(_logger, _file.Name, path);
        shared.Report(ModelDownloadPhase.Loading);
        if (engine.Models.FirstOrDefault(m => m.Role == ModelRole.GptOss) is { } model)
        {
            await model.LoadAsync(token).ConfigureAwait(false);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposing.CancelAsync().ConfigureAwait(false);
        Task previous;
        lock (_gate)
        {
            previous = _previous;
        }

        await previous.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (Volatile.Read(ref _engine) is { } engine)
        {
            await engine.DisposeAsync().ConfigureAwait(false);
        }

        _http.Dispose();
        _disposing.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "No GPT-OSS model was found; downloading {File} into {Cache}, as the user allowed")]
    private static partial void LogDownloading(ILogger logger, string file, string cache);

    [LoggerMessage(Level = LogLevel.Information, Message = "{File} is downloaded and verified: {Path}; starting the engine on it")]
    private static partial void LogDownloaded(ILogger logger, string file, string path);

    [LoggerMessage(Level = LogLevel.Information, Message = "The download of {File} stopped: no prompt waits for it any more; what it downloaded is kept")]
    private static partial void LogStopped(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The model cannot be downloaded now: {Reason}")]
    private static partial void LogHubUnreachable(ILogger logger, string reason);
}
