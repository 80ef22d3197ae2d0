namespace Acp.GptOss.Models;

/// <summary>Files seen through symbolic links, as the Hugging Face cache needs.</summary>
internal static class FileFacts
{
    /// <summary>
    /// The file <paramref name="path"/> names, links followed; null when nothing is there or a link dangles.
    /// A link's own <see cref="FileInfo"/> reports the link (its length is the target's name), never the file.
    /// </summary>
    public static FileInfo? Target(string path)
    {
        try
        {
            var info = new FileInfo(path);
            if (!info.Exists)
            {
                return null;
            }

            if (info.LinkTarget is null)
            {
                return info;
            }

            return info.ResolveLinkTarget(returnFinalTarget: true) is FileInfo target && File.Exists(target.FullName) ? new FileInfo(target.FullName) : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // A link loop, or a folder we may not read: nothing usable is there.
            return null;
        }
    }

    /// <summary>Where <paramref name="path"/> finally leads, so two names of one file compare equal.</summary>
    public static string Canonical(string path) => Target(path)?.FullName ?? Path.GetFullPath(path);
}
