using Harmony.Conversations;

namespace Acp.GptOss.Completions;

/// <summary>The names of <see cref="ReasoningEffort"/> as OpenAI's API and our command line write them.</summary>
internal static class ReasoningEfforts
{
    public const string Names = "low, medium or high";

    public static bool TryParse(string? text, out ReasoningEffort effort)
    {
        (bool ok, effort) = text switch
        {
            "low" => (true, ReasoningEffort.Low),
            "medium" => (true, ReasoningEffort.Medium),
            "high" => (true, ReasoningEffort.High),
            _ => (false, ReasoningEffort.Medium),
        };
        return ok;
    }
}
