using System.Globalization;
using System.Text;
using Acp.GptOss.Inference;
using Acp.GptOss.Routing;

namespace Acp.GptOss.Agent.Commands;

/// <summary><c>/status</c>: the models and their state, the session's context, the last route and why, the runtime, in short Markdown.</summary>
internal static class StatusReport
{
    /// <param name="engines">The models.</param>
    /// <param name="context">The context's tokens and size after the last model call or compaction, if any.</param>
    /// <param name="contextSize">The session's context size, when known without a model call.</param>
    /// <param name="route">The last turn's route, if any.</param>
    public static string Build(AgentEngines engines, (long Used, long Size)? context, int? contextSize, RouteMeta? route)
    {
        var text = new StringBuilder();
        text.Append("**Models**\n");
        IModel[] models = [.. engines.Models];
        if (models.Length == 0)
        {
            text.Append(CultureInfo.InvariantCulture, $"- {ModelRoles.GptOssName}: {engines.GptOss.Description}\n");
        }

        foreach (IModel model in models)
        {
            ModelStatus status = model.GetStatus();
            text.Append(CultureInfo.InvariantCulture, $"- {model.Role.WireName()}: {State(status)} — `{Path.GetFileName(status.Path)}`");
            if (status.ContextSize is { } size)
            {
                text.Append(CultureInfo.InvariantCulture, $", {size:N0}-token context");
            }

            text.Append('\n');
        }

        text.Append("\n**Context**: ");
        if (context is { } c)
        {
            text.Append(CultureInfo.InvariantCulture, $"{c.Used:N0} of {c.Size:N0} tokens ({(c.Size > 0 ? 100.0 * c.Used / c.Size : 0):0}%)\n");
        }
        else
        {
            text.Append(contextSize is { } s ? string.Create(CultureInfo.InvariantCulture, $"0 of {s:N0} tokens\n") : "nothing measured yet (no model call)\n");
        }

        text.Append("\n**Last route**: ");
        text.Append(route is null ? "none yet\n" : $"{route.Model} — {string.Join("; ", route.Reasons.Select(r => Reason(r, route.Threshold)))}\n");
        text.Append(CultureInfo.InvariantCulture, $"\n**Runtime**: {engines.GptOss.Description}");
        if (engines.Fast is { } fast)
        {
            text.Append(CultureInfo.InvariantCulture, $"; fast model: {fast.Description}");
        }

        return text.Append('\n').ToString();
    }

    private static string State(ModelStatus status) => status.State switch
    {
        ModelState.Ready => status.Description is { } description ? $"ready ({description})" : "ready",
        ModelState.Loading => string.Create(CultureInfo.InvariantCulture, $"loading ({100 * status.LoadProgress:0}%)"),
        ModelState.Error => $"error: {status.Error}",
        _ => "not loaded",
    };

    private static string Reason(string reason, int threshold) => reason switch
    {
        PromptRouter.UserChoice => "you chose it",
        PromptRouter.NoFastModel => "no fast model is configured",
        PromptRouter.OverThreshold => string.Create(CultureInfo.InvariantCulture, $"the request is over {threshold} tokens"),
        PromptRouter.CodeGeneration => "the request asks for code",
        PromptRouter.Escalated => "the session went to GPT-OSS before",
        PromptRouter.ShortRequest => "a short request",
        _ => reason,
    };
}
