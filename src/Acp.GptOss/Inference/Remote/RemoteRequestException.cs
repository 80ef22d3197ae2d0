namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// The server refused this one request (a bad or too long prompt, too many requests at once; a raw prompt that a
/// chat-only server cannot take), not because it is unwell: the model's status stays as it was.
/// </summary>
internal sealed class RemoteRequestException : InferenceException
{
    public RemoteRequestException()
    {
    }

    public RemoteRequestException(string message)
        : base(message)
    {
    }

    public RemoteRequestException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
