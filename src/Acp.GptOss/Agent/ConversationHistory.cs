using Acp.GptOss.Inference;
using Harmony.Conversations;
using Harmony.Parsing;

namespace Acp.GptOss.Agent;

/// <summary>
/// A session's conversation, by Harmony's history rules: the user's prompts, the model's messages, tool calls and
/// their results. GPT-OSS reads all of it; the fast model reads the user's prompts and the answers the user saw.
/// </summary>
/// <remarks>Not thread-safe: a session runs one turn at a time, and only the running turn touches it.</remarks>
internal sealed class ConversationHistory
{
    private readonly List<HarmonyMessage> _messages = [];

    /// <summary>The messages so far, in order: what GPT-OSS's prompt is rendered from.</summary>
    public IReadOnlyList<HarmonyMessage> Messages => _messages;

    /// <summary>Puts back the messages of a stored session (its journal), before its first turn in this process.</summary>
    public void Restore(IEnumerable<HarmonyMessage> messages) => _messages.AddRange(messages);

    /// <summary>Adds the user's prompt. It stays even if the turn is cancelled before a model runs.</summary>
    public void AddUserPrompt(string text) => _messages.Add(HarmonyMessage.User(text));

    /// <summary>
    /// Records the messages a GPT-OSS model call completed. Reasoning, answers and tool calls are kept; a foreign
    /// message, a truncated tool call, and a message on an unknown channel that nobody saw are dropped.
    /// </summary>
    public void RecordModelCall(IEnumerable<ParsedMessage> completed)
    {
        foreach (ParsedMessage message in completed)
        {
            if (ToHistory(message) is { } history)
            {
                _messages.Add(history);
            }
        }
    }

    /// <summary>
    /// Keeps what the user saw of an answer as a final message: a fast model's answer, or the visible text of a
    /// GPT-OSS message cut off by a cancel. Nothing shown, nothing kept.
    /// </summary>
    public void AddShownText(string text)
    {
        if (text.Length > 0)
        {
            _messages.Add(HarmonyMessage.Assistant(HarmonyChannel.Final, text));
        }
    }

    /// <summary>
    /// Records a tool's result after the call the model made. When the call named its tool imperfectly (a missing
    /// namespace, say) and was resolved to <paramref name="recipient"/>, the call is rewritten as it should have been
    /// written: the model then sees well-formed calls in its history, and does not learn the mistake from it.
    /// </summary>
    /// <param name="call">The call as the model made it, the last message recorded.</param>
    /// <param name="recipient">The tool it was resolved to.</param>
    /// <param name="result">What the tool answered, as the model reads it.</param>
    public void RecordToolResult(ParsedToolCall call, string recipient, string result)
    {
        HarmonyChannel channel = ChannelOf(call.Channel);
        int last = _messages.Count - 1;
        if (recipient != call.Recipient && last >= 0 && _messages[last].Recipient == call.Recipient)
        {
            _messages[last] = HarmonyMessage.ToolCall(recipient, call.Arguments, channel, call.ContentType);
        }

        _messages.Add(HarmonyMessage.ToolResult(recipient, result, channel));
    }

    /// <summary>
    /// The conversation as the fast model's chat: <paramref name="systemPrompt"/>, then the user's messages and the
    /// answers they saw. Reasoning and tool traffic were GPT-OSS's own.
    /// </summary>
    public List<ChatMessage> ToChatMessages(string systemPrompt)
    {
        var messages = new List<ChatMessage> { new("system", systemPrompt) };
        foreach (HarmonyMessage message in _messages)
        {
            if (message.Role == HarmonyRole.User)
            {
                messages.Add(new ChatMessage("user", message.Content));
            }
            else if (message.Role == HarmonyRole.Assistant && message.Channel == HarmonyChannel.Final && message.Recipient is null)
            {
                messages.Add(new ChatMessage("assistant", message.Content));
            }
        }

        return messages;
    }

    private static HarmonyMessage? ToHistory(ParsedMessage message) => message.Header.Route switch
    {
        HarmonyRoute.Analysis => HarmonyMessage.Assistant(HarmonyChannel.Analysis, message.Text),
        HarmonyRoute.Commentary => HarmonyMessage.Assistant(HarmonyChannel.Commentary, message.Text),
        HarmonyRoute.Final => HarmonyMessage.Assistant(HarmonyChannel.Final, message.Text),
        // An unknown channel that ended the turn was shown as the answer.
        HarmonyRoute.Unknown when message.Terminator is HarmonyTerminator.Return or HarmonyTerminator.EndOfText =>
            HarmonyMessage.Assistant(HarmonyChannel.Final, message.Text),
        HarmonyRoute.Tool when message.Terminator != HarmonyTerminator.Truncated =>
            HarmonyMessage.ToolCall(message.Header.Recipient!, message.Text, ChannelOf(message.Header.Channel), message.Header.ContentType),
        // A foreign message, a truncated call, an unknown channel nobody saw.
        _ => null,
    };

    private static HarmonyChannel ChannelOf(string? channel) => channel switch
    {
        "analysis" => HarmonyChannel.Analysis,
        "final" => HarmonyChannel.Final,
        _ => HarmonyChannel.Commentary,
    };
}
