namespace Acp.GptOss.Inference;

/// <summary>How an answer ended, filled in when its stream ends.</summary>
internal sealed class ChatOutcome
{
    /// <summary>The model ended its turn itself (an end-of-generation token), rather than running out of budget.</summary>
    public bool Finished { get; set; }

    /// <summary>Tokens of the rendered prompt.</summary>
    public int PromptTokens { get; set; }

    /// <summary>Tokens generated.</summary>
    public int GeneratedTokens { get; set; }

    /// <summary>The context size.</summary>
    public int ContextSize { get; set; }
}
