using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.GptOss.Sessions;

/// <summary>
/// One line of a session's journal. One flat shape for every kind keeps the file easy to read and to grep; each kind
/// fills only its own members (<see cref="JournalKinds"/> says which).
/// </summary>
/// <param name="Kind">What happened: one of <see cref="JournalKinds"/>.</param>
internal sealed record JournalRecord(string Kind)
{
    /// <summary>When it happened.</summary>
    public DateTimeOffset? At { get; init; }

    /// <summary><see cref="JournalKinds.Created"/> and <see cref="JournalKinds.Opened"/> (a load or resume): the session's root.</summary>
    public string? Cwd { get; init; }

    /// <summary><see cref="JournalKinds.Created"/>: its further roots.</summary>
    public IReadOnlyList<string>? AdditionalDirectories { get; init; }

    /// <summary>
    /// <see cref="JournalKinds.User"/>: the message as the model reads it; <see cref="JournalKinds.Title"/>: the title;
    /// <see cref="JournalKinds.History"/>: the first request of the compacted turns.
    /// </summary>
    public string? Text { get; init; }

    /// <summary><see cref="JournalKinds.User"/>: the prompt's content blocks as the client sent them.</summary>
    public JsonElement? Prompt { get; init; }

    /// <summary><see cref="JournalKinds.Update"/>: what the client was shown (an ACP session update), replayed on load.</summary>
    public JsonElement? Update { get; init; }

    /// <summary><see cref="JournalKinds.Message"/>: a message the model reads, reasoning included; never shown on replay.</summary>
    public JournalMessage? Message { get; init; }

    /// <summary><see cref="JournalKinds.Config"/>: the option's id, or <c>mode</c> for <c>session/set_mode</c>.</summary>
    public string? ConfigId { get; init; }

    /// <summary><see cref="JournalKinds.Config"/>: the value set.</summary>
    public JsonElement? Value { get; init; }

    /// <summary><see cref="JournalKinds.Config"/>: the option's type, as the client gave it.</summary>
    public string? ValueType { get; init; }

    /// <summary><see cref="JournalKinds.Route"/>: where the turn went and why.</summary>
    public JsonElement? Route { get; init; }

    /// <summary><see cref="JournalKinds.Usage"/>: tokens in the context after the turn.</summary>
    public long? Used { get; init; }

    /// <summary><see cref="JournalKinds.Usage"/>: the context's size.</summary>
    public long? Size { get; init; }

    /// <summary><see cref="JournalKinds.History"/>: how many turns the note that opens the history stands for.</summary>
    public int? CompactedTurns { get; init; }

    /// <summary><see cref="JournalKinds.TurnEnd"/>: how the turn ended.</summary>
    public string? StopReason { get; init; }

    /// <summary><see cref="JournalKinds.TurnEnd"/>: message ids handed out so far, so new ones do not repeat replayed ones.</summary>
    public int? MessageCount { get; init; }

    /// <summary><see cref="JournalKinds.TurnEnd"/>: tool call ids handed out so far.</summary>
    public int? ToolCallCount { get; init; }
}

/// <summary>The kinds of <see cref="JournalRecord"/>.</summary>
internal static class JournalKinds
{
    public const string Created = "created";
    public const string Opened = "opened";
    public const string User = "user";
    public const string Update = "update";
    public const string Message = "message";
    public const string Config = "config";
    public const string Route = "route";
    public const string Usage = "usage";
    public const string TurnEnd = "turn_end";
    public const string Title = "title";

    /// <summary>
    /// The <see cref="JournalRecord.ValueType"/> of a <see cref="Config"/> record that <c>session/set_mode</c> made:
    /// restored as a mode change, not as an option set.
    /// </summary>
    public const string ModeType = "set_mode";

    /// <summary>The history was rewritten (compacted to fit the context): the message records after it are all of it.</summary>
    public const string History = "history";
}

/// <summary>The journal's serializers (source-generated: the agent is compiled ahead of time).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(JournalRecord))]
internal sealed partial class SessionJsonContext : JsonSerializerContext;
