using System.Buffers;
using System.Collections.Concurrent;
using System.Text.Json;
using Acp.GptOss.Tools;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>The end of one tool call, as the turn needs it.</summary>
/// <param name="Recipient">The recipient to record the call under: <c>functions.NAME</c> once resolved.</param>
/// <param name="Result">The tool message for the model.</param>
/// <param name="Cancelled">Whether the turn was cancelled during the call: the turn ends <c>cancelled</c>.</param>
internal sealed record ToolCallOutcome(string Recipient, string Result, bool Cancelled);

/// <summary>The "always" answers a session's user gave, by what they cover.</summary>
/// <remarks>Thread-safe. The client does not remember them (acp.md §10), so the agent does.</remarks>
internal sealed class PermissionMemory
{
    private readonly ConcurrentDictionary<string, bool> _answers = new(StringComparer.Ordinal);

    /// <summary>True: always allowed; false: always rejected; null: ask.</summary>
    public bool? Recall(string key) => _answers.TryGetValue(key, out bool allowed) ? allowed : null;

    public void Remember(string key, bool allowed) => _answers[key] = allowed;
}

/// <summary>
/// Runs one tool call the model made, as ACP shows it: <c>tool_call</c> (pending), the permission request when the
/// session's mode asks for one, <c>in_progress</c>, then <c>completed</c> or <c>failed</c>. Every call reaches a final
/// status, whatever happens, before <see cref="RunAsync"/> returns; failures become a result the model can read.
/// </summary>
internal sealed partial class ToolCallRunner(AgentSession session, IAcpClient client, ILogger logger)
{
    public const string RejectedMessage = "The user rejected this call. Do not try it again; ask the user what to do instead.";
    public const string CancelledMessage = "Cancelled by the user.";

    private const string AllowOnce = "allow_once";
    private const string AllowAlways = "allow_always";
    private const string RejectOnce = "reject_once";
    private const string RejectAlways = "reject_always";

    /// <summary>Resolves, shows, asks for, runs and reports one call.</summary>
    /// <remarks>Never throws for the call's sake: cancellation comes back as <see cref="ToolCallOutcome.Cancelled"/>.</remarks>
    public async Task<ToolCallOutcome> RunAsync(ParsedToolCall call, CancellationToken cancellationToken)
    {
        string id = session.NextToolCallId();
        ResolvedTool tool = session.Tools.Resolve(call.Recipient);
        if (tool.Resolution != ToolResolution.Function)
        {
            string error = tool.Resolution == ToolResolution.BuiltIn
                ? $"Error: tool {tool.Name} is not available; use functions.*"
                : $"Error: there is no tool {call.Recipient}; the tools are the functions in the developer message.";
            LogRefused(logger, session.Id, call.Recipient, tool.Resolution);
            Start(id, call.Recipient, call.Recipient, ToolKind.Other, RawInput(call.Arguments));
            Fail(id, error);
            return new ToolCallOutcome(tool.Recipient, error, Cancelled: false);
        }

        PreparedCall prepared;
        ToolArguments arguments;
        try
        {
            arguments = ToolArguments.Parse(tool.Name, call.Arguments);
            prepared = await session.Tools.PrepareAsync(tool.Name, arguments, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ToolException or JsonRpcException or IOException)
        {
            // Bad arguments, a path outside the workspace, an edit that does not apply: the model may correct itself.
            Start(id, tool.Name, tool.Name, ToolKind.Other, RawInput(call.Arguments));
            return Failed(id, tool, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Start(id, tool.Name, tool.Name, ToolKind.Other, RawInput(call.Arguments));
            return Cancelled(id, tool);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A malformed answer from the client, say.
            LogUnexpected(logger, session.Id, tool.Name, ex);
            Start(id, tool.Name, tool.Name, ToolKind.Other, RawInput(call.Arguments));
            return Failed(id, tool, $"{tool.Name} failed unexpectedly: {ex.Message}");
        }

        Send(new ToolCallStart(id, prepared.Title)
        {
            Name = tool.Name,
            Kind = prepared.Kind,
            Status = ToolCallStatus.Pending,
            Locations = prepared.Locations,
            Content = prepared.Preview,
            RawInput = arguments.Json,
        });

        bool? allowed = await AllowedAsync(id, prepared, arguments.Json, cancellationToken).ConfigureAwait(false);
        if (allowed is null)
        {
            return Cancelled(id, tool);
        }

        if (allowed == false)
        {
            Send(new ToolCallProgress(id) { Status = ToolCallStatus.Failed, Content = [SessionTools.Text("Rejected by the user.")] });
            return new ToolCallOutcome(tool.Recipient, SessionTools.ErrorJson(RejectedMessage), Cancelled: false);
        }

        Send(new ToolCallProgress(id) { Status = ToolCallStatus.InProgress });
        try
        {
            ToolOutput output = await prepared.RunAsync(
                content => Send(new ToolCallProgress(id) { Content = content }), cancellationToken).ConfigureAwait(false);
            Send(new ToolCallProgress(id)
            {
                Status = output.IsError ? ToolCallStatus.Failed : ToolCallStatus.Completed,
                Content = output.Content,
            });
            LogRan(logger, session.Id, tool.Name, output.IsError);
            return new ToolCallOutcome(tool.Recipient, output.Result, Cancelled: false);
        }
        catch (Exception ex) when (ex is ToolException or JsonRpcException or IOException)
        {
            return Failed(id, tool, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Cancelled(id, tool);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A malformed answer from the client or a tool's own bug still ends the call, visibly, and the turn goes on.
            LogUnexpected(logger, session.Id, tool.Name, ex);
            return Failed(id, tool, $"{tool.Name} failed unexpectedly: {ex.Message}");
        }
    }

    /// <summary>Whether the call may run: true, false (rejected), or null when the turn was cancelled meanwhile.</summary>
    private async Task<bool?> AllowedAsync(string id, PreparedCall call, JsonElement rawInput, CancellationToken cancellationToken)
    {
        // The mode in force now: the user may have switched it during the turn.
        AgentMode mode = session.Settings.Mode;
        if (call.Approval == Approval.None || (call.Approval == Approval.Edit && mode == AgentMode.Code))
        {
            return true;
        }

        if (session.Permissions.Recall(call.ApprovalKey) is bool remembered)
        {
            return remembered;
        }

        var request = new RequestPermissionRequest(
            session.Id,
            new ToolCallProgress(id)
            {
                Title = call.Title,
                Kind = call.Kind,
                Status = ToolCallStatus.Pending,
                Locations = call.Locations,
                Content = call.Preview,
                RawInput = rawInput,
            },
            [
                new PermissionOption(AllowOnce, "Allow", PermissionOptionKind.AllowOnce),
                new PermissionOption(AllowAlways, $"Always allow {call.AlwaysLabel}", PermissionOptionKind.AllowAlways),
                new PermissionOption(RejectOnce, "Reject", PermissionOptionKind.RejectOnce),
                new PermissionOption(RejectAlways, $"Always reject {call.AlwaysLabel}", PermissionOptionKind.RejectAlways),
            ]);
        RequestPermissionResponse response;
        try
        {
            response = await client.RequestPermissionAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Counts as rejected; an answer arriving later is ignored, so the tool never runs (acpx PR 631).
            return null;
        }
        catch (Exception ex) when (ex is JsonRpcException or IOException)
        {
            // A client that cannot ask its user has not allowed anything.
            LogPermissionFailed(logger, session.Id, ex.Message);
            return false;
        }

        if (cancellationToken.IsCancellationRequested)
        {
            return null;
        }

        switch (response.Outcome)
        {
            case SelectedPermissionOutcome { OptionId: AllowOnce }:
                return true;
            case SelectedPermissionOutcome { OptionId: AllowAlways }:
                session.Permissions.Remember(call.ApprovalKey, allowed: true);
                return true;
            case SelectedPermissionOutcome { OptionId: RejectAlways }:
                session.Permissions.Remember(call.ApprovalKey, allowed: false);
                return false;
            case SelectedPermissionOutcome { OptionId: RejectOnce }:
                return false;
            case CancelledPermissionOutcome:
                // The client answers so when the turn was cancelled; its session/cancel may still be on the way.
                return null;
            default:
                LogUnknownOption(logger, session.Id, (response.Outcome as SelectedPermissionOutcome)?.OptionId ?? "?");
                return false;
        }
    }

    private ToolCallOutcome Failed(string id, ResolvedTool tool, string message)
    {
        LogFailed(logger, session.Id, tool.Name, message);
        Fail(id, message);
        return new ToolCallOutcome(tool.Recipient, SessionTools.ErrorJson(message), Cancelled: false);
    }

    private ToolCallOutcome Cancelled(string id, ResolvedTool tool)
    {
        // ACP v1 has no "cancelled" status: open calls end failed (acp.md §9).
        Fail(id, CancelledMessage);
        return new ToolCallOutcome(tool.Recipient, SessionTools.ErrorJson(CancelledMessage), Cancelled: true);
    }

    private void Start(string id, string title, string name, ToolKind kind, JsonElement rawInput) =>
        Send(new ToolCallStart(id, title) { Name = name, Kind = kind, Status = ToolCallStatus.Pending, RawInput = rawInput });

    private void Fail(string id, string message) =>
        Send(new ToolCallProgress(id) { Status = ToolCallStatus.Failed, Content = [SessionTools.Text(message)] });

    private void Send(SessionUpdate update) => client.SessionUpdate(new SessionNotification(session.Id, update));

    // The arguments as JSON when they are JSON, else as a JSON string.
    private static JsonElement RawInput(string arguments)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(arguments);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            var buffer = new ArrayBufferWriter<byte>();
            using (var writer = new Utf8JsonWriter(buffer))
            {
                writer.WriteStringValue(arguments);
            }

            using JsonDocument text = JsonDocument.Parse(buffer.WrittenMemory);
            return text.RootElement.Clone();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: the model called {Recipient}, which is {Resolution}")]
    private static partial void LogRefused(ILogger logger, string sessionId, string recipient, ToolResolution resolution);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: {Tool} failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string sessionId, string tool, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: {Tool} ran (tool reported an error: {IsError})")]
    private static partial void LogRan(ILogger logger, string sessionId, string tool, bool isError);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: {Tool} threw")]
    private static partial void LogUnexpected(ILogger logger, string sessionId, string tool, Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the permission request failed, so the call is not allowed: {Reason}")]
    private static partial void LogPermissionFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the client answered the permission request with unknown option {OptionId}; not allowed")]
    private static partial void LogUnknownOption(ILogger logger, string sessionId, string optionId);
}
