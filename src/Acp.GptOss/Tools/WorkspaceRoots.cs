namespace Acp.GptOss.Tools;

/// <summary>
/// The folders a session's tools may touch: the session's cwd and its additional directories. Every path the model
/// gives goes through <see cref="Resolve"/>, which follows symlinks component by component, so that neither
/// <c>..</c> nor a link that points outside lets a tool reach past the roots.
/// </summary>
/// <remarks>
/// Thread-safe (immutable). The check is made when the path is resolved; a symlink swapped in between the check and
/// the tool's own I/O is not guarded against: the tools act for the user, not against a hostile local user.
/// </remarks>
internal sealed class WorkspaceRoots
{
    // As Linux's own limit (MAXSYMLINKS): more means a loop.
    private const int MaxSymlinks = 40;

    // Case-sensitive where the file system usually is; Windows and macOS file systems ignore case by default.
    private static readonly StringComparison s_comparison =
        OperatingSystem.IsWindows() || OperatingSystem.IsMacOS() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    private static readonly char[] s_separators = [Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar];

    private readonly string[] _roots;

    /// <param name="cwd">The session's working directory, absolute; relative paths are taken from it.</param>
    /// <param name="additionalDirectories">Further absolute directories the tools may use.</param>
    public WorkspaceRoots(string cwd, IEnumerable<string>? additionalDirectories = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(cwd);
        Cwd = Canonical(cwd, nameof(cwd));
        var roots = new List<string> { Cwd };
        foreach (string directory in additionalDirectories ?? [])
        {
            string root = Canonical(directory, nameof(additionalDirectories));
            if (!roots.Contains(root, StringComparer.FromComparison(s_comparison)))
            {
                roots.Add(root);
            }
        }

        _roots = [.. roots];
    }

    /// <summary>The working directory, with its symlinks resolved.</summary>
    public string Cwd { get; }

    /// <summary>Every root, the working directory first, with their symlinks resolved.</summary>
    public IReadOnlyList<string> Roots => _roots;

    /// <summary>
    /// Turns a path from the model (relative to <see cref="Cwd"/>, or absolute) into the real full path it names,
    /// every existing symlink followed and every <c>..</c> applied, as the kernel would. The path need not exist.
    /// </summary>
    /// <exception cref="ToolException">The path is empty or malformed, or its real path lies outside every root.</exception>
    public string Resolve(string path)
    {
        if (string.IsNullOrWhiteSpace(path))
        {
            throw new ToolException("The path is empty.");
        }

        if (path.Contains('\0', StringComparison.Ordinal))
        {
            throw new ToolException($"The path '{path}' contains a NUL character.");
        }

        string full = Path.IsPathRooted(path) ? path : Path.Join(Cwd, path);
        var links = new List<(string Link, string Target)>();
        string real = RealPath(full, links, path);
        if (IsInside(real))
        {
            return real;
        }

        // Name the link that led outside, which is what the model (and the user reading along) needs to know.
        foreach ((string link, string target) in links)
        {
            if (!IsInside(target))
            {
                throw new ToolException(
                    $"The path '{path}' is outside the workspace: it goes through the symlink '{link}' to '{target}'. Allowed roots: {string.Join(", ", _roots)}.");
            }
        }

        throw new ToolException($"The path '{path}' ({real}) is outside the workspace. Allowed roots: {string.Join(", ", _roots)}.");
    }

    /// <summary>A resolved path as the model should see it: relative to the cwd when under it, else full.</summary>
    public string DisplayPath(string fullPath)
    {
        if (fullPath.Equals(Cwd, s_comparison))
        {
            return ".";
        }

        return IsUnder(fullPath, Cwd) ? Path.GetRelativePath(Cwd, fullPath) : fullPath;
    }

    private bool IsInside(string realPath)
    {
        foreach (string root in _roots)
        {
            if (IsUnder(realPath, root))
            {
                return true;
            }
        }

        return false;
    }

    // A root is inside itself; '/ws/abc' is not inside '/ws/ab', so the prefix must end at a separator.
    private static bool IsUnder(string path, string root)
    {
        if (path.Equals(root, s_comparison))
        {
            return true;
        }

        string prefix = Path.EndsInDirectorySeparator(root) ? root : root + Path.DirectorySeparatorChar;
        return path.StartsWith(prefix, s_comparison);
    }

    private static string Canonical(string directory, string parameterName)
    {
        if (!Path.IsPathFullyQualified(directory))
        {
            throw new ArgumentException($"Workspace directories must be absolute: '{directory}'.", parameterName);
        }

        string real = RealPath(directory, links: null, directory);
        return Path.TrimEndingDirectorySeparator(real);
    }

    /// <summary>
    /// realpath(3) that tolerates missing components: walks the path one component at a time, replacing each symlink
    /// by its target (which is walked in turn) and applying <c>..</c> to the real directory reached so far.
    /// </summary>
    private static string RealPath(string fullPath, List<(string Link, string Target)>? links, string original)
    {
        string current = Path.GetPathRoot(fullPath) ?? throw new ToolException($"The path '{original}' has no root.");
        var pending = new Stack<string>();
        Push(pending, fullPath[current.Length..]);
        int followed = 0;
        while (pending.TryPop(out string? part))
        {
            if (part is "" or ".")
            {
                continue;
            }

            if (part == "..")
            {
                current = Path.GetDirectoryName(current) ?? current;
                continue;
            }

            string candidate = Path.Join(current, part);
            string? target = LinkTarget(candidate);
            if (target is null)
            {
                // A directory, a file, or nothing yet: in each case the walk goes on by name.
                current = candidate;
                continue;
            }

            if (++followed > MaxSymlinks)
            {
                throw new ToolException($"The path '{original}' has too many levels of symlinks (a loop at '{candidate}'?).");
            }

            links?.Add((candidate, Path.GetFullPath(target, current)));
            if (Path.IsPathRooted(target))
            {
                current = Path.GetPathRoot(target)!;
                Push(pending, target[current.Length..]);
            }
            else
            {
                Push(pending, target);
            }
        }

        return current;
    }

    private static string? LinkTarget(string path)
    {
        try
        {
            return new FileInfo(path).LinkTarget;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Not a readable link (a component that is a file, a folder we may not list): the tool's own I/O will
            // fail on it with a clearer error, and nothing past it can be reached through a link we could not read.
            return null;
        }
    }

    private static void Push(Stack<string> pending, string relative)
    {
        string[] parts = relative.Split(s_separators);
        for (int i = parts.Length - 1; i >= 0; i--)
        {
            pending.Push(parts[i]);
        }
    }
}
