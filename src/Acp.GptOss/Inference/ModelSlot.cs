using System.Diagnostics;
using System.Text.Json.Serialization;
using LlamaCpp;
using LlamaCpp.Gguf;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference;

/// <summary>Where a model is in its life.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ModelState>))]
internal enum ModelState
{
    [JsonStringEnumMemberName("notLoaded")]
    NotLoaded,

    [JsonStringEnumMemberName("loading")]
    Loading,

    [JsonStringEnumMemberName("ready")]
    Ready,

    [JsonStringEnumMemberName("error")]
    Error,
}

/// <summary>A model's state, for <c>_gptoss/status</c>.</summary>
/// <param name="Role">gpt-oss or fast.</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Path">The GGUF file.</param>
internal sealed record ModelStatus(string Role, ModelState State, string Path)
{
    /// <summary>Why it failed to load, in the <see cref="ModelState.Error"/> state.</summary>
    public string? Error { get; init; }

    /// <summary>Its size on disk, if the file exists.</summary>
    public long? SizeBytes { get; init; }

    /// <summary>How far loading the weights is, 0 to 1.</summary>
    public double LoadProgress { get; init; }

    /// <summary>Memory for the weights and one session's KV cache.</summary>
    public long? RamNeededBytes { get; init; }

    /// <summary>Memory available to this process now.</summary>
    public long? RamAvailableBytes { get; init; }

    /// <summary>Free space on the model's file system.</summary>
    public long? DiskFreeBytes { get; init; }

    /// <summary>The context size of each session, once known.</summary>
    public int? ContextSize { get; init; }

    /// <summary>What llama.cpp says the model is, once loaded.</summary>
    public string? Description { get; init; }
}

/// <summary>How a slot loads its model.</summary>
internal sealed record ModelSlotOptions
{
    /// <summary>gpt-oss or fast: the name in status, logs and telemetry.</summary>
    public required string Role { get; init; }

    public required string Path { get; init; }

    /// <summary>The architecture the file must have, if any.</summary>
    public string? RequiredArchitecture { get; init; }

    /// <summary>The context size asked for; shrunk when it does not fit in memory.</summary>
    public int ContextSize { get; init; } = 8192;

    /// <summary>Where the native runtime is, if not beside the application.</summary>
    public string? NativeDirectory { get; init; }

    /// <summary>Unload after this long without use; never when null.</summary>
    public TimeSpan? IdleUnload { get; init; }

    /// <summary>Layers offloaded to a GPU (llama.cpp's n_gpu_layers): -1 every layer when a GPU backend is present, 0 none.</summary>
    public int GpuLayers { get; init; } = -1;

    /// <summary>
    /// Checks the file's header beyond what llama.cpp needs (that its vocabulary is the one prompts are rendered
    /// with, say) before the weights load; throws <see cref="InferenceException"/> to refuse it.
    /// </summary>
    public Action<GgufFile>? CheckHeader { get; init; }
}

/// <summary>A loaded model, and the load it came from: contexts made for an earlier load must be made again.</summary>
internal sealed record LoadedModel(LlamaModel Model, int ContextSize, long Generation);

/// <summary>
/// One model file and its life: not loaded, loading, ready or failed. It loads on demand (in the background: a
/// prompt waits for it, a status request does not), reports each stage as telemetry, unloads when asked or when
/// idle, and never unloads under a running generation: users hold a <see cref="Lease"/>. A failed load is retried
/// by the next demand, so fixing the file needs no restart.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class ModelSlot : IAsyncDisposable
{
    private readonly ModelSlotOptions _options;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly TimeProvider _time;
    private readonly Lock _gate = new();
    private readonly List<Action> _unloadListeners = [];
    private readonly ITimer? _idleTimer;
    private Task<LoadedModel>? _load;
    private CancellationTokenSource? _loadCancel;
    private Task? _unload;
    private TaskCompletionSource? _idle;
    private long _generation;
    private long _warmedGeneration;
    private int _users;
    private long _lastUsed;
    private double _progress;
    private string? _error;
    private GgufFile? _file;
    private bool _disposed;

    public ModelSlot(ModelSlotOptions options, Telemetry telemetry, ILogger logger, TimeProvider? time = null)
    {
        _options = options;
        _telemetry = telemetry;
        _logger = logger;
        _time = time ?? TimeProvider.System;
        _lastUsed = _time.GetTimestamp();
        if (options.IdleUnload is { } idle)
        {
            // Checked a few times per idle period, so a model unloads at most a quarter period late.
            TimeSpan period = idle / 4 > TimeSpan.FromMilliseconds(10) ? idle / 4 : TimeSpan.FromMilliseconds(10);
            _idleTimer = _time.CreateTimer(_ => UnloadIfIdle(), null, period, period);
        }
    }

    public string Role => _options.Role;

    public string Path => _options.Path;

    public ModelState State
    {
        get
        {
            lock (_gate)
            {
                return StateLocked();
            }
        }
    }

    /// <summary>Runs when the model is about to be freed: holders of contexts free them.</summary>
    public IDisposable OnUnload(Action listener)
    {
        lock (_gate)
        {
            _unloadListeners.Add(listener);
        }

        return new Registration(this, listener);
    }

    /// <summary>Starts loading in the background, unless loaded or loading.</summary>
    public void StartLoading() => _ = EnsureLoadTask();

    /// <summary>Loads the model, or waits for the load under way.</summary>
    /// <exception cref="InferenceException">It cannot load; the message says why.</exception>
    public async Task<LoadedModel> LoadAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            Task? unload;
            lock (_gate)
            {
                unload = _unload;
            }

            if (unload is not null)
            {
                await unload.WaitAsync(cancellationToken).ConfigureAwait(false);
                continue;
            }

            Task<LoadedModel> load = EnsureLoadTask();
            try
            {
                return await load.WaitAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // An unload cancelled this load; the next round loads again.
            }
        }
    }

    /// <summary>The model, held until the lease is disposed: it cannot unload meanwhile.</summary>
    /// <exception cref="InferenceException">It cannot load.</exception>
    public async Task<Lease> AcquireAsync(CancellationToken cancellationToken)
    {
        while (true)
        {
            LoadedModel loaded = await LoadAsync(cancellationToken).ConfigureAwait(false);
            lock (_gate)
            {
                // Between the load and here an unload may have begun: then wait for it and load again.
                if (_unload is null && _load is { IsCompletedSuccessfully: true } load && load.Result == loaded)
                {
                    _users++;
                    return new Lease(this, loaded);
                }
            }
        }
    }

    /// <summary>
    /// Another hold on the model <paramref name="held"/> holds, for work that may outlive the holder's (a context
    /// made in the background for a prompt that may be cancelled meanwhile).
    /// </summary>
    public Lease Share(Lease held)
    {
        ArgumentNullException.ThrowIfNull(held);
        lock (_gate)
        {
            // While held is held, an unload waits for it: the model is still there.
            _users++;
            return new Lease(this, held.Loaded);
        }
    }

    /// <summary>Frees the model once no generation uses it; a load under way is cancelled. Does nothing when not loaded.</summary>
    public Task UnloadAsync()
    {
        lock (_gate)
        {
            if (_unload is not null)
            {
                return _unload;
            }

            if (_load is null)
            {
                return Task.CompletedTask;
            }

            _loadCancel?.Cancel();
            _idle = _users == 0 ? null : new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            // On another thread: it ends by clearing _unload under this lock, which must see it assigned first.
            Task<LoadedModel> load = _load;
            Task idle = _idle?.Task ?? Task.CompletedTask;
            _unload = Task.Run(() => UnloadCoreAsync(load, idle));
            return _unload;
        }
    }

    /// <summary>The state now, with memory and disk figures.</summary>
    public ModelStatus GetStatus()
    {
        ModelState state;
        LoadedModel? loaded;
        double progress;
        string? error;
        lock (_gate)
        {
            state = StateLocked();
            loaded = _load is { IsCompletedSuccessfully: true } load ? load.Result : null;
            progress = _progress;
            error = _error;
        }

        GgufFile? file = ReadHeader();
        long? size = File.Exists(Path) ? new FileInfo(Path).Length : null;
        int context = loaded?.ContextSize ?? _options.ContextSize;
        return new ModelStatus(Role, state, Path)
        {
            Error = error,
            SizeBytes = size,
            LoadProgress = state == ModelState.Ready ? 1 : progress,
            RamNeededBytes = file is null ? null : file.Length + (MemoryPreflight.KvBytesPerToken(file) * context),
            RamAvailableBytes = MemoryPreflight.AvailableMemory(),
            DiskFreeBytes = DiskFree(),
            ContextSize = loaded?.ContextSize,
            Description = loaded?.Model.Description,
        };
    }

    public async ValueTask DisposeAsync()
    {
        lock (_gate)
        {
            _disposed = true;
        }

        if (_idleTimer is not null)
        {
            await _idleTimer.DisposeAsync().ConfigureAwait(false);
        }

        await UnloadAsync().ConfigureAwait(false);
    }

    /// <summary>True for the first caller after each load: that one warms the model up.</summary>
    public bool ClaimWarmUp(LoadedModel loaded)
    {
        lock (_gate)
        {
            if (_warmedGeneration == loaded.Generation)
            {
                return false;
            }

            _warmedGeneration = loaded.Generation;
            return true;
        }
    }

    /// <summary>Reports a stage reached after loading: a context made, the model warm.</summary>
    public void ReportStage(string stage, TimeSpan elapsed, string? detail = null) =>
        _telemetry.Publish(new LoadStageEvent(Role, stage, elapsed.TotalMilliseconds, 1, detail));

    private ModelState StateLocked() => _load switch
    {
        null => _error is null ? ModelState.NotLoaded : ModelState.Error,
        { IsCompletedSuccessfully: true } => ModelState.Ready,
        { IsCompleted: true } => ModelState.Error,
        _ => ModelState.Loading,
    };

    private Task<LoadedModel> EnsureLoadTask()
    {
        lock (_gate)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            if (_load is { IsFaulted: false, IsCanceled: false } current)
            {
                return current;
            }

            // Not loaded, or the last load failed: this demand tries again.
            _loadCancel?.Dispose();
            _loadCancel = new CancellationTokenSource();
            _progress = 0;
            long generation = ++_generation;
            CancellationToken token = _loadCancel.Token;
            // A thread of its own: llama.cpp's load blocks for seconds, and on two cores a blocked pool thread or two
            // starve the pool, delaying every response (a cancel's included) until the pool grows.
            _load = Task.Factory.StartNew(() => Load(generation, token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return _load;
        }
    }

    private LoadedModel Load(long generation, CancellationToken cancellationToken)
    {
        // Its own thread, ended with the load: below the requests answered meanwhile.
        LlamaBackend.LowerCurrentThreadPriority();
        long started = Stopwatch.GetTimestamp();
        void Stage(string stage, string? detail = null) =>
            _telemetry.Publish(new LoadStageEvent(Role, stage, Stopwatch.GetElapsedTime(started).TotalMilliseconds, Volatile.Read(ref _progress), detail));

        try
        {
            Stage(LoadStageEvent.Open, Path);
            if (!File.Exists(Path))
            {
                throw new InferenceException($"The model {Path} does not exist.");
            }

            LlamaBackend backend = LlamaInferenceEngine.InitializeBackend(_logger, _options.NativeDirectory);
            var modelOptions = new LlamaModelOptions
            {
                RequiredArchitecture = _options.RequiredArchitecture,
                Progress = progress => Volatile.Write(ref _progress, progress),
                GpuLayers = _options.GpuLayers,
            };
            // The header is parsed here once per load; llama.cpp reads it again itself, as it must.
            GgufFile file = LlamaModel.Preflight(Path, modelOptions);
            _file = file;
            _options.CheckHeader?.Invoke(file);
            int contextSize = MemoryPreflight.FitContext(file, _options.ContextSize, MemoryPreflight.AvailableMemory() ?? long.MaxValue / 4, out string? warning);
            if (warning is not null)
            {
                LogContextShrunk(_logger, Role, warning);
            }

            Stage(LoadStageEvent.Preflight, $"{file.Architecture}, {file.Length} bytes, {contextSize}-token context on llama.cpp {backend.Variant}");
            LlamaModel model = LlamaModel.Load(backend, file, modelOptions, cancellationToken);
            contextSize = Math.Min(contextSize, Math.Max(model.TrainedContextSize, 16));
            Volatile.Write(ref _progress, 1);
            Stage(LoadStageEvent.WeightsMapped, $"{model.Description}, {model.ParameterCount} parameters, {GpuLayersText(model.GpuLayers, backend)}");
            lock (_gate)
            {
                _error = null;
                _lastUsed = _time.GetTimestamp();
            }

            return new LoadedModel(model, contextSize, generation);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is InferenceException or LlamaException or GgufFormatException or IOException or UnauthorizedAccessException)
        {
            string message = e is InferenceException ? e.Message : $"The model {Path} could not be loaded: {e.Message}";
            lock (_gate)
            {
                _error = message;
            }

            Stage(LoadStageEvent.Failed, message);
            throw new InferenceException(message, e);
        }
    }

    // What n_gpu_layers means on this runtime, for the load events.
    private static string GpuLayersText(int gpuLayers, LlamaBackend backend) =>
        !backend.SupportsGpuOffload ? $"gpu layers {gpuLayers} (no GPU backend: all on the CPU)"
        : gpuLayers < 0 ? $"gpu layers {gpuLayers} (all offloaded)"
        : $"gpu layers {gpuLayers}";

    private async Task UnloadCoreAsync(Task<LoadedModel> load, Task idle)
    {
        // Running generations finish first (a cancel makes that quick); a load under way stops at its next progress report.
        await idle.ConfigureAwait(false);
        await ((Task)load).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        Action[] listeners;
        lock (_gate)
        {
            listeners = [.. _unloadListeners];
        }

        if (load.IsCompletedSuccessfully)
        {
            foreach (Action listener in listeners)
            {
                listener();
            }

            load.Result.Model.Dispose();
            _telemetry.Publish(new LoadStageEvent(Role, LoadStageEvent.Unloaded, 0, 0));
        }
        else if (load.IsCanceled)
        {
            // Stopped at a progress report: llama.cpp freed what it had made.
            _telemetry.Publish(new LoadStageEvent(Role, LoadStageEvent.Unloaded, 0, 0, "load stopped"));
        }

        lock (_gate)
        {
            _load = null;
            _unload = null;
            _idle = null;
            _progress = 0;
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            _users--;
            _lastUsed = _time.GetTimestamp();
            if (_users == 0)
            {
                _idle?.TrySetResult();
            }
        }
    }

    private void UnloadIfIdle()
    {
        lock (_gate)
        {
            if (_disposed || _users > 0 || _unload is not null || _load is not { IsCompletedSuccessfully: true }
                || _time.GetElapsedTime(_lastUsed) < _options.IdleUnload)
            {
                return;
            }
        }

        LogIdleUnload(_logger, Role, _options.IdleUnload!.Value.TotalMinutes);
        _ = UnloadAsync();
    }

    private GgufFile? ReadHeader()
    {
        if (_file is { } file)
        {
            return file;
        }

        try
        {
            return _file = GgufFile.Read(Path);
        }
        catch (Exception e) when (e is GgufFormatException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    private long? DiskFree()
    {
        try
        {
            string? directory = System.IO.Path.GetDirectoryName(System.IO.Path.GetFullPath(Path));
            return directory is null ? null : new DriveInfo(directory).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }

    private void Unregister(Action listener)
    {
        lock (_gate)
        {
            _unloadListeners.Remove(listener);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Role}: {Warning}")]
    private static partial void LogContextShrunk(ILogger logger, string role, string warning);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model {Role}: unloading after {Minutes:F1} minutes unused")]
    private static partial void LogIdleUnload(ILogger logger, string role, double minutes);

    /// <summary>A model held for use; dispose to let it unload.</summary>
    internal sealed class Lease(ModelSlot slot, LoadedModel loaded) : IDisposable
    {
        private int _disposed;

        public LoadedModel Loaded { get; } = loaded;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                slot.Release();
            }
        }
    }

    private sealed class Registration(ModelSlot slot, Action listener) : IDisposable
    {
        public void Dispose() => slot.Unregister(listener);
    }
}
