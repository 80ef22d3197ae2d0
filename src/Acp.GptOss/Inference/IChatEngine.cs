namespace Acp.GptOss.Inference;

/// <summary>
/// A model that answers in plain text through its own chat template: the fast model. No Harmony, no tools; text
/// in, text out.
/// </summary>
internal interface IChatEngine : IAsyncDisposable
{
    /// <summary>What runs, for logs.</summary>
    string Description { get; }

    /// <summary>The model file, for status, load and unload.</summary>
    ModelSlot? Model { get; }

    /// <summary>Creates the state of one conversation; it may wait for the model to load.</summary>
    /// <exception cref="InferenceException">The model cannot load.</exception>
    ValueTask<IChatSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken);
}

/// <summary>One conversation with the fast model. The caller runs one answer at a time.</summary>
internal interface IChatSession : IAsyncDisposable
{
    /// <summary>
    /// Streams the answer to <paramref name="messages"/> as text (whole characters), until the model ends its turn,
    /// <paramref name="maxTokens"/> were generated, or the context is full. Cancelling stops at once and throws
    /// <see cref="OperationCanceledException"/>.
    /// </summary>
    /// <exception cref="InferenceException">The engine failed.</exception>
    IAsyncEnumerable<string> ChatAsync(IReadOnlyList<ChatMessage> messages, int maxTokens, ChatOutcome outcome, CancellationToken cancellationToken);
}

/// <summary>A message of a chat: system, user or assistant.</summary>
internal sealed record ChatMessage(string Role, string Content);

/// <summary>How an answer ended, filled in when its stream ends.</summary>
internal sealed class ChatOutcome
{
    /// <summary>The model ended its turn itself (an end-of-generation token), rather than running out of budget.</summary>
    public bool Finished { get; set; }

    /// <summary>Tokens of the rendered prompt.</summary>
    public int PromptTokens { get; set; }

    /// <summary>Tokens generated.</summary>
    public int GeneratedTokens { get; set; }

    /// <summary>The context size.</summary>
    public int ContextSize { get; set; }
}
