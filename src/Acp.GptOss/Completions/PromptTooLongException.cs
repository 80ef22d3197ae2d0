namespace Acp.GptOss.Completions;

/// <summary>The prompt leaves the model no room for a single token of answer.</summary>
internal sealed class PromptTooLongException : Exception
{
    public PromptTooLongException()
    {
    }

    public PromptTooLongException(string message)
        : base(message)
    {
    }

    public PromptTooLongException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public PromptTooLongException(int promptTokens, int contextSize)
        : base($"The prompt takes {promptTokens} tokens of the model's {contextSize}-token context and leaves no room for an answer: "
            + "send less, or start the server with a larger --ctx-size.")
    {
        PromptTokens = promptTokens;
        ContextSize = contextSize;
    }

    public int PromptTokens { get; }

    public int ContextSize { get; }
}
