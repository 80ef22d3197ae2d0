namespace LlamaCpp;

/// <summary>llama.cpp, or the runtime it comes in, failed; the message says what and what to do.</summary>
public class LlamaException : Exception
{
    /// <summary>Creates the exception.</summary>
    public LlamaException()
    {
    }

    /// <summary>Creates the exception.</summary>
    public LlamaException(string message)
        : base(message)
    {
    }

    /// <summary>Creates the exception.</summary>
    public LlamaException(string message, Exception innerException)
        : base(message, innerException)
    {
    }
}
