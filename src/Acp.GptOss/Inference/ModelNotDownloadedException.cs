namespace Acp.GptOss.Inference;

/// <summary>No model is installed, and <see cref="Download"/> can get one: the turn asks the user (docs/models.md §9).</summary>
internal sealed class ModelNotDownloadedException : InferenceException
{
    public ModelNotDownloadedException(string message, IModelDownload download)
        : base(message)
    {
        Download = download;
    }

    /// <summary>How to get the model.</summary>
    public IModelDownload Download { get; }
}
