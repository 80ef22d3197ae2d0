using Harmony.Conversations;
using Harmony.Rendering;

namespace Acp.GptOss.Agent;

/// <summary>
/// Makes a GPT-OSS prompt fit its context before a model call: when the rendered prompt leaves less room than the
/// answer's reserve, it drops the reasoning earlier tool rounds of the turn left, then compacts the oldest turns into
/// one note, recording both in the history so that the next call starts from there. Lengths are always the rendered
/// token ids, never an estimate from text.
/// </summary>
/// <param name="encoding">Renders conversations into the model's ids.</param>
/// <param name="contextSize">The context's size in tokens.</param>
/// <param name="maxTokens">The most tokens one completion may have.</param>
internal sealed class ContextFitter(HarmonyEncoding encoding, int contextSize, int maxTokens)
{
    /// <summary>
    /// The room kept for the answer: the completion's budget, but at most a quarter of the context, so that a large
    /// budget on a small context does not compact a conversation that would leave plenty of room.
    /// </summary>
    public int Reserve { get; } = Math.Max(1, Math.Min(maxTokens, contextSize / 4));

    /// <summary>The most prompt tokens that leave the reserve free.</summary>
    public int Budget => contextSize - Reserve;

    /// <summary>Whether <paramref name="prompt"/> leaves the reserve free.</summary>
    public bool Fits(int[] prompt) => prompt.Length <= Budget;

    /// <summary>
    /// Removes from <paramref name="history"/> what the prompt can do without, least needed first, until the prompt
    /// leaves the reserve free or only the current turn is left.
    /// </summary>
    /// <param name="history">The session's conversation; changed in place.</param>
    /// <param name="conversation">The conversation to render around a list of messages (system, developer, tools).</param>
    /// <returns>The prompt to send and what was removed.</returns>
    public ContextFit Compact(ConversationHistory history, Func<IReadOnlyList<HarmonyMessage>, HarmonyConversation> conversation)
    {
        int tokensBefore = Render(conversation, history.Messages).Length;
        int reasoning = history.DropEarlierReasoning();
        int[] prompt = Render(conversation, history.Messages);
        int turns = 0;
        if (!Fits(prompt) && history.EarlierTurns > 0)
        {
            // The fewest oldest turns whose removal makes it fit, or all of them: a binary search, since the prompt
            // only shrinks as more turns go, and each try renders the whole conversation.
            int low = 1;
            int high = history.EarlierTurns;
            int best = high;
            int[]? bestPrompt = null;
            while (low <= high)
            {
                int middle = low + ((high - low) / 2);
                int[] candidate = Render(conversation, history.WithOldestTurnsCompacted(middle));
                if (Fits(candidate))
                {
                    (best, bestPrompt) = (middle, candidate);
                    high = middle - 1;
                }
                else
                {
                    low = middle + 1;
                }
            }

            history.CompactOldestTurns(best);
            turns = best;
            prompt = bestPrompt ?? Render(conversation, history.Messages);
        }

        // A prompt that fits the context but not the reserve still goes: the answer gets what room is left. With no
        // room for a single token, nothing can be generated.
        return new ContextFit(prompt, tokensBefore, reasoning, turns, prompt.Length < contextSize);
    }

    private int[] Render(Func<IReadOnlyList<HarmonyMessage>, HarmonyConversation> conversation, IReadOnlyList<HarmonyMessage> messages) =>
        encoding.RenderForCompletion(conversation(messages));
}
