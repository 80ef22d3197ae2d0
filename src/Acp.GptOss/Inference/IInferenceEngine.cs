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
    /// Creates the state of one conversation (a context with its KV cache, say). It may wait for the model to
    /// finish loading: call it in the background of session/new, never in its way.
    /// </summary>
    /// <exception cref="InferenceException">The engine cannot run: no model, or the model failed to load.</exception>
    ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken);

    /// <summary>The same, for the named ACP session: its telemetry carries the id.</summary>
    ValueTask<IInferenceSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken) => CreateSessionAsync(cancellationToken);

    /// <summary>The models this engine runs, for status, load and unload: none for a scripted engine.</summary>
    IReadOnlyList<IModel> Models => [];

    /// <summary>
    /// The tokens <paramref name="text"/> takes in this engine's vocabulary, without waiting for weights. Engines
    /// without a vocabulary of their own count UTF-8 bytes, as their byte tokenizer does.
    /// </summary>
    /// <exception cref="InferenceException">The vocabulary cannot be read.</exception>
    ValueTask<int> CountTokensAsync(string text, CancellationToken cancellationToken) => ValueTask.FromResult(System.Text.Encoding.UTF8.GetByteCount(text));
}
