namespace Acp.GptOss.Sessions;

/// <summary>A session's title, made from its first request without a model call: the first line, cut at a word.</summary>
internal static class SessionTitle
{
    public const int MaxLength = 60;

    /// <summary>The title for <paramref name="request"/>; null when it has no text.</summary>
    public static string? From(string request)
    {
        string? line = request.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Length > 0);
        if (line is null)
        {
            return null;
        }

        if (line.Length <= MaxLength)
        {
            return line;
        }

        int cut = line.LastIndexOf(' ', MaxLength - 1);
        // One long word (a path, say) is cut where it must be.
        return line[..(cut > MaxLength / 2 ? cut : MaxLength - 1)].TrimEnd() + "…";
    }
}
