using Harmony;
using Harmony.Tokenizers;
using LlamaCpp;
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

    /// <summary>Layers offloaded to a GPU: -1 every layer when a GPU backend is present, 0 none.</summary>
    public int GpuLayers { get; init; } = -1;

    /// <summary>Unload the weights after this long without a prompt; never when null.</summary>
    public TimeSpan? IdleUnload { get; init; }
}

/// <summary>
/// GPT-OSS in-process through llama.cpp, the default engine. The weights load in the background when the first
/// session opens (a <see cref="ModelSlot"/>: loaded on demand, unloadable, retried after a failure), so
/// initialize and session/new answer at once and the first prompt waits for them. Prompts are rendered with the
/// vocabulary alone, loaded without the weights, so rendering neither waits for nor survives the weights; the router
/// counts tokens with the built-in o200k_harmony tokenizer (every GPT-OSS model's vocabulary), no file needed.
/// </summary>
/// <remarks>Thread-safe; one llama context per session, freed when the model unloads and made again on next use.</remarks>
internal sealed partial class LlamaInferenceEngine : IInferenceEngine
{
    public const string Architecture = "gpt-oss";
    public const string Role = "gpt-oss";

    private readonly LlamaEngineOptions _options;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly ModelSlot _slot;
    private readonly Lazy<Task<(LlamaModel Model, LlamaTokenizer Tokenizer)>> _vocabulary;

    private LlamaInferenceEngine(LlamaEngineOptions options, Telemetry telemetry, ILogger logger)
    {
        _options = options;
        _telemetry = telemetry;
        _logger = logger;
        _slot = new ModelSlot(
            new ModelSlotOptions
            {
                Role = Role, Path = options.ModelPath, RequiredArchitecture = Architecture, ContextSize = options.ContextSize,
                NativeDirectory = options.NativeDirectory, IdleUnload = options.IdleUnload, GpuLayers = options.GpuLayers,
            },
            telemetry, logger);
        _vocabulary = new(() => Task.Run(() => VocabularyTokenizer.Load(options.ModelPath, logger, options.NativeDirectory, Architecture)));
    }

    public string Description => $"llama.cpp ({Path.GetFileName(_options.ModelPath)})";

    public IReadOnlyList<ModelSlot> Models => [_slot];

    /// <summary>Creates the engine; nothing loads until a session opens or a status request asks for it.</summary>
    public static LlamaInferenceEngine Start(LlamaEngineOptions options, Telemetry telemetry, ILoggerFactory loggers) =>
        new(options, telemetry, loggers.CreateLogger("Acp.GptOss.Inference.Llama"));

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => CreateSessionAsync("-", cancellationToken);

    public async ValueTask<IInferenceSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        _slot.StartLoading();
        // The router counts each prompt's tokens: have the counting vocabulary ready before the first prompt.
        O200kHarmonyTokenizer.StartLoadingShared();
        LlamaTokenizer tokenizer = await TokenizerAsync(cancellationToken).ConfigureAwait(false);
        var conversation = new LlamaConversation(_slot, _telemetry, sessionId, _options.Threads, _options.Sampling, _logger);
        try
        {
            // The context is made now, in the background of session/new, rather than by the first prompt.
            await conversation.PrepareAsync(cancellationToken).ConfigureAwait(false);
            return new Session(this, conversation, tokenizer);
        }
        catch
        {
            conversation.Dispose();
            throw;
        }
    }

    /// <remarks>
    /// Counted as ordinary text with the built-in o200k_harmony tokenizer: llama.cpp's count on a GPT-OSS vocabulary,
    /// but for words with combining marks, which it keeps whole as OpenAI's tiktoken does. It loads in the background
    /// when a session opens; only a prompt that comes before it is ready waits.
    /// </remarks>
    public async ValueTask<int> CountTokensAsync(string text, CancellationToken cancellationToken)
    {
        O200kHarmonyTokenizer tokenizer;
        try
        {
            tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InvalidOperationException e)
        {
            throw new InferenceException($"The o200k_harmony tokenizer could not be loaded: {e.Message}", e);
        }

        return tokenizer.CountOrdinary(text);
    }

    public async ValueTask DisposeAsync()
    {
        await _slot.DisposeAsync().ConfigureAwait(false);
        if (_vocabulary.IsValueCreated)
        {
            await ((Task)_vocabulary.Value).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (_vocabulary.Value.IsCompletedSuccessfully)
            {
                _vocabulary.Value.Result.Model.Dispose();
            }
        }
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

    private async Task<LlamaTokenizer> TokenizerAsync(CancellationToken cancellationToken)
    {
        try
        {
            return (await _vocabulary.Value.WaitAsync(cancellationToken).ConfigureAwait(false)).Tokenizer;
        }
        catch (InferenceException e)
        {
            throw new InferenceException($"The model could not be loaded: {e.Message}", e);
        }
    }

    /// <summary>One conversation: the shared vocabulary, and a llama context of its own.</summary>
    private sealed class Session(LlamaInferenceEngine engine, LlamaConversation conversation, LlamaTokenizer tokenizer) : IInferenceSession
    {
        public IHarmonyTokenizer Tokenizer => tokenizer;

        public int ContextSize => conversation.ContextSize ?? engine._options.ContextSize;

        public IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, CancellationToken cancellationToken) =>
            conversation.GenerateAsync(_ => new LlamaRequest(prompt, options.StopTokens), options.MaxTokens, cancellationToken);

        public ValueTask DisposeAsync()
        {
            conversation.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    [LoggerMessage(Message = "llama.cpp: {Line}")]
    private static partial void LogNative(ILogger logger, LogLevel level, string line);

}
