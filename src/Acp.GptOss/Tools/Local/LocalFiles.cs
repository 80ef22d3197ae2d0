using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Acp.GptOss.Tools;

/// <summary>
/// The function tools acting on the local disk and shell, for when the editor offers no fs/terminal methods. Every
/// path goes through <see cref="WorkspaceRoots.Resolve"/>. Results are text for the model: plain text, except
/// <see cref="RunCommandAsync"/> (JSON) and <see cref="EditFileAsync"/> (a record that carries the diff).
/// </summary>
/// <remarks>
/// Failures the model can act on (a missing file, a path outside the workspace, an ambiguous edit) throw
/// <see cref="ToolException"/> with a message for the model; cancellation throws <see cref="OperationCanceledException"/>.
/// Thread-safe: no state besides the roots.
/// </remarks>
internal sealed class LocalTools
{
    /// <summary>Files above this are refused by read and edit: they would not fit a useful context anyway.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>A NUL byte in this many leading bytes makes a file binary, as git decides.</summary>
    public const int BinaryProbeBytes = 8 * 1024;

    public const int MaxListEntries = 2000;

    public const int MaxSearchMatches = 200;

    /// <summary>The tail of a command's output kept for the model.</summary>
    public const int MaxCommandOutputBytes = 64 * 1024;

    // Larger files (logs, dumps) would make a search slow and are rarely what the model looks for.
    private const long MaxSearchFileBytes = 4L * 1024 * 1024;
    private const int MaxSearchLineChars = 300;
    private const string GitDirectory = ".git";

    // A background process the command left behind may hold the output pipe open forever: read no longer than this
    // once the shell has exited.
    private static readonly TimeSpan s_outputDrainTimeout = TimeSpan.FromSeconds(2);

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly byte[] s_utf8Bom = [0xEF, 0xBB, 0xBF];

    private static readonly EnumerationOptions s_oneLevel = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
    };

    private readonly WorkspaceRoots _roots;

    public LocalTools(WorkspaceRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        _roots = roots;
    }

    public WorkspaceRoots Roots => _roots;

    /// <summary>
    /// read_file: the text of a UTF-8 file, whole or a window of lines (line endings kept). Plain text.
    /// </summary>
    /// <param name="path">Relative to the cwd, or absolute inside a root.</param>
    /// <param name="line">The first line to return, 1-based; the first line when null.</param>
    /// <param name="limit">How many lines at most; to the end when null.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    public async Task<string> ReadFileAsync(string path, int? line = null, int? limit = null, CancellationToken cancellationToken = default)
    {
        if (line < 1)
        {
            throw new ToolException($"line must be 1 or more (it is 1-based), not {line}.");
        }

        if (limit < 1)
        {
            throw new ToolException($"limit must be 1 or more, not {limit}.");
        }

        string full = _roots.Resolve(path);
        (string text, _) = await ReadTextAsync(path, full, cancellationToken).ConfigureAwait(false);
        if (line is null && limit is null)
        {
            return text;
        }

        int first = line ?? 1;
        var lines = SplitLinesKeepingEndings(text);
        if (first > lines.Count && !(first == 1 && lines.Count == 0))
        {
            throw new ToolException($"'{path}' has {lines.Count} lines; line {first} is past its end.");
        }

        int count = Math.Min(limit ?? int.MaxValue, lines.Count - (first - 1));
        return string.Concat(lines.GetRange(first - 1, count));
    }

    /// <summary>
    /// write_file: creates or replaces a file with <paramref name="content"/> (UTF-8), creating its parent folders.
    /// Atomic: written to a temporary file in the same folder, then renamed over the target. Plain text.
    /// </summary>
    public async Task<string> WriteFileAsync(string path, string content, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(content);
        string full = _roots.Resolve(path);
        if (Directory.Exists(full))
        {
            throw new ToolException($"'{path}' is a directory.");
        }

        byte[] bytes = s_utf8.GetBytes(content);
        try
        {
            // The resolved path has every existing component real and the rest plain names, so the folders created
            // here are inside the workspace.
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            await WriteAtomicAsync(full, bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"Could not write '{path}': {ex.Message}", ex);
        }

        return $"Wrote {bytes.Length} bytes to {_roots.DisplayPath(full)}.";
    }

    /// <summary>
    /// edit_file: replaces the one exact occurrence of <paramref name="oldText"/> with <paramref name="newText"/>.
    /// Refused when the text is not found or found more than once (the model must then give more context).
    /// </summary>
    /// <returns>The whole file before and after, for the editor's diff, and a summary for the model.</returns>
    public async Task<FileEdit> EditFileAsync(string path, string oldText, string newText, CancellationToken cancellationToken = default)
    {
        PreparedEdit edit = await PrepareEditAsync(path, oldText, newText, cancellationToken).ConfigureAwait(false);
        return await ApplyEditAsync(edit, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The edit <see cref="EditFileAsync"/> would make, without making it: to show it before it is allowed.</summary>
    public async Task<PreparedEdit> PrepareEditAsync(string path, string oldText, string newText, CancellationToken cancellationToken = default)
    {
        string full = _roots.Resolve(path);
        (string before, bool hadBom) = await ReadTextAsync(path, full, cancellationToken).ConfigureAwait(false);
        (string after, int line) = ReplaceOnce(path, before, oldText, newText);
        return new PreparedEdit(full, before, after, line, hadBom);
    }

    /// <summary>Writes a prepared edit (atomically, keeping a byte order mark the file had).</summary>
    public async Task<FileEdit> ApplyEditAsync(PreparedEdit edit, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(edit);
        byte[] body = s_utf8.GetBytes(edit.NewText);
        byte[] bytes = edit.HadBom ? [.. s_utf8Bom, .. body] : body;
        try
        {
            await WriteAtomicAsync(edit.Path, bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"Could not write '{_roots.DisplayPath(edit.Path)}': {ex.Message}", ex);
        }

        return new FileEdit(edit.Path, edit.OldText, edit.NewText, EditSummary(edit.Path, edit.Line));
    }

    /// <summary>The summary of an edit for the model.</summary>
    public string EditSummary(string fullPath, int line) => $"Edited {_roots.DisplayPath(fullPath)} at line {line}.";

    /// <summary>
    /// Replaces the one exact occurrence of <paramref name="oldText"/> in <paramref name="text"/>; the rule of
    /// edit_file, wherever the text was read from.
    /// </summary>
    /// <returns>The new text and the 1-based line where the replacement starts.</returns>
    /// <exception cref="ToolException">The old text is empty, missing, or not unique.</exception>
    public static (string Text, int Line) ReplaceOnce(string path, string text, string oldText, string newText)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(oldText);
        ArgumentNullException.ThrowIfNull(newText);
        if (oldText.Length == 0)
        {
            throw new ToolException("old_text is empty; to create or replace a whole file, use write_file.");
        }

        int index = text.IndexOf(oldText, StringComparison.Ordinal);
        if (index < 0)
        {
            throw new ToolException($"old_text was not found in '{path}'. It must match the file exactly, whitespace and line endings included; read the file again.");
        }

        int occurrences = CountOccurrences(text, oldText);
        if (occurrences > 1)
        {
            throw new ToolException($"old_text occurs {occurrences} times in '{path}'. Include more of the surrounding lines so that it occurs once.");
        }

        string after = string.Concat(text.AsSpan(0, index), newText, text.AsSpan(index + oldText.Length));
        return (after, CountOccurrences(text.AsSpan(0, index), '\n') + 1);
    }

    /// <summary>
    /// list_files: the entries of a directory, one per line, relative to it, sorted; directories end with '/'.
    /// Skips .git; symlinked directories are listed, not entered. Stops after <see cref="MaxListEntries"/> with a note.
    /// </summary>
    public Task<string> ListFilesAsync(string path, bool recursive, CancellationToken cancellationToken = default)
    {
        string full = _roots.Resolve(path);
        if (!Directory.Exists(full))
        {
            throw new ToolException(File.Exists(full) ? $"'{path}' is a file, not a directory." : $"The directory '{path}' does not exist.");
        }

        // Enumeration is synchronous; keep it off the caller's thread, since a large tree takes a while.
        return Task.Run(
            () =>
            {
                var entries = new List<string>();
                bool complete = ListInto(full, prefix: "", recursive, entries, cancellationToken);
                if (entries.Count == 0)
                {
                    return "(empty directory)";
                }

                var text = new StringBuilder().AppendJoin('\n', entries);
                if (!complete)
                {
                    text.Append('\n').Append($"[listing stopped at {MaxListEntries} entries; list a subdirectory to see more]");
                }

                return text.ToString();
            },
            cancellationToken);
    }

    /// <summary>
    /// search: plain-text, case-sensitive search of the files under <paramref name="path"/> (the cwd when null), or
    /// of that one file. One line per match, <c>file:line: text</c>, files as <see cref="WorkspaceRoots.DisplayPath"/>
    /// shows them. Skips .git, binary files, symlinks and files over 4 MiB; stops after <see cref="MaxSearchMatches"/>.
    /// </summary>
    public Task<string> SearchAsync(string pattern, string? path = null, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrEmpty(pattern))
        {
            throw new ToolException("The search pattern is empty.");
        }

        if (pattern.Contains('\n', StringComparison.Ordinal))
        {
            throw new ToolException("The search pattern must be a single line.");
        }

        string full = _roots.Resolve(path ?? ".");
        bool isFile = File.Exists(full);
        if (!isFile && !Directory.Exists(full))
        {
            throw new ToolException($"'{path}' does not exist.");
        }

        return Task.Run(
            () =>
            {
                var matches = new List<string>();
                IEnumerable<string> files = isFile ? [full] : EnumerateSearchFiles(full, cancellationToken);
                foreach (string file in files)
                {
                    if (!SearchFile(file, pattern, matches, cancellationToken))
                    {
                        matches.Add($"[search stopped at {MaxSearchMatches} matches; narrow the pattern or the path]");
                        break;
                    }
                }

                return matches.Count == 0
                    ? $"No matches for \"{pattern}\" in {_roots.DisplayPath(full)}."
                    : string.Join('\n', matches);
            },
            cancellationToken);
    }

    /// <summary>
    /// run_command: runs <c>/bin/sh -c <paramref name="command"/></c> in <paramref name="cwd"/> (the session's cwd
    /// when null) with stdin closed, stdout and stderr interleaved in one stream. On timeout the whole process tree
    /// is killed and reported; on cancellation <see cref="OperationCanceledException"/> is thrown at once and the
    /// tree is killed in the background.
    /// </summary>
    /// <returns>
    /// JSON: <c>{"exitCode":int,"timedOut":bool,"output":string,"outputTruncatedBytes":int}</c>, plus <c>"note"</c>
    /// when the process tree was killed or the output was left unread. The output keeps the last 64 KiB.
    /// </returns>
    public async Task<string> RunCommandAsync(string command, string? cwd, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(command))
        {
            throw new ToolException("The command is empty.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        string directory = _roots.Resolve(cwd ?? ".");
        if (!Directory.Exists(directory))
        {
            throw new ToolException($"The working directory '{cwd}' does not exist.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("-c");
        // One pipe for both streams keeps their true order, which two pipes read apart cannot. stderr is still read,
        // for what the shell itself says before this line runs (a syntax error in the command).
        startInfo.ArgumentList.Add("exec 2>&1\n" + command);

        var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new ToolException($"Could not start /bin/sh: {ex.Message}", ex);
        }

        try
        {
            return await RunStartedAsync(process, timeout, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The turn answers its cancel at once; the tree is killed and reaped in the background.
            _ = Task.Run(() => ReapAsync(process), CancellationToken.None);
            throw;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    private static async Task ReapAsync(Process process)
    {
        using (process)
        {
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task<string> RunStartedAsync(Process process, TimeSpan timeout, CancellationToken cancellationToken)
    {

        // A command that reads stdin gets end-of-file instead of waiting for input that never comes.
        process.StandardInput.Close();
        var output = new OutputTail(MaxCommandOutputBytes);
        Task reading = Task.WhenAll(
            PumpAsync(process.StandardOutput.BaseStream, output),
            PumpAsync(process.StandardError.BaseStream, output));

        bool killed = false;
        using (var timeoutSource = new CancellationTokenSource(timeout))
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeoutSource.Token))
        {
            try
            {
                await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                // Cancelled: the caller kills the tree in the background (finding it reads all of /proc, which takes
                // a while on a busy machine) and the turn answers at once.
                cancellationToken.ThrowIfCancellationRequested();
                KillTree(process);
                killed = true;
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        bool drained = await Task.WhenAny(reading, Task.Delay(s_outputDrainTimeout, CancellationToken.None)).ConfigureAwait(false) == reading;
        cancellationToken.ThrowIfCancellationRequested();

        (string text, long dropped) = output.Snapshot();
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("exitCode", process.ExitCode);
            json.WriteBoolean("timedOut", killed);
            json.WriteString("output", text);
            json.WriteNumber("outputTruncatedBytes", dropped);
            if (killed)
            {
                json.WriteString("note", $"Timed out after {timeout.TotalSeconds:0.###} s; the command and every process it started were killed.");
            }
            else if (!drained)
            {
                json.WriteString("note", "The command exited, but a background process it started still holds its output open; output after its exit was not read.");
            }

            json.WriteEndObject();
        }

        process.Dispose();
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static async Task<(string Text, bool HadBom)> ReadTextAsync(string path, string full, CancellationToken cancellationToken)
    {
        if (Directory.Exists(full))
        {
            throw new ToolException($"'{path}' is a directory; use list_files.");
        }

        if (!File.Exists(full))
        {
            throw new ToolException($"The file '{path}' does not exist.");
        }

        byte[] bytes;
        try
        {
            // Checked on the open handle's length, so a file that grew since it was resolved is still refused.
            await using var stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 4096, useAsync: true);
            if (stream.Length > MaxFileBytes)
            {
                throw new ToolException($"'{path}' is {stream.Length} bytes, over the {MaxFileBytes} byte limit for reading; use search to find the part you need.");
            }

            bytes = new byte[stream.Length];
            await stream.ReadExactlyAsync(bytes, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw new ToolException($"Could not read '{path}': {ex.Message}", ex);
        }

        if (IsBinary(bytes))
        {
            throw new ToolException($"'{path}' is a binary file (it has a NUL byte in its first {BinaryProbeBytes} bytes); only text files can be read.");
        }

        bool hadBom = bytes.AsSpan().StartsWith(s_utf8Bom);
        return (s_utf8.GetString(hadBom ? bytes.AsSpan(s_utf8Bom.Length) : bytes), hadBom);
    }

    private static bool IsBinary(ReadOnlySpan<byte> bytes) =>
        bytes[..Math.Min(bytes.Length, BinaryProbeBytes)].Contains((byte)0);

    private static async Task WriteAtomicAsync(string full, byte[] bytes, CancellationToken cancellationToken)
    {
        string temporary = Path.Join(Path.GetDirectoryName(full), $".{Path.GetFileName(full)}.{Guid.NewGuid():N}.tmp");
        var options = new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, Options = FileOptions.Asynchronous };
        if (!OperatingSystem.IsWindows() && File.Exists(full))
        {
            // Replacing a file must not drop its mode (an executable script stays executable).
            options.UnixCreateMode = File.GetUnixFileMode(full);
        }

        try
        {
            await using (var stream = new FileStream(temporary, options))
            {
                await stream.WriteAsync(bytes, cancellationToken).ConfigureAwait(false);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, full, overwrite: true);
        }
        catch
        {
            try
            {
                File.Delete(temporary);
            }
            catch (IOException)
            {
                // The original failure is what matters; a stray temporary file is only untidy.
            }

            throw;
        }
    }

    private static List<string> SplitLinesKeepingEndings(string text)
    {
        var lines = new List<string>();
        int start = 0;
        while (start < text.Length)
        {
            int newline = text.IndexOf('\n', start);
            int end = newline < 0 ? text.Length : newline + 1;
            lines.Add(text[start..end]);
            start = end;
        }

        return lines;
    }

    private static int CountOccurrences(string text, string value)
    {
        int count = 0;
        for (int index = text.IndexOf(value, StringComparison.Ordinal); index >= 0; index = text.IndexOf(value, index + 1, StringComparison.Ordinal))
        {
            count++;
        }

        return count;
    }

    private static int CountOccurrences(ReadOnlySpan<char> text, char value) => text.Count(value);

    /// <returns>False when the entry limit was reached.</returns>
    private static bool ListInto(string directory, string prefix, bool recursive, List<string> entries, CancellationToken cancellationToken)
    {
        foreach (FileSystemInfo entry in SortedEntries(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.Name == GitDirectory)
            {
                continue;
            }

            if (entries.Count == MaxListEntries)
            {
                return false;
            }

            string name = prefix + entry.Name;
            if (entry is not DirectoryInfo)
            {
                entries.Add(name);
                continue;
            }

            entries.Add(name + "/");
            // A symlinked directory may lead outside the workspace or into a loop: listed, not entered.
            if (recursive && entry.LinkTarget is null && !ListInto(entry.FullName, name + "/", recursive, entries, cancellationToken))
            {
                return false;
            }
        }

        return true;
    }

    private static IEnumerable<string> EnumerateSearchFiles(string directory, CancellationToken cancellationToken)
    {
        foreach (FileSystemInfo entry in SortedEntries(directory))
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (entry.Name == GitDirectory || entry.LinkTarget is not null)
            {
                continue;
            }

            if (entry is DirectoryInfo)
            {
                foreach (string file in EnumerateSearchFiles(entry.FullName, cancellationToken))
                {
                    yield return file;
                }
            }
            else if (entry is FileInfo { Length: <= MaxSearchFileBytes })
            {
                yield return entry.FullName;
            }
        }
    }

    private static FileSystemInfo[] SortedEntries(string directory)
    {
        FileSystemInfo[] entries;
        try
        {
            entries = new DirectoryInfo(directory).GetFileSystemInfos("*", s_oneLevel);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            return [];
        }

        Array.Sort(entries, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        return entries;
    }

    /// <returns>False when the match limit was reached.</returns>
    private bool SearchFile(string file, string pattern, List<string> matches, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            byte[] probe = new byte[BinaryProbeBytes];
            int probed = stream.ReadAtLeast(probe, probe.Length, throwOnEndOfStream: false);
            if (IsBinary(probe.AsSpan(0, probed)))
            {
                return true;
            }

            stream.Position = 0;
            using var reader = new StreamReader(stream, s_utf8, detectEncodingFromByteOrderMarks: true);
            string display = _roots.DisplayPath(file);
            int number = 0;
            while (reader.ReadLine() is { } line)
            {
                number++;
                if (!line.Contains(pattern, StringComparison.Ordinal))
                {
                    continue;
                }

                cancellationToken.ThrowIfCancellationRequested();
                if (matches.Count == MaxSearchMatches)
                {
                    return false;
                }

                string text = line.Length > MaxSearchLineChars ? line[..MaxSearchLineChars] + "…" : line;
                matches.Add($"{display}:{number}: {text}");
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // An unreadable file is skipped, as grep -s does; the rest of the search still helps.
        }

        return true;
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }
        catch (AggregateException)
        {
            // Some descendant could not be killed (it exited, or is not ours to signal); the rest were.
        }
    }

    private static async Task PumpAsync(Stream stream, OutputTail output)
    {
        byte[] buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
            {
                output.Append(buffer.AsSpan(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The process is gone and its pipe closed under us: what was read is the output.
        }
    }

    /// <summary>The last bytes of a command's output, in a ring buffer shared by the stdout and stderr readers.</summary>
    private sealed class OutputTail(int capacity)
    {
        private readonly Lock _lock = new();
        private readonly byte[] _buffer = new byte[capacity];
        private long _total;

        public void Append(ReadOnlySpan<byte> data)
        {
            lock (_lock)
            {
                if (data.Length > _buffer.Length)
                {
                    _total += data.Length - _buffer.Length;
                    data = data[^_buffer.Length..];
                }

                while (!data.IsEmpty)
                {
                    int position = (int)(_total % _buffer.Length);
                    int chunk = Math.Min(data.Length, _buffer.Length - position);
                    data[..chunk].CopyTo(_buffer.AsSpan(position));
                    data = data[chunk..];
                    _total += chunk;
                }
            }
        }

        public (string Text, long Dropped) Snapshot()
        {
            byte[] bytes;
            long dropped;
            lock (_lock)
            {
                if (_total <= _buffer.Length)
                {
                    return (s_utf8.GetString(_buffer, 0, (int)_total), 0);
                }

                int start = (int)(_total % _buffer.Length);
                bytes = [.. _buffer.AsSpan(start), .. _buffer.AsSpan(0, start)];
                dropped = _total - _buffer.Length;
            }

            // The cut may fall inside a UTF-8 sequence: skip its continuation bytes rather than show a broken character.
            int skip = 0;
            while (skip < bytes.Length && skip < 3 && (bytes[skip] & 0xC0) == 0x80)
            {
                skip++;
            }

            return (s_utf8.GetString(bytes, skip, bytes.Length - skip), dropped + skip);
        }
    }
}
