using System.Text.RegularExpressions;

namespace Acp.GptOss.Models;

/// <summary>
/// The Hugging Face hub cache, laid out as huggingface_hub lays it out, so its tools and ours find each other's
/// files: <c>models--ORG--REPO/blobs/&lt;sha256&gt;</c> holds the content, <c>snapshots/&lt;commit&gt;/&lt;file&gt;</c> is a
/// relative symbolic link to the blob, <c>refs/&lt;revision&gt;</c> holds the commit a branch or tag pointed to, and a
/// download in progress is <c>blobs/&lt;sha256&gt;.incomplete</c>, locked through <c>.locks/models--ORG--REPO/&lt;sha256&gt;.lock</c>.
/// </summary>
/// <remarks>Stateless apart from its root; thread-safe.</remarks>
internal sealed partial class HuggingFaceCache(string root)
{
    private const string ModelPrefix = "models--";
    private const string Separator = "--";

    /// <summary>The cache folder.</summary>
    public string Root { get; } = root;

    /// <summary>Whether <paramref name="revision"/> is a full commit id rather than a branch or tag.</summary>
    public static bool IsCommit(string revision) => CommitPattern().IsMatch(revision);

    /// <summary>The repository a <c>models--ORG--REPO</c> folder holds, or null for other folders.</summary>
    public static string? RepositoryOf(string folderName) =>
        folderName.StartsWith(ModelPrefix, StringComparison.Ordinal) && folderName.Length > ModelPrefix.Length
            ? folderName[ModelPrefix.Length..].Replace(Separator, "/", StringComparison.Ordinal)
            : null;

    /// <summary>The folder of a model repository, <c>models--ORG--REPO</c>.</summary>
    public string RepositoryFolder(string repository) => Path.Combine(Root, ModelPrefix + repository.Replace("/", Separator, StringComparison.Ordinal));

    /// <summary>Where the content with this sha256 lives once complete.</summary>
    public string BlobPath(string repository, string sha256) => Path.Combine(RepositoryFolder(repository), "blobs", sha256);

    /// <summary>Where the content with this sha256 is downloaded to before it is verified.</summary>
    public string IncompletePath(string repository, string sha256) => BlobPath(repository, sha256) + ".incomplete";

    /// <summary>The lock file huggingface_hub also takes while it downloads this blob.</summary>
    public string LockPath(string repository, string sha256) =>
        Path.Combine(Root, ".locks", Path.GetFileName(RepositoryFolder(repository)), sha256 + ".lock");

    /// <summary>The file as the repository names it, at a commit.</summary>
    public string SnapshotPath(string repository, string commit, string fileName) =>
        Path.Combine([RepositoryFolder(repository), "snapshots", commit, .. fileName.Split('/')]);

    /// <summary>The file that records which commit <paramref name="revision"/> named.</summary>
    public string RefPath(string repository, string revision) => Path.Combine([RepositoryFolder(repository), "refs", .. revision.Split('/')]);

    /// <summary>The commit <paramref name="revision"/> named when it was last downloaded; a commit names itself.</summary>
    public string? ReadCommit(string repository, string revision)
    {
        if (IsCommit(revision))
        {
            return revision;
        }

        try
        {
            string path = RefPath(repository, revision);
            return File.Exists(path) && File.ReadAllText(path).Trim() is { } commit && IsCommit(commit) ? commit : null;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    /// <summary>The snapshot path of <paramref name="file"/> when it is complete in the cache, else null.</summary>
    public string? FindComplete(HubFile file)
    {
        ArgumentNullException.ThrowIfNull(file);
        if (ReadCommit(file.Repository, file.Revision) is not { } commit)
        {
            return null;
        }

        string pointer = SnapshotPath(file.Repository, commit, file.FileName);
        return FileFacts.Target(pointer) is { Length: > 0 } ? pointer : null;
    }

    /// <summary>
    /// Makes the verified blob visible: the snapshot link (relative, so the cache can move) and the ref of a branch
    /// or tag. Where links cannot be made the blob moves to the snapshot path, as huggingface_hub does.
    /// </summary>
    /// <returns>The snapshot path.</returns>
    public string Publish(HubFile file, string commit, string sha256)
    {
        ArgumentNullException.ThrowIfNull(file);
        string pointer = SnapshotPath(file.Repository, commit, file.FileName);
        string blob = BlobPath(file.Repository, sha256);
        Directory.CreateDirectory(Path.GetDirectoryName(pointer)!);
        if (new FileInfo(pointer).LinkTarget is not null || File.Exists(pointer))
        {
            File.Delete(pointer);
        }

        try
        {
            File.CreateSymbolicLink(pointer, Path.GetRelativePath(Path.GetDirectoryName(pointer)!, blob));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            File.Move(blob, pointer);
        }

        if (file.Revision != commit)
        {
            WriteAtomically(RefPath(file.Repository, file.Revision), commit);
        }

        return pointer;
    }

    private static void WriteAtomically(string path, string text)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        string partial = $"{path}.{Guid.NewGuid():N}.tmp";
        File.WriteAllText(partial, text);
        File.Move(partial, path, overwrite: true);
    }

    [GeneratedRegex("^[0-9a-f]{40}$", RegexOptions.CultureInvariant)]
    private static partial Regex CommitPattern();
}
