using Acp.GptOss.Inference;
using Acp.GptOss.Models;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Provisioning;

/// <summary>
/// <c>/download</c>'s downloader: <c>models pull</c> (<see cref="ModelDownloader"/> on <see cref="HubFile"/>), its
/// events turned into throttled progress as the first run's download does (<see cref="SharedDownload"/>).
/// </summary>
/// <param name="environment">Where the cache, the Hub, the token and HF_HUB_OFFLINE come from.</param>
/// <param name="options">The downloader's patience, and the clock progress is throttled by.</param>
/// <param name="logger">The log.</param>
internal sealed partial class HubModelPuller(ModelEnvironment environment, DownloadOptions options, ILogger logger) : IModelPuller
{
    private static readonly TimeSpan s_progressInterval = TimeSpan.FromMilliseconds(250);

    public string? Describe(string spec, out string? error) =>
        HubFile.Parse(spec, "main", out error) is [var first, ..] ? first.Name : null;

    public async Task<string> PullAsync(string spec, Action<ModelDownloadProgress> progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(progress);
        IReadOnlyList<HubFile> files = HubFile.Parse(spec, "main", out string? error) ?? throw new ArgumentException(error, nameof(spec));
        var shared = new SharedDownload(new ProgressThrottle(options.Time, s_progressInterval));
        shared.Join(progress);
        // One client per download, as `models pull` has: nothing is held between downloads.
        using HttpClient http = HubClient.CreateHttpClient();
        var downloader = new ModelDownloader(http, environment, options, logger);
        try
        {
            LogPulling(logger, files[0].Name);
            IReadOnlyList<DownloadedFile> done = await downloader.DownloadAsync(files, shared.Report, cancellationToken).ConfigureAwait(false);
            LogPulled(logger, files[0].Name, done[0].Path);
            return done[0].Path;
        }
        catch (ModelDownloadException e)
        {
            throw new InferenceException(e.Message, e);
        }
        catch (TransientDownloadException e)
        {
            throw new InferenceException(e.Message, e);
        }
        finally
        {
            shared.Close();
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "/download: downloading {File}")]
    private static partial void LogPulling(ILogger logger, string file);

    [LoggerMessage(Level = LogLevel.Information, Message = "/download: {File} is downloaded and verified: {Path}")]
    private static partial void LogPulled(ILogger logger, string file, string path);
}
