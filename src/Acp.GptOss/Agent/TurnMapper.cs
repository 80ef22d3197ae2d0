using System.Text;
using Acp.Protocol;
using Harmony;
using Harmony.Parsing;

namespace Acp.GptOss.Agent;

/// <summary>
/// One GPT-OSS model call, from sampled token ids to ACP updates: the tokens go through the Harmony stream parser,
/// and its events are mapped here, the one place that does so. Final and preamble text become
/// <c>agent_message_chunk</c>s, one message id per Harmony message and a blank line between visible messages;
/// analysis becomes a "Thinking…" status, its text, or nothing; everything else stays hidden. When the stream ends
/// it returns what the call produced (<see cref="ModelCallResult"/>): the completed messages, the tool call, the stop.
/// </summary>
/// <remarks>
/// The stop is kept here alone, as the parser reports it: <see cref="IsStopped"/> tells the sampler to stop.
/// It queues updates and never sends them itself. Not thread-safe.
/// </remarks>
internal sealed class TurnMapper : IHarmonyStreamListener
{
    public const string ThinkingStatus = "Thinking…";

    private readonly ReasoningDisplay _display;
    private readonly TurnState _turn;
    private readonly HarmonyStreamParser _parser;
    private readonly List<SessionUpdate> _updates = [];
    private readonly List<ParsedMessage> _completed = [];
    private readonly StringBuilder _shown = new();
    private ParsedToolCall? _toolCall;
    private HarmonyStopReason? _stop;
    private string? _messageId;
    private string? _thoughtId;
    private int _tokens;

    /// <param name="tokenizer">The vocabulary the model samples from.</param>
    /// <param name="display">What the user sees of the model's reasoning.</param>
    /// <param name="turn">What the turn's model calls share: message ids, whether visible text went out.</param>
    public TurnMapper(IHarmonyTokenizer tokenizer, ReasoningDisplay display, TurnState turn)
    {
        _display = display;
        _turn = turn;
        _parser = new HarmonyStreamParser(tokenizer, this);
    }

    /// <summary>Whether the model call has ended (a tool call closed by <c>&lt;|call|&gt;</c>, say): sample no further.</summary>
    public bool IsStopped => _stop is not null;

    /// <summary>Feeds one sampled token.</summary>
    public void Push(int token)
    {
        _tokens++;
        _parser.Push(token);
    }

    /// <summary>Feeds sampled tokens in order.</summary>
    public void Push(ReadOnlySpan<int> tokens)
    {
        foreach (int token in tokens)
        {
            Push(token);
        }
    }

    /// <summary>Takes the updates queued since the last call.</summary>
    public SessionUpdate[] TakeUpdates()
    {
        SessionUpdate[] updates = [.. _updates];
        _updates.Clear();
        return updates;
    }

    /// <summary>
    /// The stream has ended: after a stop token, or without one when the budget or the context ran out (a message
    /// in progress then completes as truncated, and the call stops with max tokens).
    /// </summary>
    public ModelCallResult Finish()
    {
        _parser.Finish();
        return Result();
    }

    /// <summary>The call was cancelled: it stops at once, with what was shown of a message in progress kept.</summary>
    public ModelCallResult Cancel()
    {
        _parser.Cancel();
        return Result();
    }

    private ModelCallResult Result() => new(
        [.. _completed],
        _toolCall,
        _stop ?? throw new InvalidOperationException("The parser ended without a stop."),
        _shown.ToString(),
        _tokens);

    void IHarmonyStreamListener.OnMessageStarted(in HarmonyHeader header)
    {
        _messageId = null;
        _thoughtId = null;
        _shown.Clear();
        if (header.Route == HarmonyRoute.Analysis && _display == ReasoningDisplay.Status)
        {
            _updates.Add(new AgentThoughtChunk(new TextContent(ThinkingStatus)) { MessageId = _turn.NextMessageId() });
        }
    }

    void IHarmonyStreamListener.OnText(HarmonyRoute route, ReadOnlySpan<char> text)
    {
        if (route.IsVisible())
        {
            string chunk = text.ToString();
            if (_messageId is null)
            {
                _messageId = _turn.NextMessageId();
                // Without a separator a preamble and the final answer run together.
                if (_turn.VisibleTextSent)
                {
                    chunk = "\n\n" + chunk;
                }
            }

            _turn.VisibleTextSent = true;
            _shown.Append(text);
            _updates.Add(new AgentMessageChunk(new TextContent(chunk)) { MessageId = _messageId });
        }
        else if (route == HarmonyRoute.Analysis && _display == ReasoningDisplay.Full)
        {
            _thoughtId ??= _turn.NextMessageId();
            _updates.Add(new AgentThoughtChunk(new TextContent(text.ToString())) { MessageId = _thoughtId });
        }
    }

    void IHarmonyStreamListener.OnMessageCompleted(in HarmonyCompletedMessage message)
    {
        _completed.Add(new ParsedMessage(message.Header, message.Text.ToString(), message.Terminator));
        _shown.Clear();
    }

    void IHarmonyStreamListener.OnToolCall(in HarmonyToolCall toolCall) =>
        _toolCall = new ParsedToolCall(toolCall.Recipient, toolCall.Channel, toolCall.ContentType, toolCall.Arguments.ToString());

    void IHarmonyStreamListener.OnStopped(HarmonyStopReason reason) => _stop = reason;
}
