using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Sessions;

/// <summary>
/// One session's append-only journal, <c>&lt;id&gt;.jsonl</c>: one <see cref="JournalRecord"/> a line. Records are
/// buffered and written together by <see cref="Flush"/> (at each turn's end), so a crash loses at most the turn
/// in progress. While it is open, <c>&lt;id&gt;.lock</c> is held exclusively: a second agent process cannot open the
/// session and interleave its writes.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class SessionJournal : IAsyncDisposable
{
    private static readonly UnixFileMode s_fileMode = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    private readonly Lock _gate = new();
    private readonly List<JournalRecord> _pending = [];
    private readonly FileStream _lock;
    private readonly FileStream _file;

    private SessionJournal(string id, FileStream @lock, FileStream file)
    {
        Id = id;
        _lock = @lock;
        _file = file;
    }

    public string Id { get; }

    /// <summary>Opens (or creates) the journal at <paramref name="path"/>, taking its lock.</summary>
    /// <exception cref="SessionBusyException">Another process has the session open.</exception>
    public static SessionJournal Open(string id, string path, ILogger logger)
    {
        FileStream @lock;
        try
        {
            // FileShare.None is an exclusive flock on Unix, held until the stream is closed (or the process dies).
            @lock = new FileStream(Path.ChangeExtension(path, ".lock"), Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None));
        }
        catch (IOException e)
        {
            throw new SessionBusyException(id, e);
        }

        try
        {
            var file = new FileStream(path, Options(FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.Read));
            DropTornTail(file, path, logger);
            file.Seek(0, SeekOrigin.End);
            return new SessionJournal(id, @lock, file);
        }
        catch
        {
            @lock.Dispose();
            throw;
        }
    }

    /// <summary>Queues a record; it is written by the next <see cref="Flush"/>.</summary>
    public void Append(JournalRecord record)
    {
        lock (_gate)
        {
            _pending.Add(record);
        }
    }

    /// <summary>Writes the queued records, one line each, and flushes them to the disk.</summary>
    /// <param name="durable">
    /// Waits for the disk (fsync), as a turn's end does. Without it the records reach the page cache only: other
    /// processes see them at once, and a machine that loses power may lose them (a session with no turn yet, say).
    /// </param>
    /// <remarks>Synchronous: a turn's records are a few kilobytes, written once at its end.</remarks>
    public void Flush(bool durable = true)
    {
        lock (_gate)
        {
            if (_pending.Count == 0)
            {
                return;
            }

            var text = new StringBuilder();
            foreach (JournalRecord record in _pending)
            {
                text.Append(JsonSerializer.Serialize(record, SessionJsonContext.Default.JournalRecord)).Append('\n');
            }

            _pending.Clear();
            _file.Write(Encoding.UTF8.GetBytes(text.ToString()));
            _file.Flush(flushToDisk: durable);
        }
    }

    /// <summary>Waits for the disk (fsync) to hold everything written so far.</summary>
    /// <exception cref="IOException">The disk failed.</exception>
    /// <exception cref="ObjectDisposedException">The journal is closed.</exception>
    public void Sync()
    {
        lock (_gate)
        {
            _file.Flush(flushToDisk: true);
        }
    }

    /// <summary>
    /// Reads a journal's records. A line that does not parse (the last one torn by a crash) is skipped with a warning:
    /// a session always loads with what was written whole.
    /// </summary>
    public static List<JournalRecord> Read(string path, ILogger logger)
    {
        var records = new List<JournalRecord>();
        using var reader = new StreamReader(new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite), Encoding.UTF8);
        int number = 0;
        while (reader.ReadLine() is { } line)
        {
            number++;
            if (line.Length == 0)
            {
                continue;
            }

            try
            {
                if (JsonSerializer.Deserialize(line, SessionJsonContext.Default.JournalRecord) is { } record)
                {
                    records.Add(record);
                }
            }
            catch (JsonException e)
            {
                LogSkippedLine(logger, path, number, e.Message);
            }
        }

        return records;
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            Flush();
        }
        finally
        {
            await _file.DisposeAsync().ConfigureAwait(false);
            await _lock.DisposeAsync().ConfigureAwait(false);
        }
    }

    internal static FileStreamOptions Options(FileMode mode, FileAccess access, FileShare share)
    {
        var options = new FileStreamOptions { Mode = mode, Access = access, Share = share };
        if (!OperatingSystem.IsWindows())
        {
            options.UnixCreateMode = s_fileMode;
        }

        return options;
    }

    // A crash mid-write leaves a last line without its newline: cut it off, or the next record would be glued to it.
    private static void DropTornTail(FileStream file, string path, ILogger logger)
    {
        long length = file.Length;
        if (length == 0)
        {
            return;
        }

        var one = new byte[1];
        long end = length;
        while (end > 0)
        {
            file.Seek(end - 1, SeekOrigin.Begin);
            file.ReadExactly(one);
            if (one[0] == (byte)'\n')
            {
                break;
            }

            end--;
        }

        if (end != length)
        {
            LogTornTail(logger, path, length - end);
            file.SetLength(end);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session journal {Path}: its last {Bytes} bytes are a record cut off by a crash, and are dropped")]
    private static partial void LogTornTail(ILogger logger, string path, long bytes);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Session journal {Path}: line {Line} is not a whole record and is skipped (a write cut off by a crash?): {Reason}")]
    private static partial void LogSkippedLine(ILogger logger, string path, int line, string reason);
}
