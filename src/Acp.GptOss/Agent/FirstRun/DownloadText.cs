using System.Globalization;
using Acp.GptOss.Hosting;
using Acp.GptOss.Inference;

namespace Acp.GptOss.Agent.FirstRun;

/// <summary>What the user reads of a model download: the question, and the tool call's progress line.</summary>
internal static class DownloadText
{
    /// <summary>The permission question: repository, file, size and where it goes.</summary>
    public static string Question(ModelOffer offer)
    {
        string size = offer.SizeBytes is { } total ? $" ({Bytes(total)})" : "";
        string resume = offer.DownloadedBytes > 0 ? $" {Bytes(offer.DownloadedBytes)} of it were downloaded before; the download resumes there." : "";
        return $"No GPT-OSS model is installed. Download {offer.Name}, the file {offer.FileName}{size} from the Hugging Face repository {offer.Repository}, "
            + $"into the Hugging Face cache at {offer.Destination}?{resume} It is verified (sha256) and loaded, and then this prompt is answered.";
    }

    /// <summary>One progress line: bytes, rate and time left, or the phase after the bytes.</summary>
    public static string Progress(ModelOffer offer, ModelDownloadProgress progress) => Progress($"{offer.Repository}/{offer.FileName}", progress);

    /// <summary>One progress line of the download of <paramref name="file"/> (ORG/REPO/FILE).</summary>
    public static string Progress(string file, ModelDownloadProgress progress)
    {
        string line = progress.Phase switch
        {
            ModelDownloadPhase.Verified => $"Downloaded {Bytes(progress.Total)} and verified (sha256).",
            ModelDownloadPhase.Loading => $"Downloaded {Bytes(progress.Total)} and verified (sha256); loading the model…",
            _ => Downloading(progress),
        };
        return progress.Note is { } note ? $"{line} ({note})" : line;

        string Downloading(ModelDownloadProgress p)
        {
            string percent = p.Total > 0 ? string.Create(CultureInfo.InvariantCulture, $" ({100.0 * p.Downloaded / p.Total:0}%)") : "";
            string rate = p.BytesPerSecond > 0 ? $", {Bytes(p.BytesPerSecond)}/s" : "";
            string left = p.BytesPerSecond > 0 && p.Total > p.Downloaded ? $", {Duration(TimeSpan.FromSeconds((p.Total - p.Downloaded) / p.BytesPerSecond))} left" : "";
            return $"Downloading {file}: {Bytes(p.Downloaded)} of {Bytes(p.Total)}{percent}{rate}{left}";
        }
    }

    /// <summary>Sizes in decimal units, as the Hub writes them: 12.1 GB (<see cref="ByteSize"/>, as <c>models</c> prints them).</summary>
    public static string Bytes(double bytes) => ByteSize.Format(bytes);

    /// <summary>A time left, rounded as people say it: 40 s, 3 min, 1 h 5 min.</summary>
    public static string Duration(TimeSpan time) =>
        time.TotalSeconds < 60 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(time.TotalSeconds):0} s")
        : time.TotalMinutes < 60 ? string.Create(CultureInfo.InvariantCulture, $"{Math.Ceiling(time.TotalMinutes):0} min")
        : string.Create(CultureInfo.InvariantCulture, $"{(int)time.TotalHours} h {time.Minutes} min");
}
