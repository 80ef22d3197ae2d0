namespace Acp.GptOss.Inference;

/// <summary>Where a model download stands.</summary>
internal enum ModelDownloadPhase
{
    /// <summary>Bytes are coming (or an attempt is being retried: see <see cref="ModelDownloadProgress.Note"/>).</summary>
    Downloading,

    /// <summary>Every byte is there and its sha256 is the one the Hub stated.</summary>
    Verified,

    /// <summary>The engine is loading the model.</summary>
    Loading,
}

/// <summary>One report of a model download, throttled to a few a second.</summary>
/// <param name="Phase">Where it stands.</param>
/// <param name="Downloaded">Bytes on disk, those of earlier runs included.</param>
/// <param name="Total">The file's size.</param>
/// <param name="BytesPerSecond">The recent rate.</param>
/// <param name="Note">What went wrong with the last attempt, when one is being retried.</param>
internal sealed record ModelDownloadProgress(ModelDownloadPhase Phase, long Downloaded, long Total, double BytesPerSecond, string? Note = null);
