using Acp.GptOss.Inference;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Agent;

/// <summary>What the agent runs prompts on: GPT-OSS, the fast model if one is configured, and where telemetry goes.</summary>
/// <param name="GptOss">The GPT-OSS engine (llama.cpp, scripted, or none).</param>
/// <param name="Fast">The fast model, if configured.</param>
/// <param name="Telemetry">Where the engines report; the agent forwards it to clients that opt in.</param>
internal sealed record AgentEngines(IInferenceEngine GptOss, IChatEngine? Fast, Telemetry Telemetry)
{
    /// <summary>GPT-OSS alone, with telemetry only in the log it is given (none).</summary>
    public AgentEngines(IInferenceEngine gptOss)
        : this(gptOss, null, new Telemetry(NullLogger.Instance))
    {
    }

    /// <summary>Downloads models into the Hugging Face cache for <c>/download</c>; null where the agent offers none.</summary>
    public IModelPuller? Puller { get; init; }

    /// <summary>Every model, for status, load and unload.</summary>
    public IEnumerable<IModel> Models => Fast?.Model is { } fast ? [.. GptOss.Models, fast] : GptOss.Models;
}
