using Acp.GptOss.Inference;
using Acp.GptOss.Tools;
using Acp.Protocol;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent.FirstRun;

/// <summary>
/// The first prompt without a model (docs/models.md §9): asks the user through <c>session/request_permission</c>
/// whether to download the model the engine offers, then shows the download as a tool call whose content follows
/// its bytes, rate and time left, until it is verified and loaded. Declined, offline, or failed: a short message
/// with what to do instead, and the turn ends. A download another session started is joined without asking.
/// </summary>
/// <param name="session">The session the prompt runs in.</param>
/// <param name="client">Where updates and the question go.</param>
/// <param name="logger">The agent's log.</param>
internal sealed partial class FirstRunDownload(AgentSession session, IAcpClient client, ILogger logger)
{
    private const string AllowOption = "download";
    private const string DenyOption = "not_now";

    /// <summary>Gets the model, or ends the turn.</summary>
    /// <returns>Null when the model is ready and the prompt can be answered; otherwise how the turn ends.</returns>
    public async Task<StopReason?> RunAsync(IModelDownload download, CancellationToken cancellationToken)
    {
        string id = session.NextToolCallId();
        ModelOffer offer = download.Offer;
        if (!download.IsDownloading)
        {
            try
            {
                offer = await download.CheckAsync(cancellationToken).ConfigureAwait(false);
            }
            catch (ModelDownloadUnavailableException e)
            {
                LogUnavailable(logger, session.Id, e.Message);
                return Guide($"{e.Message} {download.Guidance}");
            }

            bool complete = offer.SizeBytes is { } size && offer.DownloadedBytes >= size;
            if (!complete)
            {
                string title = Title(offer);
                string question = DownloadText.Question(offer);
                Send(new ToolCallStart(id, title) { Kind = ToolKind.Fetch, Status = ToolCallStatus.Pending, Content = [ToolContent.Text(question)] });
                bool? allowed = await AskAsync(id, title, question, cancellationToken).ConfigureAwait(false);
                if (allowed is null)
                {
                    Fail(id, "Cancelled before the download began.");
                    return StopReason.Cancelled;
                }

                if (allowed == false)
                {
                    LogDeclined(logger, session.Id);
                    Fail(id, "Not downloaded.");
                    return Guide($"{offer.Name} was not downloaded. {download.Guidance}");
                }

                Send(new ToolCallProgress(id) { Status = ToolCallStatus.InProgress });
            }
            else
            {
                Send(new ToolCallStart(id, Title(offer)) { Kind = ToolKind.Fetch, Status = ToolCallStatus.InProgress });
            }
        }
        else
        {
            // Another session's download: the user said yes there; this prompt waits for it, showing it too.
            Send(new ToolCallStart(id, Title(offer)) { Kind = ToolKind.Fetch, Status = ToolCallStatus.InProgress });
        }

        ModelDownloadProgress? last = null;
        try
        {
            await download.DownloadAsync(
                progress =>
                {
                    last = progress;
                    Send(new ToolCallProgress(id) { Content = [ToolContent.Text(DownloadText.Progress(offer, progress))] });
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            string kept = last is { Downloaded: > 0 } p
                ? $"Cancelled; the {DownloadText.Bytes(p.Downloaded)} downloaded so far are kept, and the next prompt resumes the download."
                : "Cancelled.";
            Fail(id, kept);
            return StopReason.Cancelled;
        }
        catch (InferenceException e)
        {
            LogFailed(logger, session.Id, e.Message);
            Fail(id, e.Message);
            return Guide($"{offer.Name} could not be downloaded and loaded: {e.Message} {download.Guidance}");
        }

        Send(new ToolCallProgress(id)
        {
            Status = ToolCallStatus.Completed,
            Content = [ToolContent.Text($"{offer.Repository}/{offer.FileName} is downloaded, verified and loaded.")],
        });
        return null;
    }

    private static string Title(ModelOffer offer) =>
        offer.SizeBytes is { } size ? $"Download {offer.Name} ({DownloadText.Bytes(size)})" : $"Download {offer.Name}";

    /// <summary>Whether the user allows the download: true, false, or null when the turn was cancelled meanwhile.</summary>
    private async Task<bool?> AskAsync(string id, string title, string question, CancellationToken cancellationToken)
    {
        var request = new RequestPermissionRequest(
            session.Id,
            new ToolCallProgress(id) { Title = title, Kind = ToolKind.Fetch, Status = ToolCallStatus.Pending, Content = [ToolContent.Text(question)] },
            [
                new PermissionOption(AllowOption, "Download", PermissionOptionKind.AllowOnce),
                new PermissionOption(DenyOption, "Not now", PermissionOptionKind.RejectOnce),
            ]);
        // A client that cannot ask its user has not allowed a 12 GB download.
        PermissionAnswer answer = await PermissionQuestion.AskAsync(client, request, logger, cancellationToken).ConfigureAwait(false);
        return answer.Cancelled ? null : answer.OptionId == AllowOption;
    }

    private StopReason Guide(string text)
    {
        Send(new AgentMessageChunk(new TextContent(text)) { MessageId = session.NextMessageId() });
        return StopReason.EndTurn;
    }

    private void Fail(string id, string message) =>
        Send(new ToolCallProgress(id) { Status = ToolCallStatus.Failed, Content = [ToolContent.Text(message)] });

    private void Send(SessionUpdate update) => client.SessionUpdate(new SessionNotification(session.Id, update));

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: the model cannot be downloaded now: {Reason}")]
    private static partial void LogUnavailable(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: the user declined the model download")]
    private static partial void LogDeclined(ILogger logger, string sessionId);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the model download failed: {Reason}")]
    private static partial void LogFailed(ILogger logger, string sessionId, string reason);
}
