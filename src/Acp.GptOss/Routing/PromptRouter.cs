using Acp.GptOss.Inference;

namespace Acp.GptOss.Routing;

/// <summary>Which model a session's prompts go to: the <c>model</c> config option.</summary>
internal enum ModelChoice
{
    /// <summary>The router decides, turn by turn.</summary>
    Auto,

    /// <summary>Always GPT-OSS.</summary>
    GptOss,

    /// <summary>Always the fast model.</summary>
    Fast,
}

/// <summary>What the router knows of a turn.</summary>
/// <param name="Choice">The session's <c>model</c> option.</param>
/// <param name="HasFastModel">Whether a fast model is configured.</param>
/// <param name="Escalated">Whether an earlier turn of the session went to GPT-OSS.</param>
/// <param name="PromptTokens">The tokens of this turn's request, in GPT-OSS's vocabulary.</param>
/// <param name="Threshold">The most tokens a request may have and still go to the fast model.</param>
/// <param name="Signals">The code-generation signals found in the request (<see cref="CodeSignals"/>).</param>
internal sealed record RouteInput(ModelChoice Choice, bool HasFastModel, bool Escalated, int PromptTokens, int Threshold, IReadOnlyList<string> Signals);

/// <summary>The router's answer: the model and every reason for it.</summary>
internal sealed record Route(ModelRole Model, IReadOnlyList<string> Reasons);

/// <summary>
/// Sends each prompt turn to GPT-OSS or to the fast model. GPT-OSS takes requests over the token threshold and
/// code-generation requests; the fast model the rest, when there is one. A session that has gone to GPT-OSS stays
/// there (escalate only) unless the user chooses otherwise with the <c>model</c> option.
/// </summary>
internal static class PromptRouter
{
    /// <summary>The default threshold, in tokens.</summary>
    public const int DefaultThreshold = 140;

    public const string UserChoice = "user_choice";
    public const string NoFastModel = "no_fast_model";
    public const string OverThreshold = "over_threshold";
    public const string CodeGeneration = "code_generation";
    public const string Escalated = "escalated";
    public const string ShortRequest = "short_request";

    public static Route Decide(RouteInput input)
    {
        switch (input.Choice)
        {
            case ModelChoice.GptOss:
                return new Route(ModelRole.GptOss, [UserChoice]);
            case ModelChoice.Fast when input.HasFastModel:
                return new Route(ModelRole.Fast, [UserChoice]);
        }

        // Every reason that holds is given, not just the first: the log says why in full.
        var reasons = new List<string>();
        if (!input.HasFastModel)
        {
            reasons.Add(NoFastModel);
        }

        if (input.PromptTokens > input.Threshold)
        {
            reasons.Add(OverThreshold);
        }

        if (input.Signals.Count > 0)
        {
            reasons.Add(CodeGeneration);
        }

        if (input.Escalated)
        {
            reasons.Add(Escalated);
        }

        return reasons.Count > 0 ? new Route(ModelRole.GptOss, reasons) : new Route(ModelRole.Fast, [ShortRequest]);
    }
}
