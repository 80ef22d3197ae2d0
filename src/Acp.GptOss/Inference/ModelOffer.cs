namespace Acp.GptOss.Inference;

/// <summary>A model an engine can download when none is installed: what the user is asked about.</summary>
/// <param name="Name">The short name, as <c>models pull</c> takes it: gpt-oss-20b.</param>
/// <param name="Repository">The Hugging Face repository, ORG/REPO.</param>
/// <param name="FileName">The file in the repository.</param>
/// <param name="Destination">Where it will be stored: its folder in the Hugging Face cache.</param>
/// <param name="SizeBytes">Its size, once the Hub has said it; null before.</param>
/// <param name="DownloadedBytes">Bytes an earlier download left, which the next one resumes from.</param>
internal sealed record ModelOffer(string Name, string Repository, string FileName, string Destination, long? SizeBytes = null, long DownloadedBytes = 0);
