namespace Acp.GptOss.Inference;

/// <summary>
/// Downloads a model into the Hugging Face cache, as <c>acp-gptoss models pull</c> does, for <c>/download</c>
/// (docs/acp.md §4.5): the file is verified (sha256) and left there, not loaded.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal interface IModelPuller
{
    /// <summary>What <paramref name="spec"/> names: <c>ORG/REPO/FILE</c>, or null with the reason it names nothing.</summary>
    /// <param name="spec">gpt-oss-20b, gpt-oss-120b, or ORG/REPO/FILE.gguf.</param>
    /// <param name="error">Why the spec names nothing; null when it does.</param>
    string? Describe(string spec, out string? error);

    /// <summary>Downloads the file (or resumes what an earlier download left), verifies it, and returns its path.</summary>
    /// <param name="spec">As <see cref="Describe"/> takes it.</param>
    /// <param name="progress">Receives reports, a few a second at most, on the downloading thread.</param>
    /// <param name="cancellationToken">Stops the download; what it downloaded is kept for the next one to resume.</param>
    /// <returns>The path to give <c>--model</c>: a split model's first part.</returns>
    /// <exception cref="ArgumentException">The spec names no model; the message says why.</exception>
    /// <exception cref="InferenceException">The download or its verification failed; the message says why.</exception>
    Task<string> PullAsync(string spec, Action<ModelDownloadProgress> progress, CancellationToken cancellationToken);
}
