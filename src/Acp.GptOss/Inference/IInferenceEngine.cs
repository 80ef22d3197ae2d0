using Harmony;

namespace Acp.GptOss.Inference;

/// <summary>
/// Where token ids come from: llama.cpp in-process, a remote server, or a script. Nothing above this seam knows
/// which one runs.
/// </summary>
internal interface IInferenceEngine : IAsyncDisposable
{
    /// <summary>What runs, for logs.</summary>
    string Description { get; }

    /// <summary>
    /// Creates the state of one conversation (a llama context with its KV cache, say). It may wait for the model to
    /// finish loading: call it in the background of session/new, never in its way.
    /// </summary>
    /// <exception cref="InferenceException">The engine cannot run: no model, or the model failed to load.</exception>
    ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken);

    /// <summary>The same, for the named ACP session: its telemetry carries the id.</summary>
    ValueTask<IInferenceSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken) => CreateSessionAsync(cancellationToken);

    /// <summary>The model files this engine runs, for status, load and unload: none for a scripted engine.</summary>
    IReadOnlyList<ModelSlot> Models => [];

    /// <summary>
    /// The tokens <paramref name="text"/> takes in this engine's vocabulary, without waiting for weights. Engines
    /// without a vocabulary of their own count UTF-8 bytes, as their byte tokenizer does.
    /// </summary>
    /// <exception cref="InferenceException">The vocabulary cannot be read.</exception>
    ValueTask<int> CountTokensAsync(string text, CancellationToken cancellationToken) => ValueTask.FromResult(System.Text.Encoding.UTF8.GetByteCount(text));
}

/// <summary>One conversation's engine state. The caller runs one generation at a time.</summary>
internal interface IInferenceSession : IAsyncDisposable
{
    /// <summary>The vocabulary prompts are rendered into and completions parsed from.</summary>
    IHarmonyTokenizer Tokenizer { get; }

    /// <summary>The context size, in tokens.</summary>
    int ContextSize { get; }

    /// <summary>
    /// Streams the completion of <paramref name="prompt"/>: sampled ids, up to and including a stop token. It ends
    /// early, without a stop token, after <see cref="GenerationOptions.MaxTokens"/> or when the context is full.
    /// Cancelling stops generation at once, even mid-prefill, and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <exception cref="InferenceException">The engine failed.</exception>
    IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, CancellationToken cancellationToken);
}

/// <summary>How to generate.</summary>
/// <param name="MaxTokens">The most tokens one completion may have.</param>
/// <param name="StopTokens">The ids that end sampling, included in the stream.</param>
internal sealed record GenerationOptions(int MaxTokens, ReadOnlyMemory<int> StopTokens);

/// <summary>The engine cannot do what was asked; the message says why and what to do.</summary>
internal sealed class InferenceException : Exception
{
    public InferenceException()
    {
    }

    public InferenceException(string message)
        : base(message)
    {
    }

    public InferenceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
