using System.Text;
using Acp.Protocol;
using Harmony.Parsing;

namespace Acp.GptOss.Agent;

/// <summary>
/// Maps the Harmony parser's events of one model call to ACP updates: final and preamble text become
/// <c>agent_message_chunk</c>s, one message id per Harmony message and a blank line between visible messages;
/// analysis becomes a "Thinking…" status, its text, or nothing; everything else stays hidden. It also keeps what
/// the turn needs afterwards: the completed messages, the tool call, the stop.
/// </summary>
/// <remarks>A pure function of the events: it queues updates and never sends them itself. Not thread-safe.</remarks>
internal sealed class TurnMapper(ReasoningDisplay display, TurnState turn) : IHarmonyStreamListener
{
    public const string ThinkingStatus = "Thinking…";

    private readonly List<SessionUpdate> _updates = [];
    private readonly StringBuilder _shown = new();
    private string? _messageId;
    private string? _thoughtId;

    /// <summary>Messages completed so far, in order.</summary>
    public List<ParsedMessage> Completed { get; } = [];

    /// <summary>The tool call the model made, if it did.</summary>
    public ParsedToolCall? ToolCall { get; private set; }

    /// <summary>Why the parser stopped, once it has.</summary>
    public HarmonyStopReason? StopReason { get; private set; }

    /// <summary>The visible text of the message in progress, for a turn cancelled before it completed.</summary>
    public string ShownText => _shown.ToString();

    /// <summary>Takes the updates queued since the last call.</summary>
    public SessionUpdate[] TakeUpdates()
    {
        SessionUpdate[] updates = [.. _updates];
        _updates.Clear();
        return updates;
    }

    public void OnMessageStarted(in HarmonyHeader header)
    {
        _messageId = null;
        _thoughtId = null;
        _shown.Clear();
        if (header.Route == HarmonyRoute.Analysis && display == ReasoningDisplay.Status)
        {
            _updates.Add(new AgentThoughtChunk(new TextContent(ThinkingStatus)) { MessageId = turn.NextMessageId() });
        }
    }

    public void OnText(HarmonyRoute route, ReadOnlySpan<char> text)
    {
        if (route.IsVisible())
        {
            string chunk = text.ToString();
            if (_messageId is null)
            {
                _messageId = turn.NextMessageId();
                // Without a separator a preamble and the final answer run together.
                if (turn.VisibleTextSent)
                {
                    chunk = "\n\n" + chunk;
                }
            }

            turn.VisibleTextSent = true;
            _shown.Append(text);
            _updates.Add(new AgentMessageChunk(new TextContent(chunk)) { MessageId = _messageId });
        }
        else if (route == HarmonyRoute.Analysis && display == ReasoningDisplay.Full)
        {
            _thoughtId ??= turn.NextMessageId();
            _updates.Add(new AgentThoughtChunk(new TextContent(text.ToString())) { MessageId = _thoughtId });
        }
    }

    public void OnMessageCompleted(in HarmonyCompletedMessage message)
    {
        Completed.Add(new ParsedMessage(message.Header, message.Text.ToString(), message.Terminator));
        _shown.Clear();
    }

    public void OnToolCall(in HarmonyToolCall toolCall) =>
        ToolCall = new ParsedToolCall(toolCall.Recipient, toolCall.Channel, toolCall.ContentType, toolCall.Arguments.ToString());

    public void OnStopped(HarmonyStopReason reason) => StopReason = reason;
}

/// <summary>What one prompt turn shares across its model calls.</summary>
/// <param name="nextMessageId">Makes message ids, unique within the session.</param>
internal sealed class TurnState(Func<string> nextMessageId)
{
    /// <summary>Whether any visible text went out in this turn.</summary>
    public bool VisibleTextSent { get; set; }

    public string NextMessageId() => nextMessageId();
}

/// <summary>A completed Harmony message.</summary>
internal sealed record ParsedMessage(HarmonyHeader Header, string Text, HarmonyTerminator Terminator);

/// <summary>A tool call the model made.</summary>
internal sealed record ParsedToolCall(string Recipient, string? Channel, string? ContentType, string Arguments);
