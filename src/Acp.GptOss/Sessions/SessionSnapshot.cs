using System.Text.Json;
using Harmony.Conversations;

namespace Acp.GptOss.Sessions;

/// <summary>What a journal holds, read back: enough to list the session, replay it to a client and continue it.</summary>
internal sealed record SessionSnapshot
{
    /// <summary>The session's root, from its latest created or opened record.</summary>
    public string? Cwd { get; private init; }

    public IReadOnlyList<string>? AdditionalDirectories { get; private init; }

    public string? Title { get; private init; }

    /// <summary>When the last record was written.</summary>
    public DateTimeOffset? UpdatedAt { get; private init; }

    /// <summary>The conversation as the model reads it, reasoning included.</summary>
    public IReadOnlyList<HarmonyMessage> History { get; private init; } = [];

    /// <summary>The config options and modes set, in order: replayed onto the default settings.</summary>
    public IReadOnlyList<JournalRecord> ConfigChanges { get; private init; } = [];

    /// <summary>What the client was shown, in order: <see cref="JournalKinds.User"/> and <see cref="JournalKinds.Update"/> records.</summary>
    public IReadOnlyList<JournalRecord> Shown { get; private init; } = [];

    /// <summary>How many turns the note that opens <see cref="History"/> stands for; 0 when none were compacted.</summary>
    public int CompactedTurns { get; private init; }

    /// <summary>The first request of the compacted turns.</summary>
    public string CompactedFirstRequest { get; private init; } = "";

    public int MessageCount { get; private init; }

    public int ToolCallCount { get; private init; }

    public static SessionSnapshot From(IReadOnlyList<JournalRecord> records)
    {
        var history = new List<HarmonyMessage>();
        var config = new List<JournalRecord>();
        var shown = new List<JournalRecord>();
        string? cwd = null;
        string? title = null;
        IReadOnlyList<string>? directories = null;
        DateTimeOffset? updated = null;
        int messages = 0;
        int toolCalls = 0;
        int compactedTurns = 0;
        string firstRequest = "";
        foreach (JournalRecord record in records)
        {
            updated = record.At ?? updated;
            switch (record.Kind)
            {
                case JournalKinds.Created or JournalKinds.Opened:
                    cwd = record.Cwd ?? cwd;
                    directories = record.AdditionalDirectories ?? directories;
                    break;
                case JournalKinds.History:
                    history.Clear();
                    compactedTurns = record.CompactedTurns ?? 0;
                    firstRequest = record.Text ?? "";
                    break;
                case JournalKinds.Message when record.Message?.ToHarmony() is { } message:
                    history.Add(message);
                    break;
                case JournalKinds.Config when record.ConfigId is not null && record.Value is { ValueKind: not JsonValueKind.Undefined }:
                    config.Add(record);
                    break;
                case JournalKinds.User or JournalKinds.Update:
                    shown.Add(record);
                    break;
                case JournalKinds.Title:
                    title = record.Text ?? title;
                    break;
                case JournalKinds.TurnEnd:
                    messages = Math.Max(messages, record.MessageCount ?? 0);
                    toolCalls = Math.Max(toolCalls, record.ToolCallCount ?? 0);
                    break;
                default:
                    // Route and usage records are kept for people and tools reading the journal; a kind this version
                    // does not know is skipped, so older agents still load newer journals.
                    break;
            }
        }

        return new SessionSnapshot
        {
            Cwd = cwd,
            AdditionalDirectories = directories,
            Title = title,
            UpdatedAt = updated,
            History = history,
            CompactedTurns = compactedTurns,
            CompactedFirstRequest = firstRequest,
            ConfigChanges = config,
            Shown = shown,
            MessageCount = messages,
            ToolCallCount = toolCalls,
        };
    }
}
