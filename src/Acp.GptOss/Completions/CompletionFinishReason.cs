namespace Acp.GptOss.Completions;

/// <summary>Why a completion ended.</summary>
internal enum CompletionFinishReason
{
    /// <summary>The model finished (<c>&lt;|return|&gt;</c>), or a stop sequence or stop id was reached.</summary>
    Stop,

    /// <summary>The token budget or the context ran out.</summary>
    Length,

    /// <summary>The model called a function and waits for its result.</summary>
    ToolCalls,

    /// <summary>The caller cancelled.</summary>
    Cancelled,
}
