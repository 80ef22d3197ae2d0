namespace Acp.GptOss.Inference;

/// <summary>
/// An engine that has no model yet but can download one (docs/models.md §9): the first prompt asks the user, and
/// on yes downloads, verifies and loads it through this. One download at a time, shared by every caller.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal interface IModelDownload
{
    /// <summary>The model offered, as known without asking the Hub.</summary>
    ModelOffer Offer { get; }

    /// <summary>What the user can do instead of downloading from here: the command, the config file, the folders.</summary>
    string Guidance { get; }

    /// <summary>Whether a download is under way now (another session's): a prompt joins it rather than asking again.</summary>
    bool IsDownloading { get; }

    /// <summary>Asks the Hub for the file's size (and sees what an earlier download left), with one short request.</summary>
    /// <exception cref="ModelDownloadUnavailableException">Offline (HF_HUB_OFFLINE), or the Hub cannot be reached or refuses.</exception>
    Task<ModelOffer> CheckAsync(CancellationToken cancellationToken);

    /// <summary>
    /// Downloads the model, or joins the download under way, verifies it and loads it; returns once prompts can
    /// run. Cancelling stops this caller's wait; the download itself stops when no caller waits for it any more,
    /// and what it downloaded is kept for the next one to resume.
    /// </summary>
    /// <param name="progress">Receives reports, a few a second at most, on the downloading thread.</param>
    /// <param name="cancellationToken">Stops the wait.</param>
    /// <exception cref="InferenceException">The download, its verification or the load failed; the message says why.</exception>
    Task DownloadAsync(Action<ModelDownloadProgress> progress, CancellationToken cancellationToken);
}
