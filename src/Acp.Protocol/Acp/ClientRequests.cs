using System.Text.Json.Serialization;

namespace Acp.Protocol;

/// <summary><c>session/request_permission</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="ToolCall">The call to allow; it also updates the call the client shows.</param>
/// <param name="Options">The answers the user may give.</param>
public sealed record RequestPermissionRequest(string SessionId, ToolCallProgress ToolCall, IReadOnlyList<PermissionOption> Options);

/// <summary>An answer the user may give to a permission request.</summary>
/// <param name="OptionId">Its id, which comes back in the outcome.</param>
/// <param name="Name">Its label.</param>
/// <param name="Kind">What it means.</param>
public sealed record PermissionOption(string OptionId, string Name, PermissionOptionKind Kind);

/// <summary>What a permission option means.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<PermissionOptionKind>))]
public enum PermissionOptionKind
{
    /// <summary>Allow this call.</summary>
    [JsonStringEnumMemberName("allow_once")]
    AllowOnce,

    /// <summary>Allow this call and its like from now on.</summary>
    [JsonStringEnumMemberName("allow_always")]
    AllowAlways,

    /// <summary>Refuse this call.</summary>
    [JsonStringEnumMemberName("reject_once")]
    RejectOnce,

    /// <summary>Refuse this call and its like from now on.</summary>
    [JsonStringEnumMemberName("reject_always")]
    RejectAlways,
}

/// <summary><c>session/request_permission</c> result.</summary>
/// <param name="Outcome">What the user chose, or that the turn was cancelled.</param>
public sealed record RequestPermissionResponse(RequestPermissionOutcome Outcome);

/// <summary>The outcome of a permission request.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "outcome")]
[JsonDerivedType(typeof(SelectedPermissionOutcome), "selected")]
[JsonDerivedType(typeof(CancelledPermissionOutcome), "cancelled")]
public abstract record RequestPermissionOutcome;

/// <summary>The user chose an option.</summary>
/// <param name="OptionId">The option's id.</param>
public sealed record SelectedPermissionOutcome(string OptionId) : RequestPermissionOutcome;

/// <summary>The turn was cancelled before the user answered.</summary>
public sealed record CancelledPermissionOutcome : RequestPermissionOutcome;

/// <summary><c>fs/read_text_file</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Path">The file's absolute path.</param>
public sealed record ReadTextFileRequest(string SessionId, string Path)
{
    /// <summary>The first line to read, 1-based.</summary>
    public int? Line { get; init; }

    /// <summary>How many lines at most.</summary>
    public int? Limit { get; init; }
}

/// <summary><c>fs/read_text_file</c> result.</summary>
/// <param name="Content">The text.</param>
public sealed record ReadTextFileResponse(string Content);

/// <summary><c>fs/write_text_file</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Path">The file's absolute path; the client creates it if missing.</param>
/// <param name="Content">The whole new text.</param>
public sealed record WriteTextFileRequest(string SessionId, string Path, string Content);

/// <summary><c>fs/write_text_file</c> result: empty.</summary>
public sealed record WriteTextFileResponse;

/// <summary><c>terminal/create</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Command">The program.</param>
public sealed record CreateTerminalRequest(string SessionId, string Command)
{
    /// <summary>Its arguments.</summary>
    public IReadOnlyList<string>? Args { get; init; }

    /// <summary>Environment variables to set.</summary>
    public IReadOnlyList<NameValue>? Env { get; init; }

    /// <summary>The working folder, absolute.</summary>
    public string? Cwd { get; init; }

    /// <summary>The most output bytes the client keeps; it drops the oldest beyond.</summary>
    public long? OutputByteLimit { get; init; }
}

/// <summary><c>terminal/create</c> result.</summary>
/// <param name="TerminalId">The new terminal.</param>
public sealed record CreateTerminalResponse(string TerminalId);

/// <summary>The params of <c>terminal/output</c>, <c>wait_for_exit</c>, <c>kill</c> and <c>release</c>.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="TerminalId">The terminal.</param>
public sealed record TerminalRequest(string SessionId, string TerminalId);

/// <summary><c>terminal/output</c> result.</summary>
/// <param name="Output">The output kept so far.</param>
/// <param name="Truncated">Whether older output was dropped.</param>
public sealed record TerminalOutputResponse(string Output, bool Truncated)
{
    /// <summary>How the command ended, once it has.</summary>
    public TerminalExitStatus? ExitStatus { get; init; }
}

/// <summary>How a terminal's command ended: an exit code, or the signal that killed it.</summary>
public sealed record TerminalExitStatus
{
    /// <summary>The exit code; null when a signal ended it.</summary>
    public int? ExitCode { get; init; }

    /// <summary>The signal's name; null when it exited.</summary>
    public string? Signal { get; init; }
}

/// <summary>The (empty) result of <c>terminal/kill</c> and <c>terminal/release</c>.</summary>
public sealed record TerminalEmptyResponse;
