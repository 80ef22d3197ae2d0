namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// A session's conversation on the GPT-OSS model, whichever way it is decoded: in a context of its own
/// (<see cref="LlamaConversation"/>) or as a sequence of a context shared with other sessions
/// (<see cref="BatchedConversation"/>).
/// </summary>
internal interface ILlamaConversation : IDisposable
{
    /// <summary>The context size, once a context was made; null before.</summary>
    int? ContextSize { get; }

    /// <summary>Starts making the context in the background, once the model has loaded; a failure is the first prompt's.</summary>
    void StartPreparing();

    /// <summary>As <see cref="IInferenceSession.GenerateAsync"/>.</summary>
    /// <param name="prompt">The prompt's ids.</param>
    /// <param name="maxTokens">The most tokens to sample.</param>
    /// <param name="stopTokens">The ids that end sampling, included in the stream.</param>
    /// <param name="sampling">How this generation samples; the engine's settings when null.</param>
    /// <param name="cancellationToken">Stops the generation at once.</param>
    IAsyncEnumerable<int> GenerateAsync(
        ReadOnlyMemory<int> prompt, int maxTokens, ReadOnlyMemory<int> stopTokens, LlamaCpp.LlamaSamplingOptions? sampling, CancellationToken cancellationToken);

    /// <summary>As <see cref="IInferenceSession.SaveStateAsync"/>.</summary>
    Task<bool> SaveStateAsync(string path, ReadOnlyMemory<int> history, CancellationToken cancellationToken);

    /// <summary>As <see cref="IInferenceSession.TryRestoreStateAsync"/>.</summary>
    Task<bool> TryRestoreStateAsync(string path, CancellationToken cancellationToken);
}
