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
}
