using System.Text.Json;
using Acp.Protocol;
using Harmony.Conversations;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Sessions;

/// <summary>
/// What a session keeps in the store: its journal, written as things happen, and where its engine state is saved
/// between turns (<see cref="StatePath"/>). Turns are written whole at their end, before the response, and made
/// durable (fsync) after it; what happens between turns (a setting, a reopening) is written at once, without waiting
/// for the disk on the request's path.
/// </summary>
/// <param name="journal">The session's open journal (its lock held).</param>
/// <param name="store">The store it is in: where its engine state goes, and the budget of all of them.</param>
/// <param name="stateBudgetBytes">The most disk the stored sessions' engine states take together.</param>
/// <param name="time">Stamps the records.</param>
/// <param name="logger">Where a failed write is reported.</param>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class StoredSession(SessionJournal journal, SessionStore store, long stateBudgetBytes, TimeProvider time, ILogger logger) : IAsyncDisposable
{
    /// <summary>The engine's saved state of the conversation (llama.cpp's KV cache), restored when the session is reopened.</summary>
    public string StatePath { get; } = store.StatePathOf(journal.Id);

    /// <summary>A state was saved: the oldest states go while they all take more than the budget.</summary>
    public void StateSaved()
    {
        try
        {
            store.PruneStates(stateBudgetBytes);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            LogPruneFailed(logger, journal.Id, e.Message);
        }
    }

    /// <summary>The session was reopened in <paramref name="cwd"/> with these roots (load or resume).</summary>
    public void RecordOpened(string cwd, IReadOnlyList<string>? additionalDirectories) =>
        WriteNow(new JournalRecord(JournalKinds.Opened) { Cwd = cwd, AdditionalDirectories = additionalDirectories });

    /// <summary>A config option (or, with <paramref name="type"/> <see cref="JournalKinds.ModeType"/>, the mode) was set.</summary>
    public void RecordSetting(string configId, JsonElement value, string? type) =>
        WriteNow(new JournalRecord(JournalKinds.Config) { ConfigId = configId, Value = value, ValueType = type });

    /// <summary>The session got its title; written with the turn that named it.</summary>
    public void RecordTitle(string title) => journal.Append(new JournalRecord(JournalKinds.Title) { At = time.GetUtcNow(), Text = title });

    /// <summary>
    /// Writes a turn that ended, in one write: once this returns, a crash of the process loses at most the turn in
    /// progress. <see cref="SyncAsync"/> then makes it durable, after the response. A full disk loses the record of
    /// the turn, not the answer the user has: it is logged, not thrown.
    /// </summary>
    public void RecordTurn(TurnEntry turn)
    {
        DateTimeOffset now = time.GetUtcNow();
        journal.Append(new JournalRecord(JournalKinds.User)
        {
            At = now, Text = turn.Text, Prompt = JsonSerializer.SerializeToElement(turn.Prompt, AcpJsonContext.Default.IReadOnlyListContentBlock),
        });
        foreach (JournalRecord record in turn.Shown.TakeRecords(now))
        {
            journal.Append(record);
        }

        if (turn.Compacted is { } compacted)
        {
            // The turn rewrote earlier messages: the history that follows replaces the whole of what came before.
            journal.Append(new JournalRecord(JournalKinds.History) { At = now, CompactedTurns = compacted.Turns, Text = compacted.FirstRequest });
        }

        foreach (HarmonyMessage message in turn.Messages)
        {
            journal.Append(new JournalRecord(JournalKinds.Message) { At = now, Message = JournalMessage.From(message) });
        }

        if (turn.Route is { } route)
        {
            journal.Append(new JournalRecord(JournalKinds.Route) { At = now, Route = route });
        }

        if (turn.Shown.Usage is { } usage)
        {
            journal.Append(new JournalRecord(JournalKinds.Usage) { At = now, Used = usage.Used, Size = usage.Size });
        }

        journal.Append(new JournalRecord(JournalKinds.TurnEnd)
        {
            At = now,
            StopReason = turn.StopReason is { } reason ? JsonSerializer.SerializeToElement(reason, AcpJsonContext.Default.StopReason).GetString() : "error",
            MessageCount = turn.MessageCount,
            ToolCallCount = turn.ToolCallCount,
        });
        try
        {
            // The page cache only: the response (a cancel's above all) does not wait for the disk.
            journal.Flush(durable: false);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            // ObjectDisposed: a session closed under a turn that would not end.
            LogTurnNotWritten(logger, journal.Id, e.Message);
        }
    }

    /// <summary>
    /// Waits for the disk to hold the turn <see cref="RecordTurn"/> wrote (an fsync, milliseconds, more on a busy
    /// disk), off the user's path: a machine that loses power in between may lose that turn.
    /// </summary>
    public Task SyncAsync() => Task.Run(() =>
    {
        try
        {
            journal.Sync();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            LogTurnNotWritten(logger, journal.Id, e.Message);
        }
    });

    /// <summary>
    /// The history was rewritten between turns (<c>/compact</c>): it is written whole, as a turn that compacts writes
    /// it, and made durable.
    /// </summary>
    public void RecordHistory(int compactedTurns, string firstRequest, IEnumerable<HarmonyMessage> messages)
    {
        DateTimeOffset now = time.GetUtcNow();
        journal.Append(new JournalRecord(JournalKinds.History) { At = now, CompactedTurns = compactedTurns, Text = firstRequest });
        foreach (HarmonyMessage message in messages)
        {
            journal.Append(new JournalRecord(JournalKinds.Message) { At = now, Message = JournalMessage.From(message) });
        }

        try
        {
            journal.Flush();
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException)
        {
            LogTurnNotWritten(logger, journal.Id, e.Message);
        }
    }

    public ValueTask DisposeAsync() => journal.DisposeAsync();

    // Between turns, on a request's path: no fsync; the next turn's end makes it durable.
    private void WriteNow(JournalRecord record)
    {
        journal.Append(record with { At = time.GetUtcNow() });
        journal.Flush(durable: false);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session {SessionId}: the saved states could not be pruned: {Reason}")]
    private static partial void LogPruneFailed(ILogger logger, string sessionId, string reason);

    [LoggerMessage(Level = LogLevel.Error, Message = "Session {SessionId}: the turn could not be written to the session's journal: {Reason}")]
    private static partial void LogTurnNotWritten(ILogger logger, string sessionId, string reason);
}
