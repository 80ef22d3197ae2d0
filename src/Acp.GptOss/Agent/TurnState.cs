namespace Acp.GptOss.Agent;

/// <summary>What one prompt turn shares across its model calls.</summary>
/// <param name="nextMessageId">Makes message ids, unique within the session.</param>
internal sealed class TurnState(Func<string> nextMessageId)
{
    /// <summary>Whether any visible text went out in this turn.</summary>
    public bool VisibleTextSent { get; set; }

    public string NextMessageId() => nextMessageId();
}
