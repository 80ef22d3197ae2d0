using Acp.GptOss.Completions;
using Acp.GptOss.Inference;

namespace Acp.GptOss.Api;

/// <summary>The API's wire names for our enums.</summary>
internal static class ApiNames
{
    /// <summary>OpenAI's <c>finish_reason</c>; <c>cancelled</c> is ours (a client that went away never reads it).</summary>
    public static string FinishReason(CompletionFinishReason reason) => reason switch
    {
        CompletionFinishReason.Stop => "stop",
        CompletionFinishReason.Length => "length",
        CompletionFinishReason.ToolCalls => "tool_calls",
        CompletionFinishReason.Cancelled => "cancelled",
        _ => throw new ArgumentOutOfRangeException(nameof(reason), reason, null),
    };

    /// <summary>As <c>_gptoss/status</c> and <c>/health</c> name it.</summary>
    public static string State(ModelState state) => state switch
    {
        ModelState.NotLoaded => "notLoaded",
        ModelState.Loading => "loading",
        ModelState.Ready => "ready",
        ModelState.Error => "error",
        _ => throw new ArgumentOutOfRangeException(nameof(state), state, null),
    };
}
