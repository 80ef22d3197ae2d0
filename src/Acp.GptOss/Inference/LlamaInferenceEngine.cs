using System.Runtime.CompilerServices;
using Harmony;
using LlamaCpp;
using LlamaCpp.Gguf;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference;

/// <summary>How the embedded engine runs.</summary>
internal sealed record LlamaEngineOptions
{
    /// <summary>The GPT-OSS GGUF.</summary>
    public required string ModelPath { get; init; }

    /// <summary>The context size of each session, shrunk if it does not fit in memory.</summary>
    public int ContextSize { get; init; } = 8192;

    /// <summary>CPU threads.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>Sampling: OpenAI's recommended temperature 1.0 and top-p 1.0 unless told otherwise.</summary>
    public LlamaSamplingOptions Sampling { get; init; } = new();

    /// <summary>Where the native runtime is, if not beside the application.</summary>
    public string? NativeDirectory { get; init; }
}

/// <summary>
/// GPT-OSS in-process through llama.cpp, the default engine. The model loads in the background from the moment
/// the agent starts, so initialize and session/new answer at once; the first prompt waits for it. A model that
/// cannot load is reported to every prompt, and the agent stays up.
/// </summary>
/// <remarks>Thread-safe; one llama context per session.</remarks>
internal sealed partial class LlamaInferenceEngine : IInferenceEngine
{
    public const string Architecture = "gpt-oss";

    private readonly LlamaEngineOptions _options;
    private readonly ILogger _logger;
    private readonly CancellationTokenSource _disposed = new();
    private readonly Task<LoadedModel> _load;

    private LlamaInferenceEngine(LlamaEngineOptions options, ILogger logger)
    {
        _options = options;
        _logger = logger;
        _load = Task.Run(() => LoadAndReport(_disposed.Token));
    }

    public string Description => $"llama.cpp ({Path.GetFileName(_options.ModelPath)})";

    /// <summary>The model once loaded; null while loading or after a failure.</summary>
    public LlamaModel? Model => _load.IsCompletedSuccessfully ? _load.Result.Model : null;

    /// <summary>Starts loading the model in the background.</summary>
    public static LlamaInferenceEngine Start(LlamaEngineOptions options, ILoggerFactory loggers) =>
        new(options, loggers.CreateLogger("Acp.GptOss.Inference.Llama"));

    /// <summary>Waits for the model; rethrows its load failure as an <see cref="InferenceException"/>.</summary>
    public async Task<LlamaModel> WaitForModelAsync(CancellationToken cancellationToken) =>
        (await WaitAsync(cancellationToken).ConfigureAwait(false)).Model;

    public async ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken)
    {
        LoadedModel loaded = await WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var generator = new LlamaGenerator(
                loaded.Model,
                new LlamaContextOptions { ContextSize = loaded.ContextSize, Threads = _options.Threads },
                _options.Sampling);
            return new Session(generator, loaded.Tokenizer, _logger);
        }
        catch (LlamaException e)
        {
            throw new InferenceException(e.Message, e);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _disposed.CancelAsync().ConfigureAwait(false);
        // A load that failed was reported to every prompt; there is nothing to free.
        await ((Task)_load).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_load.IsCompletedSuccessfully)
        {
            _load.Result.Model.Dispose();
        }

        _disposed.Dispose();
    }

    /// <summary>Initializes the native runtime once per process, with llama.cpp's log routed to ours.</summary>
    /// <exception cref="LlamaException">The runtime is missing.</exception>
    public static LlamaBackend InitializeBackend(ILogger logger, string? nativeDirectory) => LlamaBackend.Initialize(new LlamaBackendOptions
    {
        NativeDirectory = nativeDirectory,
        Log = (level, line) => LogNative(logger, level switch
        {
            LlamaLogLevel.Error => LogLevel.Error,
            LlamaLogLevel.Warning => LogLevel.Warning,
            // llama.cpp's "info" is chatty (a line per tensor type, per buffer): it is our debug.
            _ => LogLevel.Debug,
        }, line),
    });

    private async Task<LoadedModel> WaitAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _load.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is LlamaException or GgufFormatException or IOException or UnauthorizedAccessException)
        {
            throw new InferenceException($"The model {_options.ModelPath} could not be loaded: {e.Message}", e);
        }
    }

    // Says at once, in the log, what every prompt will be told.
    private LoadedModel LoadAndReport(CancellationToken cancellationToken)
    {
        try
        {
            return Load(cancellationToken);
        }
        catch (Exception e) when (e is InferenceException or LlamaException or GgufFormatException or IOException or UnauthorizedAccessException)
        {
            LogLoadFailed(_logger, _options.ModelPath, e.Message);
            throw;
        }
    }

    private LoadedModel Load(CancellationToken cancellationToken)
    {
        string path = _options.ModelPath;
        if (!File.Exists(path))
        {
            throw new InferenceException($"The model {path} does not exist.");
        }

        LlamaBackend backend = InitializeBackend(_logger, _options.NativeDirectory);
        var modelOptions = new LlamaModelOptions { RequiredArchitecture = Architecture, Progress = ReportProgress() };
        GgufFile file = LlamaModel.Preflight(path, modelOptions);
        int contextSize = MemoryPreflight.FitContext(file, _options.ContextSize, MemoryPreflight.AvailableMemory() ?? long.MaxValue / 4, out string? warning);
        if (warning is not null)
        {
            LogContextShrunk(_logger, warning);
        }

        LogLoading(_logger, path, file.Length, contextSize, backend.CpuBackend ?? "?");
        LlamaModel model = LlamaModel.Load(backend, file, modelOptions, cancellationToken);
        contextSize = Math.Min(contextSize, Math.Max(model.TrainedContextSize, 16));
        LogLoaded(_logger, model.Description, model.ParameterCount, contextSize);
        return new LoadedModel(model, new LlamaTokenizer(model.Vocabulary), contextSize);
    }

    // Reports every tenth of the way as a structured event.
    private Action<float> ReportProgress()
    {
        int reported = -1;
        return progress =>
        {
            int tenth = (int)(progress * 10);
            if (tenth > reported)
            {
                reported = tenth;
                LogProgress(_logger, _options.ModelPath, tenth * 10);
            }
        };
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Loading {Path} ({Bytes} bytes) with a {ContextSize}-token context on {CpuBackend}")]
    private static partial void LogLoading(ILogger logger, string path, long bytes, int contextSize, string cpuBackend);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model load {Path}: {Percent}%")]
    private static partial void LogProgress(ILogger logger, string path, int percent);

    [LoggerMessage(Level = LogLevel.Information, Message = "Model ready: {Description}, {Parameters} parameters, {ContextSize}-token context")]
    private static partial void LogLoaded(ILogger logger, string description, long parameters, int contextSize);

    [LoggerMessage(Level = LogLevel.Error, Message = "The model {Path} could not be loaded: {Reason}")]
    private static partial void LogLoadFailed(ILogger logger, string path, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Warning}")]
    private static partial void LogContextShrunk(ILogger logger, string warning);

    [LoggerMessage(Message = "llama.cpp: {Line}")]
    private static partial void LogNative(ILogger logger, LogLevel level, string line);

    [LoggerMessage(Level = LogLevel.Debug, Message = "Prefill: {Decoded} of {Prompt} prompt tokens in the cache")]
    private static partial void LogPrefill(ILogger logger, int decoded, int prompt);

    [LoggerMessage(Level = LogLevel.Debug,
        Message = "Generation {Outcome}: prompt {Prompt} tokens, {Reused} from the cache, {Prefilled} decoded in {PrefillMs:F0} ms; first token after {FirstTokenMs:F0} ms; {Generated} generated")]
    private static partial void LogGeneration(ILogger logger, string outcome, int prompt, int reused, int prefilled, double prefillMs, double firstTokenMs, int generated);

    private sealed record LoadedModel(LlamaModel Model, LlamaTokenizer Tokenizer, int ContextSize);

    /// <summary>One conversation: a llama context, decoded on a thread of its own, its tokens handed to the turn.</summary>
    private sealed class Session(LlamaGenerator generator, IHarmonyTokenizer tokenizer, ILogger logger) : IInferenceSession
    {
        private readonly TokenHandoff _tokens = new();

        public IHarmonyTokenizer Tokenizer => tokenizer;

        public int ContextSize => generator.ContextSize;

        public async IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            // Cancelled by the caller, or by us when the caller stops reading early (at a stop token the parser saw).
            using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _tokens.Reset(options.MaxTokens);
            int promptLength = prompt.Length;
            generator.PrefillProgress = decoded => LogPrefill(logger, decoded, promptLength);
            var decoding = new Thread(() => Decode(prompt, options, stop.Token)) { IsBackground = true, Name = "llama decode" };
            decoding.Start();
            try
            {
                while (await _tokens.WaitToReadAsync().ConfigureAwait(false))
                {
                    while (_tokens.TryRead(out int token))
                    {
                        yield return token;
                    }
                }

                _tokens.ThrowIfFailed();
            }
            finally
            {
                // Returns only once llama.cpp has stopped and the cache is trimmed: the next turn may start at once.
                await stop.CancelAsync().ConfigureAwait(false);
                while (await _tokens.WaitToReadAsync().ConfigureAwait(false))
                {
                    while (_tokens.TryRead(out _))
                    {
                    }
                }

                LlamaGenerationStatistics statistics = generator.LastStatistics;
                LogGeneration(logger, _tokens.Outcome, prompt.Length, statistics.ReusedTokens, statistics.PrefilledTokens,
                    statistics.PrefillTime.TotalMilliseconds, statistics.TimeToFirstToken.TotalMilliseconds, statistics.GeneratedTokens);
            }
        }

        public ValueTask DisposeAsync()
        {
            generator.Dispose();
            return ValueTask.CompletedTask;
        }

        private void Decode(ReadOnlyMemory<int> prompt, GenerationOptions options, CancellationToken cancellationToken)
        {
            Exception? error = null;
            try
            {
                foreach (int token in generator.Generate(prompt, options.MaxTokens, options.StopTokens, cancellationToken))
                {
                    _tokens.Write(token);
                }
            }
            catch (Exception e)
            {
                // Whatever stopped decoding is the reader's to see: nothing may escape this thread and end the process.
                error = e is LlamaException ? new InferenceException(e.Message, e) : e;
            }

            _tokens.Complete(error);
        }
    }
}
