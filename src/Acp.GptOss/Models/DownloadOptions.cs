namespace Acp.GptOss.Models;

/// <summary>
/// How patient a download is, and the parts of the machine it works with: the clock, the disk's free space, the
/// partial file.
/// </summary>
internal sealed record DownloadOptions
{
    /// <summary>Attempts in a row that may fail without a byte of progress before the download gives up.</summary>
    public int MaxAttempts { get; init; } = 8;

    /// <summary>The wait after the first failed attempt; it doubles with each failure in a row.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between attempts.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(60);

    /// <summary>An attempt that receives nothing for this long (headers or body) is abandoned and retried.</summary>
    public TimeSpan StallTimeout { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock for stalls, waits and rates.</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>Free bytes on the disk holding a folder; null when unknown (the check is then skipped).</summary>
    public Func<string, long?> FreeSpace { get; init; } = DiskFreeSpace;

    /// <summary>Wraps the partial file as it is opened (the identity by default); a disk that fills up can stand in for it.</summary>
    public Func<FileStream, Stream> WrapPartialFile { get; init; } = file => file;

    /// <summary>The most bytes one read takes from the network.</summary>
    public int BufferSize { get; init; } = 1 << 18;

    private static long? DiskFreeSpace(string folder)
    {
        try
        {
            return new DriveInfo(folder).AvailableFreeSpace;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return null;
        }
    }
}
