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

    /// <summary>The vocabulary prompts are rendered into and completions parsed from.</summary>
    IHarmonyTokenizer Tokenizer { get; }

    /// <summary>The context size of a session, in tokens.</summary>
    int ContextSize { get; }

    /// <summary>Creates the state of one conversation (a llama context with its KV cache, say).</summary>
    ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken);
}

/// <summary>One conversation's engine state. The caller runs one generation at a time.</summary>
internal interface IInferenceSession : IAsyncDisposable
{
    /// <summary>
    /// Streams the completion of <paramref name="prompt"/>: sampled ids, up to and including a stop token. It ends
    /// early, without a stop token, after <see cref="GenerationOptions.MaxTokens"/> or when the context is full.
    /// Cancelling stops generation at once, even mid-prefill, and throws <see cref="OperationCanceledException"/>.
    /// </summary>
    IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, CancellationToken cancellationToken);
}

/// <summary>How to generate.</summary>
/// <param name="MaxTokens">The most tokens one completion may have.</param>
/// <param name="StopTokens">The ids that end sampling, included in the stream.</param>
internal sealed record GenerationOptions(int MaxTokens, ReadOnlyMemory<int> StopTokens);
