namespace Acp.GptOss.Inference;

/// <summary>The engine cannot do what was asked; the message says why and what to do.</summary>
internal class InferenceException : Exception
{
    public InferenceException()
    {
    }

    public InferenceException(string message)
        : base(message)
    {
    }

    public InferenceException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
