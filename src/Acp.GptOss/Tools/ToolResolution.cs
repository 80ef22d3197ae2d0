namespace Acp.GptOss.Tools;

/// <summary>How a call's recipient resolved: a function we declared, a built-in tool of OpenAI's, or nothing.</summary>
internal enum ToolResolution
{
    /// <summary>A declared function.</summary>
    Function,

    /// <summary>One of OpenAI's built-in tools (python, browser.*, container.*), which this agent does not offer.</summary>
    BuiltIn,

    /// <summary>Nothing declared by that name.</summary>
    Unknown,
}
