namespace Acp.GptOss.Inference;

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
