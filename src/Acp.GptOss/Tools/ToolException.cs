namespace Acp.GptOss.Tools;

/// <summary>
/// A tool call that cannot be carried out: a path outside the workspace, a missing file, an ambiguous edit. The
/// message is written for the model, which gets it as the tool's error result and can correct its next call.
/// </summary>
internal sealed class ToolException : Exception
{
    public ToolException()
    {
    }

    public ToolException(string message)
        : base(message)
    {
    }

    public ToolException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
