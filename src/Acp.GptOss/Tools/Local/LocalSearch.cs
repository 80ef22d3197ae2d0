using System.Text;

namespace Acp.GptOss.Tools.Local;

/// <summary>
/// list_files and search on the local disk: both walk the workspace's folders in name order, skipping .git, and never
/// follow a symlinked folder. Every path goes through <see cref="WorkspaceRoots.Resolve"/>; results are plain text.
/// </summary>
/// <remarks>
/// Failures the model can act on (a missing folder, a path outside the workspace, an empty pattern) throw
/// <see cref="ToolException"/>. Thread-safe: no state besides the roots.
/// </remarks>
internal sealed class LocalSearch
{
    public const int MaxListEntries = 2000;

    public const int MaxSearchMatches = 200;

    // Larger files (logs, dumps) would make a search slow and are rarely what the model looks for.
    private const long MaxSearchFileBytes = 4L * 1024 * 1024;
    private const int MaxSearchLineChars = 300;
    private const string GitDirectory = ".git";

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);

    private static readonly EnumerationOptions s_oneLevel = new()
    {
        RecurseSubdirectories = false,
        IgnoreInaccessible = true,
        AttributesToSkip = 0,
        ReturnSpecialDirectories = false,
    };

    private readonly WorkspaceRoots _roots;

    public LocalSearch(WorkspaceRoots roots)
    {
        ArgumentNullException.ThrowIfNull(roots);
        _roots = roots;
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
            byte[] probe = new byte[LocalFiles.BinaryProbeBytes];
            int probed = stream.ReadAtLeast(probe, probe.Length, throwOnEndOfStream: false);
            if (LocalFiles.IsBinary(probe.AsSpan(0, probed)))
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
}
