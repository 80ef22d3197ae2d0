using System.Buffers;
using System.Text.Json;
using Acp.GptOss.Tools;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

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

    /// <summary>Has the session's tools resolve and prepare one call, then shows, asks for, runs and reports it.</summary>
    /// <remarks>Never throws for the call's sake: cancellation comes back as <see cref="ToolCallOutcome.Cancelled"/>.</remarks>
    public async Task<ToolCallOutcome> RunAsync(ParsedToolCall call, CancellationToken cancellationToken)
    {
        string id = session.NextToolCallId();
        ToolCallRequest request = session.Tools.Resolve(call.Recipient, call.Arguments);
        if (request.Refusal is { } refusal)
        {
            LogRefused(logger, session.Id, call.Recipient, request.Tool.Resolution);
            Start(id, call.Recipient, call.Recipient, ToolKind.Other, RawInput(call.Arguments));
            Fail(id, refusal);
            return new ToolCallOutcome(request.Recipient, refusal, Cancelled: false);
        }

        PreparedCall prepared;
        try
        {
            prepared = await session.Tools.PrepareAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ToolException or JsonRpcException or IOException)
        {
            // Bad arguments, a path outside the workspace, an edit that does not apply: the model may correct itself.
            Start(id, request.Name, request.Name, ToolKind.Other, RawInput(call.Arguments));
            return Failed(id, request, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Start(id, request.Name, request.Name, ToolKind.Other, RawInput(call.Arguments));
            return Cancelled(id, request);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A malformed answer from the client, say.
            LogUnexpected(logger, session.Id, request.Name, ex);
            Start(id, request.Name, request.Name, ToolKind.Other, RawInput(call.Arguments));
            return Failed(id, request, $"{request.Name} failed unexpectedly: {ex.Message}");
        }

        Send(new ToolCallStart(id, prepared.Title)
        {
            Name = request.Name,
            Kind = prepared.Kind,
            Status = ToolCallStatus.Pending,
            Locations = prepared.Locations,
            Content = prepared.Preview,
            RawInput = prepared.Arguments,
        });

        bool? allowed = await AllowedAsync(id, prepared, cancellationToken).ConfigureAwait(false);
        if (allowed is null)
        {
            return Cancelled(id, request);
        }

        if (allowed == false)
        {
            Send(new ToolCallProgress(id) { Status = ToolCallStatus.Failed, Content = [ToolContent.Text("Rejected by the user.")] });
            return new ToolCallOutcome(request.Recipient, ToolContent.ErrorJson(RejectedMessage), Cancelled: false);
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
            LogRan(logger, session.Id, request.Name, output.IsError);
            return new ToolCallOutcome(request.Recipient, output.Result, Cancelled: false);
        }
        catch (Exception ex) when (ex is ToolException or JsonRpcException or IOException)
        {
            return Failed(id, request, ex.Message);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return Cancelled(id, request);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A malformed answer from the client or a tool's own bug still ends the call, visibly, and the turn goes on.
            LogUnexpected(logger, session.Id, request.Name, ex);
            return Failed(id, request, $"{request.Name} failed unexpectedly: {ex.Message}");
        }
    }

    /// <summary>Whether the call may run: true, false (rejected), or null when the turn was cancelled meanwhile.</summary>
    private async Task<bool?> AllowedAsync(string id, PreparedCall call, CancellationToken cancellationToken)
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
                RawInput = call.Arguments,
            },
            [
                new PermissionOption(AllowOnce, "Allow", PermissionOptionKind.AllowOnce),
                new PermissionOption(AllowAlways, $"Always allow {call.AlwaysLabel}", PermissionOptionKind.AllowAlways),
                new PermissionOption(RejectOnce, "Reject", PermissionOptionKind.RejectOnce),
                new PermissionOption(RejectAlways, $"Always reject {call.AlwaysLabel}", PermissionOptionKind.RejectAlways),
            ]);
        // A client that cannot ask its user has not allowed anything.
        PermissionAnswer answer = await PermissionQuestion.AskAsync(client, request, logger, cancellationToken).ConfigureAwait(false);
        switch (answer)
        {
            case { Cancelled: true }:
                return null;
            case { OptionId: AllowOnce }:
                return true;
            case { OptionId: AllowAlways }:
                session.Permissions.Remember(call.ApprovalKey, allowed: true);
                return true;
            case { OptionId: RejectAlways }:
                session.Permissions.Remember(call.ApprovalKey, allowed: false);
                return false;
            case { OptionId: RejectOnce or null }:
                return false;
            default:
                LogUnknownOption(logger, session.Id, answer.OptionId);
                return false;
        }
    }

    private ToolCallOutcome Failed(string id, ToolCallRequest request, string message)
    {
        LogFailed(logger, session.Id, request.Name, message);
        Fail(id, message);
        return new ToolCallOutcome(request.Recipient, ToolContent.ErrorJson(message), Cancelled: false);
    }

    private ToolCallOutcome Cancelled(string id, ToolCallRequest request)
    {
        // ACP v1 has no "cancelled" status for a tool call: a call open at a cancel ends failed.
        Fail(id, CancelledMessage);
        return new ToolCallOutcome(request.Recipient, ToolContent.ErrorJson(CancelledMessage), Cancelled: true);
    }

    private void Start(string id, string title, string name, ToolKind kind, JsonElement rawInput) =>
        Send(new ToolCallStart(id, title) { Name = name, Kind = kind, Status = ToolCallStatus.Pending, RawInput = rawInput });

    private void Fail(string id, string message) =>
        Send(new ToolCallProgress(id) { Status = ToolCallStatus.Failed, Content = [ToolContent.Text(message)] });

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


    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the client answered the permission request with unknown option {OptionId}; not allowed")]
    private static partial void LogUnknownOption(ILogger logger, string sessionId, string optionId);
}
