using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// One model file and its life: not loaded, loading, ready or failed. It loads on demand (in the background: a
/// prompt waits for it, a status request does not), reports each stage as telemetry, unloads when asked or when
/// idle, and never unloads under a running generation: users hold a <see cref="Lease"/>. A failed load is retried
/// by the next demand, so fixing the file needs no restart. This is the state machine; the load itself is a
/// <see cref="ModelLoader"/>'s, the leases are counted by a <see cref="ModelUse"/>, and an
/// <see cref="IdleUnloadPolicy"/> says when an unused model goes.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class ModelSlot : IModel, IAsyncDisposable
{
    private readonly ModelSlotOptions _options;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly Lock _gate = new();
    private readonly ModelLoader _loader;
    private readonly ModelUse _use;
    private readonly UnloadListeners _unloadListeners = new();
    private readonly IdleUnloadPolicy? _idleUnload;
    private Task<LoadedModel>? _load;
    private CancellationTokenSource? _loadCancel;
    private Task? _unload;
    private long _generation;
    private long _warmedGeneration;
    private string? _error;
    private bool _disposed;

    public ModelSlot(ModelSlotOptions options, Telemetry telemetry, ILogger logger, TimeProvider? time = null)
    {
        _options = options;
        _telemetry = telemetry;
        _logger = logger;
        _loader = new ModelLoader(options, telemetry, logger);
        time ??= TimeProvider.System;
        _use = new ModelUse(time);
        if (options.IdleUnload is { } idle)
        {
            _idleUnload = new IdleUnloadPolicy(idle, time, UnloadIfIdle);
        }
    }

    public ModelRole Role => _options.Role;

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
    public IDisposable OnUnload(Action listener) => _unloadListeners.Add(listener);

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

    Task IModel.LoadAsync(CancellationToken cancellationToken) => LoadAsync(cancellationToken);

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
                    _use.Add();
                    return new Lease(this, loaded);
                }
            }
        }
    }

    /// <summary>The model, held as <see cref="AcquireAsync"/> holds it, if it is loaded now and not unloading; null else.</summary>
    public Lease? TryAcquire()
    {
        lock (_gate)
        {
            if (_unload is null && _load is { IsCompletedSuccessfully: true } load)
            {
                _use.Add();
                return new Lease(this, load.Result);
            }

            return null;
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
            _use.Add();
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
            // On another thread: it ends by clearing _unload under this lock, which must see it assigned first.
            Task<LoadedModel> load = _load;
            Task idle = _use.WhenUnused();
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
            progress = _loader.Progress;
            error = _error;
        }

        LlamaCpp.Gguf.GgufFile? file = _loader.ReadHeader();
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

        if (_idleUnload is not null)
        {
            await _idleUnload.DisposeAsync().ConfigureAwait(false);
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
            _loader.ResetProgress();
            long generation = ++_generation;
            CancellationToken token = _loadCancel.Token;
            // A thread of its own: llama.cpp's load blocks for seconds, and on two cores a blocked pool thread or two
            // starve the pool, delaying every response (a cancel's included) until the pool grows.
            _load = Task.Factory.StartNew(() => _loader.Load(generation, Settle, token), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
            return _load;
        }
    }

    // The load ended: null when it loaded, else why it failed (for status).
    private void Settle(string? error)
    {
        lock (_gate)
        {
            _error = error;
            if (error is null)
            {
                _use.Touch();
            }
        }
    }

    private async Task UnloadCoreAsync(Task<LoadedModel> load, Task idle)
    {
        // Running generations finish first (a cancel makes that quick); a load under way stops at its next progress report.
        await idle.ConfigureAwait(false);
        await ((Task)load).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (load.IsCompletedSuccessfully)
        {
            _unloadListeners.Notify();
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
            _use.ForgetWaiter();
            _loader.ResetProgress();
        }
    }

    private void Release()
    {
        lock (_gate)
        {
            _use.Remove();
        }
    }

    private void UnloadIfIdle()
    {
        lock (_gate)
        {
            if (_disposed || _use.InUse || _unload is not null || _load is not { IsCompletedSuccessfully: true }
                || !_idleUnload!.IsDue(_use.Unused))
            {
                return;
            }
        }

        string role = Role.WireName();
        LogIdleUnload(_logger, role, _idleUnload.After.TotalMinutes);
        _ = UnloadAsync();
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
}
