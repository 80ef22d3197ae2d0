using Harmony;
using Harmony.Tokenizers;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// GPT-OSS in-process through llama.cpp, the default engine. The weights load in the background when the first
/// session opens (a <see cref="ModelSlot"/>: loaded on demand, unloadable, retried after a failure), then each
/// session's context is made, so initialize and session/new answer at once and the first prompt waits for them.
/// Prompts are rendered, and completions decoded, with the built-in o200k_harmony tokenizer (every GPT-OSS model's
/// vocabulary; no file is read for it), and the load's preflight refuses a GGUF whose vocabulary is another.
/// </summary>
/// <remarks>
/// Thread-safe. One llama context per session, or with <see cref="LlamaEngineOptions.Parallel"/> one context shared by
/// the sessions as sequences (<see cref="BatchPool"/>); freed when the model unloads and made again on next use.
/// </remarks>
internal sealed class LlamaInferenceEngine : IInferenceEngine
{
    public const string Architecture = "gpt-oss";

    private readonly LlamaEngineOptions _options;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly ModelSlot _slot;
    private readonly BatchPool? _batches;

    private LlamaInferenceEngine(LlamaEngineOptions options, Telemetry telemetry, ILogger logger)
    {
        _options = options;
        _telemetry = telemetry;
        _logger = logger;
        _slot = new ModelSlot(
            new ModelSlotOptions
            {
                Role = ModelRole.GptOss, Path = options.ModelPath, RequiredArchitecture = Architecture, ContextSize = options.ContextSize,
                NativeDirectory = options.NativeDirectory, IdleUnload = options.IdleUnload, GpuLayers = options.GpuLayers,
                CheckHeader = CheckVocabulary,
            },
            telemetry, logger);
        _batches = options.Parallel > 1 ? new BatchPool(_slot, options.Parallel, options.Threads, options.Sampling, telemetry, logger) : null;
    }

    public string Description => LlamaRuntime.Describe(_options.ModelPath, _options.Threads, _options.Parallel);

    public IReadOnlyList<IModel> Models => [_slot];

    /// <summary>Creates the engine; nothing loads until a session opens or a status request asks for it.</summary>
    public static LlamaInferenceEngine Start(LlamaEngineOptions options, Telemetry telemetry, ILoggerFactory loggers) =>
        new(options, telemetry, loggers.CreateLogger("Acp.GptOss.Inference.Llama"));

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => CreateSessionAsync("-", cancellationToken);

    /// <remarks>
    /// Touches no file: the weights start loading, and the session's context is made once they are, both in the
    /// background. Waits only for the built-in tokenizer (a fraction of a second, once per process), cancellably.
    /// </remarks>
    public async ValueTask<IInferenceSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        _slot.StartLoading();
        O200kHarmonyTokenizer.StartLoadingShared();
        ILlamaConversation conversation = _batches is not null
            ? new BatchedConversation(_slot, _batches, sessionId, _logger)
            : new LlamaConversation(_slot, _telemetry, sessionId, _options.Threads, _options.Sampling, _logger);
        conversation.StartPreparing();
        try
        {
            O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(cancellationToken).ConfigureAwait(false);
            return new Session(this, conversation, tokenizer);
        }
        catch (InvalidOperationException e)
        {
            conversation.Dispose();
            throw new InferenceException($"The o200k_harmony tokenizer could not be loaded: {e.Message}", e);
        }
        catch
        {
            conversation.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Refuses a GGUF whose vocabulary is not o200k_harmony, which prompts are rendered with: from the header alone
    /// (the tokenizer model, pre-tokenizer and token count llama.cpp's gpt-oss conversion writes).
    /// </summary>
    /// <exception cref="InferenceException">Another vocabulary.</exception>
    internal static void CheckVocabulary(LlamaCpp.Gguf.GgufFile file)
    {
        string? model = file.GetString("tokenizer.ggml.model");
        string? pre = file.GetString("tokenizer.ggml.pre");
        long? tokens = file.GetArrayLength("tokenizer.ggml.tokens");
        if (model != "gpt2" || pre is not (null or "gpt-4o") || tokens != O200kHarmonyTokenizer.VocabularySize)
        {
            throw new InferenceException(
                $"The model {file.Path} has another vocabulary than GPT-OSS's o200k_harmony (tokenizer {model ?? "missing"}, pre-tokenizer {pre ?? "missing"}, "
                + $"{tokens?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "no"} tokens; o200k_harmony is gpt2, gpt-4o, "
                + $"{O200kHarmonyTokenizer.VocabularySize.ToString(System.Globalization.CultureInfo.InvariantCulture)} tokens): prompts would be rendered into the wrong ids.");
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

    // A generation that asks for its own sampling (an API request) gets the engine's settings with its changes.
    private LlamaCpp.LlamaSamplingOptions? SamplingFor(GenerationOptions options) =>
        options is { Temperature: null, TopP: null, Seed: null } ? null
        : _options.Sampling with
        {
            Temperature = options.Temperature ?? _options.Sampling.Temperature,
            TopP = options.TopP ?? _options.Sampling.TopP,
            Seed = options.Seed ?? _options.Sampling.Seed,
        };

    public ValueTask DisposeAsync()
    {
        _batches?.Dispose();
        return _slot.DisposeAsync();
    }

    /// <summary>One conversation: the built-in vocabulary, and a llama context of its own or a sequence of a shared one.</summary>
    private sealed class Session(LlamaInferenceEngine engine, ILlamaConversation conversation, O200kHarmonyTokenizer tokenizer) : IInferenceSession
    {
        public IHarmonyTokenizer Tokenizer => tokenizer;

        public int ContextSize => conversation.ContextSize ?? engine._options.ContextSize;

        public IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, CancellationToken cancellationToken) =>
            conversation.GenerateAsync(prompt, options.MaxTokens, options.StopTokens, engine.SamplingFor(options), cancellationToken);

        public ValueTask<bool> SaveStateAsync(string path, ReadOnlyMemory<int> history, CancellationToken cancellationToken) =>
            new(conversation.SaveStateAsync(path, history, cancellationToken));

        public ValueTask<bool> TryRestoreStateAsync(string path, CancellationToken cancellationToken) => new(conversation.TryRestoreStateAsync(path, cancellationToken));

        public ValueTask DisposeAsync()
        {
            conversation.Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
