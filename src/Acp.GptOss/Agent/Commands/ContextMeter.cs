using Acp.Protocol;

namespace Acp.GptOss.Agent.Commands;

/// <summary>
/// What a session's context holds, as the editor's meter shows it: the last figures every model call reports
/// (<c>usage_update</c>), and the token counts of the running turn for its response's <c>_meta</c>.
/// </summary>
/// <remarks>Thread-safe; a session runs one turn at a time.</remarks>
internal sealed class ContextMeter
{
    private readonly Lock _gate = new();
    private PromptUsage? _turn;

    /// <summary>The context's tokens and size after the last model call or compaction; null before any.</summary>
    public (long Used, long Size)? Last { get; private set; }

    /// <summary>A turn begins: its token counts start from zero.</summary>
    public void BeginTurn()
    {
        lock (_gate)
        {
            _turn = null;
        }
    }

    /// <summary>A model call ended: its prompt and completion count toward the turn, and the context holds both.</summary>
    /// <returns>The update to send.</returns>
    public UsageUpdate ModelCall(int promptTokens, int completionTokens, int contextSize)
    {
        lock (_gate)
        {
            long used = promptTokens + (long)completionTokens;
            _turn = new PromptUsage(
                (_turn?.PromptTokens ?? 0) + promptTokens, (_turn?.CompletionTokens ?? 0) + completionTokens, used, contextSize);
            Last = (used, contextSize);
            return new UsageUpdate(used, contextSize);
        }
    }

    /// <summary>The conversation was compacted without a model call: the context will hold <paramref name="used"/>.</summary>
    /// <returns>The update to send.</returns>
    public UsageUpdate Compacted(int used, int contextSize)
    {
        lock (_gate)
        {
            Last = (used, contextSize);
            return new UsageUpdate(used, contextSize);
        }
    }

    /// <summary>The running turn's counts, for its response; null when it made no model call.</summary>
    public PromptUsage? Turn
    {
        get
        {
            lock (_gate)
            {
                return _turn;
            }
        }
    }
}
