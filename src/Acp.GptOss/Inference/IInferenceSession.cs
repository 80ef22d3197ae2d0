using Harmony;

namespace Acp.GptOss.Inference;

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

    /// <summary>
    /// Writes what the engine holds of this conversation's <paramref name="history"/> (llama.cpp's KV cache and its
    /// token ids) to <paramref name="path"/>, owner-only, replacing it whole, so that
    /// <see cref="TryRestoreStateAsync"/> in a later session (another process too) skips re-reading it. What it
    /// holds past the history (the last turn's reasoning, which the next prompt leaves out) is dropped first. Call
    /// it between generations, as generations themselves: it runs after the last one has stopped. An engine with
    /// nothing to keep (scripted; a model unloaded meanwhile, which dropped the context) writes nothing.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="history">The tokens the next prompt begins with (<c>HarmonyEncoding.RenderHistory</c>).</param>
    /// <param name="cancellationToken">Stops the wait for the last generation; a write once begun completes.</param>
    /// <returns>True when the file was written; false when there was nothing to save (the file is left as it was).</returns>
    /// <exception cref="InferenceException">The state could not be written (the disk, the engine).</exception>
    ValueTask<bool> SaveStateAsync(string path, ReadOnlyMemory<int> history, CancellationToken cancellationToken) => ValueTask.FromResult(false);

    /// <summary>
    /// Loads a state <see cref="SaveStateAsync"/> wrote, before this conversation's first generation, loading the
    /// model if needed: the next prompt that begins with the saved tokens then decodes only the rest. A missing file,
    /// or one written by another model, context size or engine build, or damaged, is refused (false; such a file is
    /// deleted) and costs nothing but a full prefill later. Call it between generations, as generations themselves.
    /// </summary>
    /// <returns>True when the state was restored.</returns>
    /// <exception cref="InferenceException">The model cannot load, or the context cannot be made.</exception>
    ValueTask<bool> TryRestoreStateAsync(string path, CancellationToken cancellationToken) => ValueTask.FromResult(false);
}
