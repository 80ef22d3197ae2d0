namespace Acp.GptOss.Tools;

/// <summary>A call the model made, its recipient resolved against the functions declared last; its arguments not read yet.</summary>
/// <param name="Written">The recipient as the model wrote it.</param>
/// <param name="Tool">What the recipient resolved to.</param>
/// <param name="Arguments">The arguments as the model wrote them.</param>
internal sealed record ToolCallRequest(string Written, ResolvedTool Tool, string Arguments)
{
    /// <summary>The declared function's name; otherwise the recipient, trimmed.</summary>
    public string Name => Tool.Name;

    /// <summary>The recipient to record in the history: <c>functions.NAME</c> for a function.</summary>
    public string Recipient => Tool.Recipient;

    /// <summary>The tool message for a call that names no declared function; null when it names one.</summary>
    public string? Refusal => Tool.Resolution switch
    {
        ToolResolution.Function => null,
        ToolResolution.BuiltIn => $"Error: tool {Tool.Name} is not available; use functions.*",
        _ => $"Error: there is no tool {Written}; the tools are the functions in the developer message.",
    };
}
