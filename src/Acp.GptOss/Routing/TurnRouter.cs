using Acp.GptOss.Inference;
using Acp.Protocol;

namespace Acp.GptOss.Routing;

/// <summary>The model a turn goes to, and what the prompt response says of the choice.</summary>
internal sealed record TurnRoute(ModelRole Model, RouteMeta Meta);

/// <summary>
/// Chooses between GPT-OSS and the fast model for each prompt turn: counts the request's tokens in GPT-OSS's
/// vocabulary, finds its code signals, lets <see cref="PromptRouter"/> decide, and logs the decision. Only made when
/// a fast model is configured: without one there is nothing to choose.
/// </summary>
/// <remarks>Thread-safe; one for every session of the agent, which share the decision log.</remarks>
internal sealed class TurnRouter(IInferenceEngine gptOss, int threshold, RouteDecisionLog decisions)
{
    /// <param name="sessionId">The session, for the log.</param>
    /// <param name="text">The user's message, as the model reads it.</param>
    /// <param name="prompt">The prompt's content blocks: attached and linked files are signals too.</param>
    /// <param name="choice">The session's <c>model</c> option.</param>
    /// <param name="escalated">Whether an earlier turn of the session went to GPT-OSS.</param>
    /// <param name="cancellationToken">The turn's.</param>
    /// <exception cref="InferenceException">GPT-OSS's vocabulary cannot be read.</exception>
    public async Task<TurnRoute> RouteAsync(
        string sessionId, string text, IReadOnlyList<ContentBlock> prompt, ModelChoice choice, bool escalated, CancellationToken cancellationToken)
    {
        IReadOnlyList<string> signals = CodeSignals.Find(text, prompt);
        int tokens = await gptOss.CountTokensAsync(text, cancellationToken).ConfigureAwait(false);
        Route route = PromptRouter.Decide(new RouteInput(choice, HasFastModel: true, escalated, tokens, threshold, signals));
        string model = route.Model.WireName();
        decisions.Write(new RouteDecision(DateTimeOffset.UtcNow, sessionId, model, route.Reasons, tokens, threshold, signals, ChoiceName(choice)));
        return new TurnRoute(route.Model, new RouteMeta(model, route.Reasons, tokens, threshold));
    }

    private static string ChoiceName(ModelChoice choice) => choice switch
    {
        ModelChoice.GptOss => ModelRoles.GptOssName,
        ModelChoice.Fast => ModelRoles.FastName,
        _ => "auto",
    };
}
