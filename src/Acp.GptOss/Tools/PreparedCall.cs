using System.Text.Json;
using Acp.Protocol;

namespace Acp.GptOss.Tools;

/// <summary>A resolved call with its arguments read, ready to be shown, allowed and run.</summary>
/// <param name="Arguments">The arguments, a JSON object: the call's raw input as the client shows it.</param>
/// <param name="Kind">The ACP tool kind.</param>
/// <param name="Title">What the call does, for people.</param>
/// <param name="Locations">The files it reads or changes.</param>
/// <param name="Preview">What to show while it waits for permission (the diff of an edit), if anything.</param>
/// <param name="Approval">What it needs before it runs.</param>
/// <param name="ApprovalKey">What an "always" answer covers: every edit, one exact command, one MCP tool.</param>
/// <param name="AlwaysLabel">That, in words, for the permission options.</param>
/// <param name="RunAsync">Runs it; may show content (a live terminal) while it runs.</param>
internal sealed record PreparedCall(
    JsonElement Arguments,
    ToolKind Kind,
    string Title,
    IReadOnlyList<ToolCallLocation> Locations,
    IReadOnlyList<ToolCallContent>? Preview,
    Approval Approval,
    string ApprovalKey,
    string AlwaysLabel,
    Func<Action<IReadOnlyList<ToolCallContent>>, CancellationToken, Task<ToolOutput>> RunAsync);
