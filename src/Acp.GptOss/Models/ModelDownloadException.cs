namespace Acp.GptOss.Models;

/// <summary>A download failed for good; the message says why and what to do.</summary>
internal sealed class ModelDownloadException : Exception
{
    public ModelDownloadException()
    {
    }

    public ModelDownloadException(string message)
        : base(message)
    {
    }

    public ModelDownloadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}

/// <summary>One attempt failed in a way another attempt may not: a dropped connection, a stall, a 5xx.</summary>
internal sealed class TransientDownloadException : Exception
{
    public TransientDownloadException()
    {
    }

    public TransientDownloadException(string message)
        : base(message)
    {
    }

    public TransientDownloadException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>The download address may have expired (a signed CDN address): ask the Hub for a fresh one.</summary>
    public bool RefreshLocation { get; init; }
}
