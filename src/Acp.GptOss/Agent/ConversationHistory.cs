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

    // How many earlier turns the note at the start of the history stands for (0: no note), and their first request.
    private int _compactedTurns;
    private string _firstRequest = "";

    /// <summary>The messages so far, in order: what GPT-OSS's prompt is rendered from.</summary>
    public IReadOnlyList<HarmonyMessage> Messages => _messages;

    /// <summary>
    /// How many times messages before the newest were removed or rewritten (reasoning dropped, turns compacted): a
    /// journal that appends the messages a turn added must write the whole history instead when this changed.
    /// </summary>
    public int Rewrites { get; private set; }

    /// <summary>The first request of the compacted turns, quoted by the note; empty when none were.</summary>
    public string CompactedFirstRequest => _firstRequest;

    /// <summary>Puts back the messages of a stored session (its journal), before its first turn in this process.</summary>
    /// <param name="messages">The messages, in order.</param>
    /// <param name="compactedTurns">How many turns the note that opens them stands for; 0 when there is none.</param>
    /// <param name="firstRequest">The first request of those turns.</param>
    public void Restore(IEnumerable<HarmonyMessage> messages, int compactedTurns = 0, string firstRequest = "")
    {
        _messages.AddRange(messages);
        _compactedTurns = compactedTurns;
        _firstRequest = firstRequest;
    }

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

    /// <summary>How many turns were compacted into the note that opens the history; 0 when none were.</summary>
    public int CompactedTurns => _compactedTurns;

    /// <summary>The whole turns before the current one (the one the last user prompt opened): what can be compacted.</summary>
    public int EarlierTurns => Math.Max(0, TurnStarts().Count - 1);

    /// <summary>
    /// Removes the reasoning a model call no longer needs: every analysis message before the latest model call of
    /// the current turn. Harmony's renderer already leaves out earlier turns' analysis (docs/harmony.md §3.4), so only
    /// the current turn's earlier tool rounds cost tokens; the latest round's reasoning, which led to the call whose
    /// result is open, is kept.
    /// </summary>
    /// <returns>How many of the removed messages the prompt rendered.</returns>
    public int DropEarlierReasoning()
    {
        int end = _messages.Count - 1;
        if (end < 0)
        {
            return 0;
        }

        // The latest model call began after the user's prompt or the tool result before it; on the turn's first call
        // (the prompt is last) everything before the prompt is an earlier turn.
        int keepFrom = end;
        if (_messages[end].Role != HarmonyRole.User)
        {
            keepFrom = 0;
            for (int i = end - 1; i >= 0; i--)
            {
                if (_messages[i].Role is HarmonyRole.User or HarmonyRole.Tool)
                {
                    keepFrom = i + 1;
                    break;
                }
            }
        }

        List<int> starts = TurnStarts();
        int currentTurn = starts.Count > 0 ? starts[^1] : -1;
        int rendered = 0;
        bool removed = false;
        for (int i = keepFrom - 1; i >= 0; i--)
        {
            if (_messages[i] is { Role: HarmonyRole.Assistant, Channel: HarmonyChannel.Analysis })
            {
                rendered += i > currentTurn ? 1 : 0;
                _messages.RemoveAt(i);
                removed = true;
            }
        }

        if (removed)
        {
            Rewrites++;
        }

        return rendered;
    }

    /// <summary>The messages as they would be after <see cref="CompactOldestTurns"/>, leaving the history as it is.</summary>
    /// <param name="turns">How many of the <see cref="EarlierTurns"/> to compact, the oldest first.</param>
    public List<HarmonyMessage> WithOldestTurnsCompacted(int turns)
    {
        List<int> starts = TurnStarts();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(turns);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(turns, starts.Count - 1);
        int keepFrom = starts[turns];
        var messages = new List<HarmonyMessage>(_messages.Count - keepFrom + 1) { Note(_compactedTurns + turns, FirstRequest(starts)) };
        messages.AddRange(_messages.Skip(keepFrom));
        return messages;
    }

    /// <summary>
    /// Replaces the <paramref name="turns"/> oldest turns (and the note of any compaction before) with one note that
    /// says how many turns were removed and what the first request was. No model writes it, so it costs no call.
    /// </summary>
    public void CompactOldestTurns(int turns)
    {
        List<HarmonyMessage> messages = WithOldestTurnsCompacted(turns);
        _firstRequest = FirstRequest(TurnStarts());
        _compactedTurns += turns;
        _messages.Clear();
        _messages.AddRange(messages);
        Rewrites++;
    }

    /// <summary>
    /// The note that stands for compacted turns: a user message, since Harmony has no role for a note, the system
    /// and developer messages are the model's instructions and stay as they are, and a user message is valid
    /// anywhere (an assistant one would put words in the model's mouth, a tool one needs a call before it).
    /// </summary>
    private static HarmonyMessage Note(int turns, string firstRequest) => HarmonyMessage.User(
        $"(Note from the agent, not the user: the earlier conversation, {turns} {(turns == 1 ? "turn" : "turns")}, was removed to fit the model's context. "
        + $"Its first request was: \"{firstRequest}\")");

    private string FirstRequest(List<int> starts)
    {
        const int MaxLength = 200;
        if (_compactedTurns > 0)
        {
            return _firstRequest;
        }

        string first = _messages[starts[0]].Content;
        return first.Length <= MaxLength ? first : first[..MaxLength] + "…";
    }

    // Where each turn begins: its user prompt. The note of a compaction opens no turn.
    private List<int> TurnStarts()
    {
        var starts = new List<int>();
        for (int i = _compactedTurns > 0 ? 1 : 0; i < _messages.Count; i++)
        {
            if (_messages[i].Role == HarmonyRole.User)
            {
                starts.Add(i);
            }
        }

        return starts;
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
