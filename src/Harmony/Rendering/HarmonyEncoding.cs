using Harmony.Conversations;

namespace Harmony.Rendering;

/// <summary>
/// Renders conversations into prompt token ids for GPT-OSS and knows the sampling stops. Structure is always
/// written as special ids and text always as ordinary tokens, so no message content can inject structure.
/// </summary>
/// <remarks>Thread-safe if the tokenizer is.</remarks>
public sealed class HarmonyEncoding
{
    private readonly IHarmonyTokenizer _tokenizer;

    /// <summary>Creates an encoding over a vocabulary.</summary>
    public HarmonyEncoding(IHarmonyTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        _tokenizer = tokenizer;
    }

    /// <summary>The vocabulary's special ids.</summary>
    public HarmonySpecialTokens SpecialTokens => _tokenizer.SpecialTokens;

    /// <summary>The ids that end sampling: <c>&lt;|return|&gt;</c>, <c>&lt;|call|&gt;</c>, <c>&lt;|endoftext|&gt;</c>; never <c>&lt;|end|&gt;</c>.</summary>
    public ReadOnlySpan<int> SamplingStops => _tokenizer.SpecialTokens.SamplingStops;

    /// <summary>Appends the prompt for the next completion, ending in <c>&lt;|start|&gt;assistant</c>.</summary>
    public void RenderForCompletion(HarmonyConversation conversation, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        ConversationRenderer.RenderForCompletion(conversation, new TokenPromptWriter(_tokenizer, tokens));
    }

    /// <summary>The prompt for the next completion, ending in <c>&lt;|start|&gt;assistant</c>.</summary>
    public int[] RenderForCompletion(HarmonyConversation conversation)
    {
        var tokens = new List<int>(1024);
        RenderForCompletion(conversation, tokens);
        return [.. tokens];
    }

    /// <summary>
    /// The tokens every later prompt of this conversation begins with, once another user message follows: its
    /// messages with all reasoning left out (docs/harmony.md §3.4), without the completion's <c>&lt;|start|&gt;assistant</c>.
    /// An engine keeps this much of a conversation's cache for the next turn.
    /// </summary>
    public int[] RenderHistory(HarmonyConversation conversation)
    {
        var tokens = new List<int>(1024);
        ConversationRenderer.RenderHistory(conversation, new TokenPromptWriter(_tokenizer, tokens));
        return [.. tokens];
    }

    /// <summary>Appends one message, such as a tool result added in the middle of a turn.</summary>
    public void RenderMessage(HarmonyMessage message, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(message);
        ArgumentNullException.ThrowIfNull(tokens);
        ConversationRenderer.RenderMessage(message, new TokenPromptWriter(_tokenizer, tokens));
    }

    /// <summary>The same prompt as <see cref="RenderForCompletion(HarmonyConversation)"/>, written with literal special spellings.</summary>
    public string RenderForCompletionText(HarmonyConversation conversation)
    {
        var writer = new LiteralPromptWriter(_tokenizer.SpecialTokens);
        ConversationRenderer.RenderForCompletion(conversation, writer);
        return writer.ToString();
    }

    /// <summary>Appends the ids of untrusted UTF-8 text as ordinary tokens only (docs/harmony.md §3.5).</summary>
    public void EncodeOrdinary(ReadOnlySpan<byte> utf8, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        OrdinaryText.Encode(_tokenizer, utf8, tokens);
    }

    /// <summary>Appends the ids of untrusted text as ordinary tokens only (docs/harmony.md §3.5).</summary>
    public void EncodeOrdinary(string text, List<int> tokens)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentNullException.ThrowIfNull(tokens);
        OrdinaryText.Encode(_tokenizer, text.AsSpan(), tokens);
    }
}
