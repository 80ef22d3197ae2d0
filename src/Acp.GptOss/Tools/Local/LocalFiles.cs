using System.Text;

namespace Acp.GptOss.Tools.Local;

/// <summary>
/// read_file, write_file and edit_file on the local disk, for when the editor offers no <c>fs/*</c> methods. Every
/// path goes through <see cref="WorkspaceRoots.Resolve"/>. Results are plain text for the model, except
/// <see cref="EditFileAsync"/> (a record that carries the diff).
/// </summary>
/// <remarks>
/// Failures the model can act on (a missing file, a path outside the workspace, an ambiguous edit) throw
/// <see cref="ToolException"/> with a message for the model; cancellation throws <see cref="OperationCanceledException"/>.
/// Thread-safe: no state besides the roots.
/// </remarks>
internal sealed class LocalFiles
{
    /// <summary>Files above this are refused by read and edit: they would not fit a useful context anyway.</summary>
    public const int MaxFileBytes = 1024 * 1024;

    /// <summary>A NUL byte in this many leading bytes makes a file binary, as git decides.</summary>
    public const int BinaryProbeBytes = 8 * 1024;

    private static readonly UTF8Encoding s_utf8 = new(encoderShouldEmitUTF8Identifier: false);
    private static readonly byte[] s_utf8Bom = [0xEF, 0xBB, 0xBF];

    private readonly WorkspaceRoots _roots;

    public LocalFiles(WorkspaceRoots roots)
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
        (string after, int line) = TextEdit.ReplaceOnce(path, before, oldText, newText);
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

        return new FileEdit(edit.Path, edit.OldText, edit.NewText, TextEdit.Summary(_roots, edit.Path, edit.Line));
    }

    /// <summary>Whether bytes read from a file make it binary: a NUL in the first <see cref="BinaryProbeBytes"/>, as git decides.</summary>
    public static bool IsBinary(ReadOnlySpan<byte> bytes) =>
        bytes[..Math.Min(bytes.Length, BinaryProbeBytes)].Contains((byte)0);

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
}
