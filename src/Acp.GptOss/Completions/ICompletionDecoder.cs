namespace Acp.GptOss.Completions;

/// <summary>Turns one completion's sampled ids into events, one id at a time, on the pushing thread.</summary>
internal interface ICompletionDecoder
{
    /// <summary>The completion is over (a stop token, a tool call, a stop sequence): sample no further.</summary>
    bool IsStopped { get; }

    /// <summary>Why it ended, once <see cref="Finish"/> or <see cref="Cancel"/> was called or <see cref="IsStopped"/> is true.</summary>
    CompletionFinishReason FinishReason { get; }

    void Push(int token);

    /// <summary>The stream ended without a stop of the decoder's own: the budget, the context, or a caller's stop id.</summary>
    void Finish();

    /// <summary>The caller cancelled: no more events.</summary>
    void Cancel();

    /// <summary>Moves the events since the last call into <paramref name="events"/>.</summary>
    void TakeEvents(List<CompletionEvent> events);
}
