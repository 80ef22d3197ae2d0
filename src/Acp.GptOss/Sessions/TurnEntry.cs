using System.Text.Json;
using Acp.Protocol;
using Harmony.Conversations;

namespace Acp.GptOss.Sessions;

/// <summary>A turn that ended, as <see cref="StoredSession.RecordTurn"/> writes it.</summary>
/// <param name="Text">The user's message as the model read it.</param>
/// <param name="Prompt">The prompt's content blocks as the client sent them.</param>
/// <param name="Shown">What the client was shown during the turn.</param>
/// <param name="Messages">The messages the turn added to the history; all of it when <see cref="Compacted"/> is set.</param>
/// <param name="StopReason">How the turn ended; null when it failed (a model that could not run).</param>
internal sealed record TurnEntry(string Text, IReadOnlyList<ContentBlock> Prompt, TurnRecorder Shown, IEnumerable<HarmonyMessage> Messages, StopReason? StopReason)
{
    /// <summary>Set when the turn compacted the history: how many turns its opening note stands for, and their first request.</summary>
    public (int Turns, string? FirstRequest)? Compacted { get; init; }

    /// <summary>Where the turn went and why; null when it ended before a route was chosen.</summary>
    public JsonElement? Route { get; init; }

    /// <summary>Message ids handed out so far in the session.</summary>
    public int MessageCount { get; init; }

    /// <summary>Tool call ids handed out so far in the session.</summary>
    public int ToolCallCount { get; init; }
}
