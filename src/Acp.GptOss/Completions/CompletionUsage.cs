namespace Acp.GptOss.Completions;

/// <summary>Tokens one completion took.</summary>
/// <param name="PromptTokens">The rendered prompt.</param>
/// <param name="CompletionTokens">Tokens the model generated, stop tokens included.</param>
internal sealed record CompletionUsage(int PromptTokens, int CompletionTokens)
{
    public int TotalTokens => PromptTokens + CompletionTokens;
}
