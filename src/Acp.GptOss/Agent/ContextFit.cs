namespace Acp.GptOss.Agent;

/// <summary>What <see cref="ContextFitter.Compact"/> did.</summary>
/// <param name="Prompt">The prompt to send, rendered from the history as it now is.</param>
/// <param name="TokensBefore">The prompt's length before anything was removed.</param>
/// <param name="ReasoningDropped">How many analysis messages that the prompt rendered were removed.</param>
/// <param name="TurnsCompacted">How many of the oldest turns were replaced by the note.</param>
/// <param name="Fits">Whether the prompt leaves room for at least one token of answer.</param>
internal sealed record ContextFit(int[] Prompt, int TokensBefore, int ReasoningDropped, int TurnsCompacted, bool Fits)
{
    /// <summary>Whether anything the prompt rendered was removed.</summary>
    public bool Changed => ReasoningDropped > 0 || TurnsCompacted > 0;
}
