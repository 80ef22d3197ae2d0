using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent;

/// <summary>
/// What the user answered a <c>session/request_permission</c>, read the same way for every question the agent asks:
/// a turn cancelled meanwhile, or the client's own "cancelled" outcome, is no answer at all; a client that cannot ask
/// its user has chosen nothing, and is taken as a "no".
/// </summary>
internal static partial class PermissionQuestion
{
    /// <summary>Asks the client's user the question of <paramref name="request"/>.</summary>
    public static async Task<PermissionAnswer> AskAsync(IAcpClient client, RequestPermissionRequest request, ILogger logger, CancellationToken cancellationToken)
    {
        RequestPermissionResponse response;
        try
        {
            response = await client.RequestPermissionAsync(request, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // An answer arriving later is ignored, so what was asked never happens (acpx PR 631).
            return new(Cancelled: true, null);
        }
        catch (Exception e) when (e is JsonRpcException or IOException)
        {
            LogFailed(logger, request.SessionId, request.ToolCall.Title ?? request.ToolCall.ToolCallId, e.Message);
            return new(Cancelled: false, null);
        }

        return cancellationToken.IsCancellationRequested ? new(Cancelled: true, null)
            : response.Outcome switch
            {
                SelectedPermissionOutcome selected => new(Cancelled: false, selected.OptionId),
                // The client answers so when the turn was cancelled; its session/cancel may still be on the way.
                CancelledPermissionOutcome => new(Cancelled: true, null),
                _ => new(Cancelled: false, null),
            };
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the permission request for \"{Question}\" failed, so it is not allowed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string sessionId, string question, string reason);
}

/// <summary>An answer to a permission request (<see cref="PermissionQuestion"/>).</summary>
/// <param name="Cancelled">The turn was cancelled before an answer counted: whatever was asked must not happen.</param>
/// <param name="OptionId">The option the user chose; null when none was (the request failed, and was logged).</param>
internal readonly record struct PermissionAnswer(bool Cancelled, string? OptionId);
