using System.Runtime.CompilerServices;
using System.Text;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// The fast model in-process: any llama.cpp GGUF with a chat template that llama.cpp knows. Prompts are rendered by
/// the model's own template (<c>llama_chat_apply_template</c>), answers end at its end-of-generation tokens and are
/// decoded to text as they come. Loads on the first turn routed to it; unloads when asked or idle.
/// </summary>
/// <remarks>Thread-safe; one llama context per session.</remarks>
internal sealed class LlamaChatEngine : IChatEngine
{
    private readonly LlamaEngineOptions _options;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly ModelSlot _slot;

    private LlamaChatEngine(LlamaEngineOptions options, Telemetry telemetry, ILogger logger)
    {
        _options = options;
        _telemetry = telemetry;
        _logger = logger;
        _slot = new ModelSlot(
            new ModelSlotOptions
            {
                Role = ModelRole.Fast, Path = options.ModelPath, ContextSize = options.ContextSize, NativeDirectory = options.NativeDirectory,
                IdleUnload = options.IdleUnload, GpuLayers = options.GpuLayers,
            },
            telemetry, logger);
    }

    public string Description => LlamaRuntime.Describe(_options.ModelPath, _options.Threads, parallel: 1);

    public IModel Model => _slot;

    /// <summary>Creates the engine; the model loads when a turn first needs it.</summary>
    public static LlamaChatEngine Start(LlamaEngineOptions options, Telemetry telemetry, ILoggerFactory loggers) =>
        new(options, telemetry, loggers.CreateLogger("Acp.GptOss.Inference.Fast"));

    public async ValueTask<IChatSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        var conversation = new LlamaConversation(_slot, _telemetry, sessionId, _options.Threads, _options.Sampling, _logger);
        try
        {
            await conversation.PrepareAsync(cancellationToken).ConfigureAwait(false);
            return new Session(this, conversation);
        }
        catch
        {
            conversation.Dispose();
            throw;
        }
    }

    public ValueTask DisposeAsync() => _slot.DisposeAsync();

    private sealed class Session(LlamaChatEngine engine, LlamaConversation conversation) : IChatSession
    {
        public async IAsyncEnumerable<string> ChatAsync(
            IReadOnlyList<ChatMessage> messages, int maxTokens, ChatOutcome outcome, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            // The vocabulary is the loaded model's, used only while the generation holds the model.
            LlamaVocabulary? vocabulary = null;
            Utf8PieceDecoder? decoder = null;
            outcome.Finished = false;
            outcome.GeneratedTokens = 0;
            LlamaRequest Build(LlamaModel model)
            {
                vocabulary = model.Vocabulary;
                decoder = new Utf8PieceDecoder(model.Vocabulary);
                return Request(model, messages, outcome);
            }

            await foreach (int token in conversation.GenerateAsync(Build, maxTokens, cancellationToken).ConfigureAwait(false))
            {
                outcome.GeneratedTokens++;
                if (vocabulary!.IsEndOfGeneration(token))
                {
                    outcome.Finished = true;
                    break;
                }

                ReadOnlySpan<char> text = decoder!.Decode(token);
                if (!text.IsEmpty)
                {
                    yield return text.ToString();
                }
            }

            string rest = decoder is null ? "" : decoder.Flush().ToString();
            if (rest.Length > 0)
            {
                yield return rest;
            }

            outcome.ContextSize = conversation.ContextSize ?? engine._options.ContextSize;
        }

        public ValueTask DisposeAsync()
        {
            conversation.Dispose();
            return ValueTask.CompletedTask;
        }

        private static LlamaRequest Request(LlamaModel model, IReadOnlyList<ChatMessage> messages, ChatOutcome outcome)
        {
            string template = model.ChatTemplate
                ?? throw new InferenceException($"The fast model {Path.GetFileName(model.File.Path)} has no chat template (tokenizer.chat_template).");
            string prompt;
            try
            {
                prompt = LlamaChatTemplate.Apply(template, [.. messages.Select(m => (m.Role, m.Content))], addAssistant: true);
            }
            catch (LlamaException e)
            {
                throw new InferenceException($"The fast model's chat template cannot be used: {e.Message}", e);
            }

            var tokens = new List<int>(prompt.Length / 3);
            model.Vocabulary.Tokenize(Encoding.UTF8.GetBytes(prompt), tokens, parseSpecial: true);
            outcome.PromptTokens = tokens.Count;
            return new LlamaRequest(tokens.ToArray(), model.Vocabulary.EndOfGenerationTokens);
        }
    }
}
