using System.Globalization;
using System.Text.Json;
using Acp.GptOss.Agent.FirstRun;
using Acp.GptOss.Inference;
using Acp.GptOss.Sessions;
using Acp.GptOss.Tools;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Agent.Commands;

/// <summary>
/// One prompt turn that is a command (<see cref="SlashCommandLine"/>): run by the agent itself, without a model call,
/// and answered as an ordinary message. Commands change settings, the conversation or the models, never the
/// conversation's messages: neither the command nor its answer joins the history or the journal as a turn (what a
/// command changes is stored as such: a setting, a compacted history). docs/acp.md §4.5.
/// </summary>
/// <param name="session">The session: its settings, ids and meter.</param>
/// <param name="history">Its conversation, which <c>/compact</c> compacts.</param>
/// <param name="services">The models, options and log.</param>
/// <param name="stored">Where the session is stored; null when it is not.</param>
internal sealed partial class CommandTurn(AgentSession session, ConversationHistory history, SessionServices services, StoredSession? stored)
{
    public async Task<StopReason> RunAsync(SlashCommandLine command, CancellationToken cancellationToken)
    {
        LogCommand(services.Logger, session.Id, command.Name);
        string answer;
        try
        {
            answer = command.Name switch
            {
                SlashCommands.Model => SetOption(SessionSettings.ModelId, command, ["auto", "gpt-oss", "fast"], "Model"),
                SlashCommands.Effort => SetOption(SessionSettings.ReasoningEffortId, command, ["low", "medium", "high"], "Reasoning effort"),
                SlashCommands.Reasoning => SetOption(SessionSettings.ReasoningDisplayId, command, ["hidden", "status", "full"], "Reasoning display"),
                SlashCommands.Status => NoArgument(command) ?? StatusReport.Build(
                    services.Engines, session.Meter.Last, session.KnownContextSize, session.LastRoute),
                SlashCommands.Compact => NoArgument(command) ?? await CompactAsync(cancellationToken).ConfigureAwait(false),
                SlashCommands.Unload => NoArgument(command) ?? await UnloadAsync(cancellationToken).ConfigureAwait(false),
                SlashCommands.Download => await DownloadAsync(command, cancellationToken).ConfigureAwait(false),
                _ => throw new InvalidOperationException($"Not a command: /{command.Name}"),
            };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return StopReason.Cancelled;
        }

        Send(new AgentMessageChunk(new TextContent(answer)) { MessageId = session.NextMessageId() });
        return StopReason.EndTurn;
    }

    // Exactly what session/set_config_option does, and the client hears of it as a change the agent made.
    private string SetOption(string configId, SlashCommandLine command, string[] values, string label)
    {
        if (!values.Contains(command.Argument, StringComparer.Ordinal))
        {
            return $"Usage: /{command.Name} {string.Join('|', values)}";
        }

        SessionSettings settings;
        try
        {
            settings = session.SetConfigOption(configId, JsonSerializer.SerializeToElement(command.Argument, AcpJsonContext.Default.String), null);
        }
        catch (JsonRpcException e)
        {
            // /model without a fast model: the option's own reason.
            return e.Message;
        }

        Send(new ConfigOptionUpdate(settings.ToConfigOptions()));
        return $"{label}: {command.Argument}.";
    }

    private static string? NoArgument(SlashCommandLine command) => command.Argument.Length == 0 ? null : $"Usage: /{command.Name} (it takes nothing after it)";

    private async Task<string> CompactAsync(CancellationToken cancellationToken)
    {
        int earlier = history.EarlierTurns;
        int rewrites = history.Rewrites;
        ContextFit fit;
        int contextSize;
        try
        {
            (fit, contextSize) = await new GptOssTurn(session, history, services.Client, services.Options, services.Logger)
                .CompactNowAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            return $"The conversation cannot be compacted now: {e.Message}";
        }

        Send(session.Meter.Compacted(fit.Prompt.Length, contextSize));
        if (history.Rewrites != rewrites)
        {
            // Stored whole, as a turn that compacts writes it: a reopened session continues from the compacted history.
            stored?.RecordHistory(history.CompactedTurns, history.CompactedFirstRequest, history.Messages);
        }

        if (!fit.Changed)
        {
            return string.Create(
                CultureInfo.InvariantCulture,
                $"Nothing to compact: the conversation is {(earlier == 0 ? "at most one turn" : "already compact")} ({fit.Prompt.Length:N0} of {contextSize:N0} tokens).");
        }

        var removed = new List<string>(2);
        if (fit.TurnsCompacted > 0)
        {
            removed.Add(fit.TurnsCompacted == 1 ? "the oldest turn" : string.Create(CultureInfo.InvariantCulture, $"the {fit.TurnsCompacted} oldest turns"));
        }

        if (fit.ReasoningDropped > 0)
        {
            removed.Add("the reasoning of earlier tool rounds");
        }

        string summary = string.Create(
            CultureInfo.InvariantCulture,
            $"Compacted the conversation: removed {string.Join(" and ", removed)}, kept the latest turn and a note of the first request. {fit.TokensBefore:N0} → {fit.Prompt.Length:N0} of {contextSize:N0} tokens.");
        if (session.ClientCapabilities?.Session?.Compaction is not null)
        {
            // A client that shows compactions hears of this one as of any other.
            string id = "compaction_" + session.NextMessageId();
            Send(new CompactionUpdate(id, CompactionStatus.InProgress));
            Send(new CompactionUpdate(id, CompactionStatus.Completed) { Summary = [new TextContent(summary)] });
        }

        return summary;
    }

    // As _gptoss/unload: every model, each once no generation uses it.
    private async Task<string> UnloadAsync(CancellationToken cancellationToken)
    {
        IModel[] models = [.. services.Engines.Models];
        if (models.Length == 0)
        {
            return $"Nothing to unload: {services.Engines.GptOss.Description} keeps no model in memory.";
        }

        await Task.WhenAll(models.Select(m => m.UnloadAsync())).WaitAsync(cancellationToken).ConfigureAwait(false);
        return $"Unloaded {string.Join(" and ", models.Select(m => m.Role.WireName()))}. The next prompt loads {(models.Length == 1 ? "it" : "them")} again.";
    }

    // As `models pull`, shown as the first run shows its download: a fetch tool call that follows the bytes.
    private async Task<string> DownloadAsync(SlashCommandLine command, CancellationToken cancellationToken)
    {
        if (services.Engines.Puller is not { } puller)
        {
            return "Models cannot be downloaded from here: run `acp-gptoss models pull MODEL` in a terminal.";
        }

        string spec = command.Argument.Length == 0 ? SlashCommands.DefaultDownload : command.Argument;
        if (puller.Describe(spec, out string? error) is not { } file)
        {
            return $"Usage: /{command.Name} gpt-oss-20b|gpt-oss-120b|ORG/REPO/FILE.gguf ({error})";
        }

        string id = session.NextToolCallId();
        Send(new ToolCallStart(id, $"Download {spec}") { Kind = ToolKind.Fetch, Status = ToolCallStatus.InProgress });
        ModelDownloadProgress? last = null;
        string path;
        try
        {
            path = await puller.PullAsync(
                spec,
                progress =>
                {
                    last = progress;
                    Send(new ToolCallProgress(id) { Content = [ToolContent.Text(DownloadText.Progress(file, progress))] });
                },
                cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            Fail(id, last is { Downloaded: > 0 } p
                ? $"Cancelled; the {DownloadText.Bytes(p.Downloaded)} downloaded so far are kept, and `/{command.Name} {spec}` resumes the download."
                : "Cancelled.");
            throw;
        }
        catch (Exception e) when (e is InferenceException or ArgumentException)
        {
            LogDownloadFailed(services.Logger, session.Id, file, e.Message);
            Fail(id, e.Message);
            return $"{file} could not be downloaded: {e.Message}";
        }

        Send(new ToolCallProgress(id)
        {
            Status = ToolCallStatus.Completed,
            Content = [ToolContent.Text($"{file} is downloaded and verified (sha256): {path}")],
        });
        return $"Downloaded {file} to {path}. To use it, start the agent with `--model {path}`; a GPT-OSS model in the Hugging Face cache is also found automatically at the next start.";
    }

    private void Fail(string id, string message) =>
        Send(new ToolCallProgress(id) { Status = ToolCallStatus.Failed, Content = [ToolContent.Text(message)] });

    private void Send(SessionUpdate update) => services.Client.SessionUpdate(new SessionNotification(session.Id, update));

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: command /{Command}")]
    private static partial void LogCommand(ILogger logger, string sessionId, string command);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: /download of {File} failed: {Reason}")]
    private static partial void LogDownloadFailed(ILogger logger, string sessionId, string file, string reason);
}
