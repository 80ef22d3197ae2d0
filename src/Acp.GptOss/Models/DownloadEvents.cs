namespace Acp.GptOss.Models;

/// <summary>
/// What a download reports, in order per file: started, progress (many), retrying (when an attempt fails),
/// verified, completed; or failed. <c>models pull --json</c> writes them as schemas/model-download-event.schema.json says.
/// </summary>
/// <param name="File">ORG/REPO/FILE.</param>
internal abstract record DownloadEvent(string File);

/// <summary>The file's download begins, or is found complete (<paramref name="Downloaded"/> equals <paramref name="Total"/>).</summary>
/// <param name="File">ORG/REPO/FILE.</param>
/// <param name="Revision">The branch, tag or commit asked for.</param>
/// <param name="Commit">The commit it resolved to.</param>
/// <param name="Sha256">The content's sha256 as the server stated it; null for a file already complete in the cache.</param>
/// <param name="Total">The file's size.</param>
/// <param name="Downloaded">Bytes already on disk: a resumed partial download, or all of them.</param>
internal sealed record DownloadStarted(string File, string Revision, string Commit, string? Sha256, long Total, long Downloaded) : DownloadEvent(File);

/// <summary>Bytes written so far.</summary>
/// <param name="File">ORG/REPO/FILE.</param>
/// <param name="Downloaded">Bytes on disk, those of earlier attempts and runs included.</param>
/// <param name="Total">The file's size.</param>
/// <param name="BytesPerSecond">The recent rate, over the last few seconds.</param>
internal sealed record DownloadProgress(string File, long Downloaded, long Total, double BytesPerSecond) : DownloadEvent(File);

/// <summary>An attempt failed; the next one starts after <paramref name="Delay"/>, where the last one stopped.</summary>
/// <param name="File">ORG/REPO/FILE.</param>
/// <param name="Attempt">The attempt about to start: 2 for the first retry.</param>
/// <param name="Delay">The wait before it.</param>
/// <param name="Reason">What went wrong.</param>
internal sealed record DownloadRetrying(string File, int Attempt, TimeSpan Delay, string Reason) : DownloadEvent(File);

/// <summary>Every byte is there and its sha256 is the one the server stated.</summary>
internal sealed record DownloadVerified(string File, string Sha256) : DownloadEvent(File);

/// <summary>The file is in the cache, at <paramref name="Path"/> (its snapshot link).</summary>
internal sealed record DownloadCompleted(string File, string Path) : DownloadEvent(File);

/// <summary>The download stopped for good (or was cancelled); what was downloaded and verified so far is kept.</summary>
internal sealed record DownloadFailed(string File, string Error) : DownloadEvent(File);
