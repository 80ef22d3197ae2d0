using System.Buffers.Text;
using System.Globalization;
using System.Text;
using Acp.Protocol;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Sessions;

/// <summary>
/// The stored sessions: one journal each (<see cref="SessionJournal"/>), and a saved engine state, in one folder, by default
/// <c>$XDG_STATE_HOME/acp-gptoss/sessions</c>. The folder is 0700 and the files 0600: a conversation may hold secrets.
/// </summary>
/// <param name="directory">The folder; made on the first write.</param>
/// <param name="logger">Where torn records are reported.</param>
/// <param name="pageSize">Sessions per <c>session/list</c> page.</param>
internal sealed partial class SessionStore(string directory, ILogger logger, int pageSize = 50)
{
    public string Directory { get; } = directory;

    /// <summary>Whether <paramref name="id"/> can name a journal: ids become file names, so no separators or dots.</summary>
    public static bool IsValidId(string id) =>
        id.Length is > 0 and <= 128 && id.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-');

    public bool Exists(string id) => IsValidId(id) && File.Exists(PathOf(id));

    /// <summary>Starts the journal of a new session, its first record written at once (it is listed from now on).</summary>
    public SessionJournal Create(string id, string cwd, IReadOnlyList<string>? additionalDirectories, DateTimeOffset now)
    {
        EnsureDirectory();
        SessionJournal journal = SessionJournal.Open(id, PathOf(id), logger);
        journal.Append(new JournalRecord(JournalKinds.Created) { At = now, Cwd = cwd, AdditionalDirectories = additionalDirectories });

        // On session/new's path: no fsync there (milliseconds, more while a model loads); the first turn's end makes
        // the journal durable.
        journal.Flush(durable: false);
        return journal;
    }

    /// <summary>Opens a stored session's journal and reads it; null when there is none.</summary>
    /// <exception cref="SessionBusyException">Another process has it open.</exception>
    public (SessionJournal Journal, SessionSnapshot Snapshot)? Open(string id)
    {
        if (!Exists(id))
        {
            return null;
        }

        SessionJournal journal = SessionJournal.Open(id, PathOf(id), logger);
        return (journal, SessionSnapshot.From(SessionJournal.Read(PathOf(id), logger)));
    }

    /// <summary>One page of the stored sessions, newest first, those in <paramref name="cwd"/> only when given.</summary>
    /// <exception cref="FormatException">The cursor is not one this store made.</exception>
    public ListSessionsResponse List(string? cwd, string? cursor)
    {
        var all = new List<(DateTimeOffset UpdatedAt, SessionInfo Info)>();
        if (System.IO.Directory.Exists(Directory))
        {
            foreach (string path in System.IO.Directory.EnumerateFiles(Directory, "*.jsonl"))
            {
                string id = Path.GetFileNameWithoutExtension(path);
                SessionSnapshot snapshot;
                try
                {
                    snapshot = SessionSnapshot.From(SessionJournal.Read(path, logger));
                }
                catch (IOException)
                {
                    continue; // Deleted while we looked.
                }

                if (!IsValidId(id) || snapshot.Cwd is null || (cwd is not null && snapshot.Cwd != cwd))
                {
                    continue;
                }

                DateTimeOffset updated = snapshot.UpdatedAt ?? File.GetLastWriteTimeUtc(path);
                all.Add((updated, new SessionInfo(id, snapshot.Cwd)
                {
                    AdditionalDirectories = snapshot.AdditionalDirectories is { Count: > 0 } d ? d : null,
                    Title = snapshot.Title,
                    UpdatedAt = updated.UtcDateTime.ToString("O", CultureInfo.InvariantCulture),
                }));
            }
        }

        // Newest first; the id breaks ties, so the order (and a cursor into it) is stable.
        all.Sort((a, b) => b.UpdatedAt != a.UpdatedAt ? b.UpdatedAt.CompareTo(a.UpdatedAt) : string.CompareOrdinal(a.Info.SessionId, b.Info.SessionId));
        int start = 0;
        if (cursor is not null)
        {
            (long ticks, string afterId) = DecodeCursor(cursor);
            start = all.FindIndex(s => s.UpdatedAt.UtcTicks < ticks || (s.UpdatedAt.UtcTicks == ticks && string.CompareOrdinal(s.Info.SessionId, afterId) > 0));
            start = start < 0 ? all.Count : start;
        }

        List<(DateTimeOffset UpdatedAt, SessionInfo Info)> page = all.Skip(start).Take(pageSize).ToList();
        bool more = start + page.Count < all.Count;
        return new ListSessionsResponse(page.Select(s => s.Info).ToList())
        {
            NextCursor = more ? EncodeCursor(page[^1].UpdatedAt.UtcTicks, page[^1].Info.SessionId) : null,
        };
    }

    /// <summary>Removes a stored session's files; nothing to do for an unknown id.</summary>
    /// <exception cref="SessionBusyException">Another process has it open.</exception>
    public void Delete(string id)
    {
        if (!Exists(id))
        {
            return;
        }

        // Take the lock first: a session open elsewhere is not pulled from under its process.
        string lockPath = Path.ChangeExtension(PathOf(id), ".lock");
        FileStream held;
        try
        {
            held = new FileStream(lockPath, SessionJournal.Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e)
        {
            throw new SessionBusyException(id, e);
        }

        using (held)
        {
            // Every file of the session: the journal and whatever else is kept beside it under its id.
            foreach (string path in System.IO.Directory.EnumerateFiles(Directory, id + ".*"))
            {
                File.Delete(path);
            }
        }
    }

    /// <summary>Where a session's engine state is saved between turns: beside its journal, deleted with it.</summary>
    public string StatePathOf(string id) => Path.Combine(Directory, id + ".kv");

    /// <summary>
    /// Deletes saved engine states, least recently written first, until they take at most
    /// <paramref name="budgetBytes"/> together. Their sessions stay; reopened, they read their conversation again.
    /// </summary>
    public void PruneStates(long budgetBytes)
    {
        if (!System.IO.Directory.Exists(Directory))
        {
            return;
        }

        List<FileInfo> states = [.. new DirectoryInfo(Directory).EnumerateFiles("*.kv").OrderByDescending(f => f.LastWriteTimeUtc)];
        long total = 0;
        foreach (FileInfo state in states)
        {
            total += state.Length;
            if (total <= budgetBytes)
            {
                continue;
            }

            try
            {
                state.Delete();
                LogStatePruned(logger, state.Name, budgetBytes);
            }
            catch (IOException)
            {
                // Deleted or replaced meanwhile: nothing to prune.
            }
        }
    }

    private string PathOf(string id) => Path.Combine(Directory, id + ".jsonl");

    private void EnsureDirectory()
    {
        if (OperatingSystem.IsWindows())
        {
            System.IO.Directory.CreateDirectory(Directory);
        }
        else
        {
            System.IO.Directory.CreateDirectory(Directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }
    }

    private static string EncodeCursor(long ticks, string id) =>
        Base64Url.EncodeToString(Encoding.UTF8.GetBytes(ticks.ToString(CultureInfo.InvariantCulture) + ":" + id));

    private static (long Ticks, string Id) DecodeCursor(string cursor)
    {
        string text;
        try
        {
            text = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(cursor));
        }
        catch (FormatException)
        {
            throw new FormatException($"Not a session/list cursor: \"{cursor}\".");
        }

        int colon = text.IndexOf(':', StringComparison.Ordinal);
        return colon > 0 && long.TryParse(text.AsSpan(0, colon), NumberStyles.None, CultureInfo.InvariantCulture, out long ticks) && IsValidId(text[(colon + 1)..])
            ? (ticks, text[(colon + 1)..])
            : throw new FormatException($"Not a session/list cursor: \"{cursor}\".");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Saved session state {File} deleted: the saved states took more than {Budget} bytes")]
    private static partial void LogStatePruned(ILogger logger, string file, long budget);
}
