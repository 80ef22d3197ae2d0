namespace Acp.GptOss.Inference;

/// <summary>The model cannot be downloaded now: offline, or the Hub cannot be reached; the message says which.</summary>
internal sealed class ModelDownloadUnavailableException : InferenceException
{
    public ModelDownloadUnavailableException()
    {
    }

    public ModelDownloadUnavailableException(string message)
        : base(message)
    {
    }

    public ModelDownloadUnavailableException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
