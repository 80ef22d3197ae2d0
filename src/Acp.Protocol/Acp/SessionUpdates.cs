using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.Protocol;

/// <summary><c>session/update</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Update">What happened.</param>
public sealed record SessionNotification(string SessionId, SessionUpdate Update);

/// <summary>One kind of progress in a session.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "sessionUpdate")]
[JsonDerivedType(typeof(AgentMessageChunk), "agent_message_chunk")]
[JsonDerivedType(typeof(AgentThoughtChunk), "agent_thought_chunk")]
[JsonDerivedType(typeof(UserMessageChunk), "user_message_chunk")]
[JsonDerivedType(typeof(ToolCallStart), "tool_call")]
[JsonDerivedType(typeof(ToolCallProgress), "tool_call_update")]
[JsonDerivedType(typeof(UsageUpdate), "usage_update")]
[JsonDerivedType(typeof(CompactionUpdate), "compaction_update")]
[JsonDerivedType(typeof(ConfigOptionUpdate), "config_option_update")]
[JsonDerivedType(typeof(CurrentModeUpdate), "current_mode_update")]
[JsonDerivedType(typeof(SessionInfoUpdate), "session_info_update")]
[JsonDerivedType(typeof(AvailableCommandsUpdate), "available_commands_update")]
public abstract record SessionUpdate;

/// <summary>A piece of the agent's answer; chunks with the same message id form one message.</summary>
/// <param name="Content">The piece.</param>
public sealed record AgentMessageChunk(ContentBlock Content) : SessionUpdate
{
    /// <summary>The message it belongs to.</summary>
    public string? MessageId { get; init; }
}

/// <summary>A piece of the agent's visible thinking.</summary>
/// <param name="Content">The piece.</param>
public sealed record AgentThoughtChunk(ContentBlock Content) : SessionUpdate
{
    /// <summary>The thought it belongs to.</summary>
    public string? MessageId { get; init; }
}

/// <summary>A piece of a user message (history replay).</summary>
/// <param name="Content">The piece.</param>
public sealed record UserMessageChunk(ContentBlock Content) : SessionUpdate
{
    /// <summary>The message it belongs to.</summary>
    public string? MessageId { get; init; }
}

/// <summary>A new tool call (<c>tool_call</c>).</summary>
/// <param name="ToolCallId">Its id within the session.</param>
/// <param name="Title">What it does, for people.</param>
public sealed record ToolCallStart(string ToolCallId, string Title) : SessionUpdate
{
    /// <summary>The tool's programmatic name.</summary>
    public string? Name { get; init; }

    /// <summary>What sort of tool it is.</summary>
    public ToolKind? Kind { get; init; }

    /// <summary>Where it stands.</summary>
    public ToolCallStatus? Status { get; init; }

    /// <summary>What it produced.</summary>
    public IReadOnlyList<ToolCallContent>? Content { get; init; }

    /// <summary>The files it reads or changes, for editors that follow along.</summary>
    public IReadOnlyList<ToolCallLocation>? Locations { get; init; }

    /// <summary>The arguments it was called with.</summary>
    public JsonElement? RawInput { get; init; }
}

/// <summary>
/// A change to a tool call (<c>tool_call_update</c>, and the <c>toolCall</c> of a permission request); fields given
/// replace the old ones.
/// </summary>
/// <param name="ToolCallId">The call.</param>
public sealed record ToolCallProgress(string ToolCallId) : SessionUpdate
{
    /// <summary>A new title.</summary>
    public string? Title { get; init; }

    /// <summary>A new kind.</summary>
    public ToolKind? Kind { get; init; }

    /// <summary>Where it stands.</summary>
    public ToolCallStatus? Status { get; init; }

    /// <summary>The files it reads or changes, replacing earlier ones.</summary>
    public IReadOnlyList<ToolCallLocation>? Locations { get; init; }

    /// <summary>The arguments it was called with.</summary>
    public JsonElement? RawInput { get; init; }

    /// <summary>What it produced, replacing earlier content.</summary>
    public IReadOnlyList<ToolCallContent>? Content { get; init; }

    /// <summary>Its raw result.</summary>
    public JsonElement? RawOutput { get; init; }
}

/// <summary>How full the context is (<c>usage_update</c>).</summary>
/// <param name="Used">Tokens in the context now.</param>
/// <param name="Size">The context's size in tokens.</param>
public sealed record UsageUpdate(long Used, long Size) : SessionUpdate;

/// <summary>The commands the agent runs itself, typed as <c>/name</c> in a prompt (<c>available_commands_update</c>); replaces the list before.</summary>
/// <param name="AvailableCommands">Every command, as the client lists them.</param>
public sealed record AvailableCommandsUpdate(IReadOnlyList<AvailableCommand> AvailableCommands) : SessionUpdate;

/// <summary>A command the agent runs itself.</summary>
/// <param name="Name">Its name, without the slash.</param>
/// <param name="Description">What it does, for people.</param>
public sealed record AvailableCommand(string Name, string Description)
{
    /// <summary>What it takes after its name; null when nothing.</summary>
    public AvailableCommandInput? Input { get; init; }
}

/// <summary>A command's input: the text typed after its name.</summary>
/// <param name="Hint">What to type, shown until something is.</param>
public sealed record AvailableCommandInput(string Hint);

/// <summary>The session's mode changed (<c>current_mode_update</c>).</summary>
/// <param name="CurrentModeId">The mode in force.</param>
public sealed record CurrentModeUpdate(string CurrentModeId) : SessionUpdate;

/// <summary>The session's title or update time changed (<c>session_info_update</c>).</summary>
public sealed record SessionInfoUpdate : SessionUpdate
{
    /// <summary>Its new title.</summary>
    public string? Title { get; init; }

    /// <summary>When it last changed: ISO 8601.</summary>
    public string? UpdatedAt { get; init; }
}

/// <summary>A file a tool call reads or changes.</summary>
/// <param name="Path">Its absolute path.</param>
public sealed record ToolCallLocation(string Path)
{
    /// <summary>A 1-based line in it.</summary>
    public int? Line { get; init; }
}

/// <summary>The agent changed config options (<c>config_option_update</c>).</summary>
/// <param name="ConfigOptions">Every option with its current value.</param>
public sealed record ConfigOptionUpdate(IReadOnlyList<SessionConfigOption> ConfigOptions) : SessionUpdate;

/// <summary>What sort of tool a call uses.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ToolKind>))]
public enum ToolKind
{
    /// <summary>Reads files or data.</summary>
    [JsonStringEnumMemberName("read")]
    Read,

    /// <summary>Changes files.</summary>
    [JsonStringEnumMemberName("edit")]
    Edit,

    /// <summary>Deletes files.</summary>
    [JsonStringEnumMemberName("delete")]
    Delete,

    /// <summary>Moves files.</summary>
    [JsonStringEnumMemberName("move")]
    Move,

    /// <summary>Searches.</summary>
    [JsonStringEnumMemberName("search")]
    Search,

    /// <summary>Runs commands.</summary>
    [JsonStringEnumMemberName("execute")]
    Execute,

    /// <summary>Thinks.</summary>
    [JsonStringEnumMemberName("think")]
    Think,

    /// <summary>Fetches from the network.</summary>
    [JsonStringEnumMemberName("fetch")]
    Fetch,

    /// <summary>Anything else.</summary>
    [JsonStringEnumMemberName("other")]
    Other,
}

/// <summary>Where a tool call stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<ToolCallStatus>))]
public enum ToolCallStatus
{
    /// <summary>Not started: input streaming, or awaiting approval.</summary>
    [JsonStringEnumMemberName("pending")]
    Pending,

    /// <summary>Running.</summary>
    [JsonStringEnumMemberName("in_progress")]
    InProgress,

    /// <summary>Done.</summary>
    [JsonStringEnumMemberName("completed")]
    Completed,

    /// <summary>Failed, rejected or cancelled.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,
}

/// <summary>What a tool call produced.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(ToolCallContentBlock), "content")]
[JsonDerivedType(typeof(ToolCallDiff), "diff")]
[JsonDerivedType(typeof(ToolCallTerminal), "terminal")]
public abstract record ToolCallContent;

/// <summary>Ordinary content produced by a tool call.</summary>
/// <param name="Content">The content.</param>
public sealed record ToolCallContentBlock(ContentBlock Content) : ToolCallContent;

/// <summary>A change to a file, which editors show as a reviewable edit.</summary>
/// <param name="Path">The file's absolute path.</param>
/// <param name="OldText">The text before; null for a new file.</param>
/// <param name="NewText">The text after.</param>
public sealed record ToolCallDiff(string Path, string? OldText, string NewText) : ToolCallContent;

/// <summary>A terminal made with <c>terminal/create</c>, shown live by the client.</summary>
/// <param name="TerminalId">The terminal.</param>
public sealed record ToolCallTerminal(string TerminalId) : ToolCallContent;
