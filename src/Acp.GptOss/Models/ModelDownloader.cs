using System.Buffers;
using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using Acp.GptOss.Hosting;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Models;

/// <summary>A file in the cache after a download.</summary>
/// <param name="File">The file asked for.</param>
/// <param name="Path">Its snapshot link.</param>
/// <param name="BytesReceived">Bytes this run took from the network for it: 0 when it was complete already.</param>
internal sealed record DownloadedFile(HubFile File, string Path, long BytesReceived);

/// <summary>
/// Downloads files of Hugging Face repositories into the Hugging Face cache, as huggingface_hub would (see
/// <see cref="HubClient"/> for the protocol and <see cref="HuggingFaceCache"/> for the layout). The bytes are appended
/// to <c>blobs/&lt;sha256&gt;.incomplete</c> with Range requests, so a dropped connection, a stall or a killed process
/// costs only what was in flight; failed attempts are retried with growing waits; nothing becomes a blob before its
/// sha256 is checked.
/// </summary>
/// <remarks>
/// Thread-safe for different files; the lock file keeps two processes (ours or huggingface_hub's) off one blob.
/// </remarks>
internal sealed partial class ModelDownloader
{
    private readonly HubClient _hub;
    private readonly ModelEnvironment _environment;
    private readonly DownloadOptions _options;
    private readonly ILogger _logger;
    private readonly HuggingFaceCache _cache;

    /// <summary>Creates a downloader.</summary>
    /// <param name="http">A client from <see cref="HubClient.CreateHttpClient"/>, reused for every request.</param>
    /// <param name="environment">Where the cache, the endpoint and the token come from.</param>
    /// <param name="options">Retries, stall detection, and the clock, disk and partial file it works with.</param>
    /// <param name="logger">For what goes on inside a download; events are reported to the caller instead.</param>
    public ModelDownloader(HttpClient http, ModelEnvironment environment, DownloadOptions options, ILogger logger)
    {
        _hub = new HubClient(http, environment, options, logger);
        _environment = environment;
        _options = options;
        _logger = logger;
        _cache = new HuggingFaceCache(environment.HuggingFaceCache);
    }

    /// <summary>
    /// Makes every file complete in the cache: those already there at once, without a request; the others
    /// downloaded one after another, after a check that the disk holds what is still missing of all of them.
    /// </summary>
    /// <param name="files">The files, such as the parts of a split model.</param>
    /// <param name="report">Receives every event, synchronously, on the downloading thread.</param>
    /// <param name="cancellationToken">Stops at once; the partial file stays for the next run to resume.</param>
    /// <exception cref="ModelDownloadException">A file could not be downloaded; a failed event said why first.</exception>
    /// <exception cref="OperationCanceledException">Cancelled; a failed event said what is kept.</exception>
    public async Task<IReadOnlyList<DownloadedFile>> DownloadAsync(IReadOnlyList<HubFile> files, Action<DownloadEvent> report, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(files);
        ArgumentNullException.ThrowIfNull(report);
        string?[] complete = [.. files.Select(_cache.FindComplete)];
        var remotes = new RemoteFile?[files.Count];
        for (int i = 0; i < files.Count; i++)
        {
            HubFile file = files[i];
            if (complete[i] is null)
            {
                remotes[i] = await ReportingFailureAsync(
                    file,
                    null,
                    report,
                    () => _environment.Offline
                        ? throw new ModelDownloadException(
                            $"HF_HUB_OFFLINE is set, and {file.Name} (revision {file.Revision}) is not complete in the Hugging Face cache {_cache.Root}: unset HF_HUB_OFFLINE to download it.")
                        : ResolveWithRetriesAsync(file, file.Revision, report, cancellationToken),
                    cancellationToken).ConfigureAwait(false);
            }
        }

        if (Array.FindIndex(remotes, r => r is not null) is var first and >= 0)
        {
            await ReportingFailureAsync(
                files[first],
                null,
                report,
                () =>
                {
                    CheckFreeSpace([.. remotes.OfType<RemoteFile>()]);
                    return Task.FromResult(true);
                },
                cancellationToken).ConfigureAwait(false);
        }

        var done = new List<DownloadedFile>(files.Count);
        for (int i = 0; i < files.Count; i++)
        {
            if (complete[i] is { } pointer)
            {
                ReportComplete(files[i], pointer, report);
                done.Add(new DownloadedFile(files[i], pointer, 0));
            }
            else
            {
                RemoteFile remote = remotes[i]!;
                done.Add(await ReportingFailureAsync(files[i], remote, report, () => DownloadFileAsync(remote, report, cancellationToken), cancellationToken)
                    .ConfigureAwait(false));
            }
        }

        return done;
    }

    private async Task<T> ReportingFailureAsync<T>(HubFile file, RemoteFile? remote, Action<DownloadEvent> report, Func<Task<T>> action, CancellationToken cancellationToken)
    {
        try
        {
            return await action().ConfigureAwait(false);
        }
        catch (ModelDownloadException e)
        {
            report(new DownloadFailed(file.Name, e.Message));
            throw;
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            report(new DownloadFailed(file.Name, $"Cancelled. {Kept(remote)}"));
            throw;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // The cache folder itself: not writable, or a rename refused.
            var failure = new ModelDownloadException($"{file.Name}: {e.Message}", e);
            report(new DownloadFailed(file.Name, failure.Message));
            throw failure;
        }
    }

    private string Kept(RemoteFile? remote) =>
        remote is not null && FileFacts.Target(_cache.IncompletePath(remote.File.Repository, remote.Sha256)) is { Length: > 0 } partial
            ? $"The {ByteSize.Format(partial.Length)} downloaded so far are kept in {partial.FullName}; run the same command again to resume."
            : "Nothing was downloaded yet.";

    private void ReportComplete(HubFile file, string pointer, Action<DownloadEvent> report)
    {
        FileInfo blob = FileFacts.Target(pointer)!;
        string? sha256 = Sha256Pattern().IsMatch(blob.Name) ? blob.Name : null;
        string commit = _cache.ReadCommit(file.Repository, file.Revision) ?? file.Revision;
        report(new DownloadStarted(file.Name, file.Revision, commit, sha256, blob.Length, blob.Length));
        report(new DownloadProgress(file.Name, blob.Length, blob.Length, 0));
        report(new DownloadCompleted(file.Name, pointer));
    }

    private async Task<DownloadedFile> DownloadFileAsync(RemoteFile remote, Action<DownloadEvent> report, CancellationToken cancellationToken)
    {
        HubFile file = remote.File;
        string blob = _cache.BlobPath(file.Repository, remote.Sha256);
        if (FileFacts.Target(blob) is { } existing && existing.Length == remote.Size)
        {
            // The content is here under another name (another revision, or a link removed): link it, no download.
            string linked = _cache.Publish(file, remote.Commit, remote.Sha256);
            ReportComplete(file, linked, report);
            return new DownloadedFile(file, linked, 0);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(blob)!);
        FileStream held = Lock(_cache.LockPath(file.Repository, remote.Sha256), file);
        await using (held.ConfigureAwait(false))
        {
            string incomplete = _cache.IncompletePath(file.Repository, remote.Sha256);
            var meter = new SpeedMeter(_options.Time);
            await FillAsync(remote, incomplete, meter, report, cancellationToken).ConfigureAwait(false);
            File.Move(incomplete, blob, overwrite: true);
            string path = _cache.Publish(file, remote.Commit, remote.Sha256);
            report(new DownloadCompleted(file.Name, path));
            return new DownloadedFile(file, path, meter.Total);
        }
    }

    /// <summary>Brings the partial file to the whole content, resuming and retrying, and verifies it.</summary>
    private async Task FillAsync(RemoteFile remote, string incomplete, SpeedMeter meter, Action<DownloadEvent> report, CancellationToken cancellationToken)
    {
        HubFile file = remote.File;
        PartialDownload partial = await PartialDownload.OpenAsync(incomplete, _options.WrapPartialFile, cancellationToken).ConfigureAwait(false);
        await using (partial.ConfigureAwait(false))
        {
            if (partial.Length > remote.Size)
            {
                LogPartialTooLong(_logger, incomplete, partial.Length, remote.Size);
                partial.Restart();
            }

            report(new DownloadStarted(file.Name, file.Revision, remote.Commit, remote.Sha256, remote.Size, partial.Length));
            var retries = new Retries(_options);
            Uri location = remote.Location;
            bool refresh = false;
            while (partial.Length < remote.Size)
            {
                long before = partial.Length;
                try
                {
                    if (refresh)
                    {
                        location = await RefreshLocationAsync(remote, cancellationToken).ConfigureAwait(false);
                        refresh = false;
                    }

                    await TransferAsync(remote, location, partial, meter, report, cancellationToken).ConfigureAwait(false);
                    if (partial.Length < remote.Size)
                    {
                        throw new TransientDownloadException($"the connection closed after {partial.Length} of {remote.Size} bytes");
                    }
                }
                catch (TransientDownloadException e)
                {
                    refresh |= e.RefreshLocation;
                    await retries.WaitAsync(file, e, partial.Length > before, Kept(remote), report, cancellationToken).ConfigureAwait(false);
                }
            }

            string sha256 = partial.Sha256();
            if (sha256 != remote.Sha256)
            {
                await partial.DisposeAsync().ConfigureAwait(false);
                File.Delete(incomplete);
                throw new ModelDownloadException(
                    $"{file.Name}: the downloaded bytes have sha256 {sha256}, but the server stated {remote.Sha256}. The download was deleted and nothing was added to the cache; run the command again to download it anew.");
            }

            report(new DownloadVerified(file.Name, sha256));
        }
    }

    private static FileStream Lock(string path, HubFile file)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        try
        {
            // FileShare.None takes flock(LOCK_EX), the lock huggingface_hub's FileLock takes too.
            return new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        }
        catch (IOException e)
        {
            throw new ModelDownloadException($"{file.Name} is being downloaded by another process ({path} is locked): {e.Message}", e);
        }
    }

    private async Task TransferAsync(RemoteFile remote, Uri location, PartialDownload partial, SpeedMeter meter, Action<DownloadEvent> report, CancellationToken cancellationToken)
    {
        using var watch = new StallWatch(_options.StallTimeout, _options.Time, cancellationToken);
        try
        {
            using HttpResponseMessage response = await _hub.GetAsync(location, partial.Length, watch.Token).ConfigureAwait(false);
            StartAt(response, partial, remote);
            Stream body = await response.Content.ReadAsStreamAsync(watch.Token).ConfigureAwait(false);
            await using (body.ConfigureAwait(false))
            {
                byte[] buffer = ArrayPool<byte>.Shared.Rent(_options.BufferSize);
                try
                {
                    while (partial.Length < remote.Size)
                    {
                        watch.Restart();
                        int wanted = (int)Math.Min(Math.Min(buffer.Length, _options.BufferSize), remote.Size - partial.Length);
                        int read = await body.ReadAsync(buffer.AsMemory(0, wanted), watch.Token).ConfigureAwait(false);
                        if (read == 0)
                        {
                            return;
                        }

                        await partial.AppendAsync(buffer.AsMemory(0, read), cancellationToken).ConfigureAwait(false);
                        meter.Add(read);
                        report(new DownloadProgress(remote.File.Name, partial.Length, remote.Size, meter.BytesPerSecond));
                    }
                }
                finally
                {
                    ArrayPool<byte>.Shared.Return(buffer);
                }
            }
        }
        catch (OperationCanceledException e) when (watch.Stalled && !cancellationToken.IsCancellationRequested)
        {
            throw new TransientDownloadException($"no data for {_options.StallTimeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s", e);
        }
        catch (HttpRequestException e)
        {
            throw new TransientDownloadException(e.Message, e);
        }
        catch (IOException e)
        {
            // Only the network gets here: a failed write to disk is a ModelDownloadException already.
            throw new TransientDownloadException(e.Message, e);
        }
    }

    /// <summary>Checks that the response continues the partial file, or restarts it when the server sends everything.</summary>
    private void StartAt(HttpResponseMessage response, PartialDownload partial, RemoteFile remote)
    {
        long offset = partial.Length;
        switch (response.StatusCode)
        {
            case HttpStatusCode.PartialContent:
                ContentRangeHeaderValue? range = response.Content.Headers.ContentRange;
                if (range?.From != offset || (range.Length is { } total && total != remote.Size))
                {
                    throw new TransientDownloadException($"the server sent the range {range} where bytes {offset}- of {remote.Size} were asked for");
                }

                return;
            case HttpStatusCode.OK:
                if (response.Content.Headers.ContentLength is { } length && length != remote.Size)
                {
                    throw new ModelDownloadException($"{remote.File.Name}: the server sends {length} bytes, but stated the file has {remote.Size}.");
                }

                if (offset > 0)
                {
                    LogRangeIgnored(_logger, remote.File.Name, offset);
                    partial.Restart();
                }

                return;
            case HttpStatusCode.RequestedRangeNotSatisfiable:
                partial.Restart();
                throw new TransientDownloadException($"the server would not resume at byte {offset}; starting over");
            case HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden or HttpStatusCode.NotFound or HttpStatusCode.Gone:
                // A signed CDN address expires; the Hub gives a fresh one, or says what is really wrong.
                throw new TransientDownloadException($"HTTP {(int)response.StatusCode} from {response.RequestMessage?.RequestUri?.Host}") { RefreshLocation = true };
            default:
                throw _hub.Failure(response, remote.File);
        }
    }

    private async Task<RemoteFile> ResolveWithRetriesAsync(HubFile file, string revision, Action<DownloadEvent> report, CancellationToken cancellationToken)
    {
        var retries = new Retries(_options);
        while (true)
        {
            try
            {
                return await _hub.ResolveAsync(file, revision, cancellationToken).ConfigureAwait(false);
            }
            catch (TransientDownloadException e)
            {
                await retries.WaitAsync(file, e, progressed: false, "Nothing was downloaded yet.", report, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private async Task<Uri> RefreshLocationAsync(RemoteFile remote, CancellationToken cancellationToken)
    {
        RemoteFile fresh = await _hub.ResolveAsync(remote.File, remote.Commit, cancellationToken).ConfigureAwait(false);
        return fresh.Sha256 == remote.Sha256 && fresh.Size == remote.Size
            ? fresh.Location
            : throw new ModelDownloadException($"{remote.File.Name} changed on the server during the download (commit {remote.Commit}); run the command again.");
    }

    private void CheckFreeSpace(IReadOnlyList<RemoteFile> remotes)
    {
        foreach (IGrouping<string, RemoteFile> repository in remotes.GroupBy(r => r.File.Repository, StringComparer.Ordinal))
        {
            long needed = 0;
            foreach (RemoteFile remote in repository)
            {
                if (FileFacts.Target(_cache.BlobPath(remote.File.Repository, remote.Sha256)) is { } blob && blob.Length == remote.Size)
                {
                    continue;
                }

                long partial = FileFacts.Target(_cache.IncompletePath(remote.File.Repository, remote.Sha256))?.Length ?? 0;
                needed += remote.Size - (partial <= remote.Size ? partial : 0);
            }

            string folder = Path.Combine(_cache.RepositoryFolder(repository.Key), "blobs");
            Directory.CreateDirectory(folder);
            if (needed > 0 && _options.FreeSpace(folder) is { } free && free < needed)
            {
                throw new ModelDownloadException(
                    $"Not enough disk space in {folder}: the download needs {ByteSize.Format(needed)} more ({needed} bytes), and {ByteSize.Format(free)} ({free} bytes) are free.");
            }
        }
    }

    [GeneratedRegex("^[0-9a-f]{64}$", RegexOptions.CultureInvariant)]
    private static partial Regex Sha256Pattern();

    [LoggerMessage(Level = LogLevel.Warning, Message = "{File}: the server ignored the request to resume at byte {Offset} and sends the whole file; starting over")]
    private static partial void LogRangeIgnored(ILogger logger, string file, long offset);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Path} holds {Length} bytes, more than the file's {Size}: starting over")]
    private static partial void LogPartialTooLong(ILogger logger, string path, long length, long size);

    /// <summary>Failed attempts in a row, and the growing wait between them.</summary>
    private sealed class Retries(DownloadOptions options)
    {
        private int _failuresInARow;
        private int _attempt = 1;

        /// <summary>Waits before the next attempt, or gives up.</summary>
        /// <param name="file">The file.</param>
        /// <param name="failure">Why the attempt failed.</param>
        /// <param name="progressed">Whether it wrote anything: a download that moves forward is never given up.</param>
        /// <param name="kept">What is kept, for the message when giving up.</param>
        /// <param name="report">Receives the retrying event.</param>
        /// <param name="cancellationToken">Cancels the wait.</param>
        public async Task WaitAsync(HubFile file, TransientDownloadException failure, bool progressed, string kept, Action<DownloadEvent> report, CancellationToken cancellationToken)
        {
            _failuresInARow = progressed ? 1 : _failuresInARow + 1;
            if (_failuresInARow >= options.MaxAttempts)
            {
                throw new ModelDownloadException(
                    $"{file.Name}: gave up after {_attempt} attempts, the last {_failuresInARow} without progress: {failure.Message}. {kept}", failure);
            }

            double delay = Math.Min(options.RetryDelay.TotalMilliseconds * Math.Pow(2, _failuresInARow - 1), options.MaxRetryDelay.TotalMilliseconds);
            _attempt++;
            report(new DownloadRetrying(file.Name, _attempt, TimeSpan.FromMilliseconds(delay), failure.Message));
            await Task.Delay(TimeSpan.FromMilliseconds(delay), options.Time, cancellationToken).ConfigureAwait(false);
        }
    }
}
