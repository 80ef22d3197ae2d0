namespace Acp.GptOss.Tools;

/// <summary>A call's recipient resolved against the declared functions.</summary>
/// <param name="Resolution">What it named.</param>
/// <param name="Name">The declared function's name; otherwise the recipient as the model wrote it.</param>
internal readonly record struct ResolvedTool(ToolResolution Resolution, string Name)
{
    /// <summary>The recipient to record in the history: <c>functions.NAME</c> for a function, whatever the model wrote.</summary>
    public string Recipient => Resolution == ToolResolution.Function ? ToolResolver.Namespace + Name : Name;
}
