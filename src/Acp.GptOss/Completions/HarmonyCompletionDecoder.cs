using Harmony;
using Harmony.Conversations;
using Harmony.Parsing;

namespace Acp.GptOss.Completions;

/// <summary>
/// A GPT-OSS completion through <see cref="HarmonyStreamParser"/> (docs/harmony.md §4): analysis text is reasoning;
/// final text and commentary preambles are the answer, a blank line between two messages as the agent writes them
/// (§6.1); a call to a function is a tool call; every other body stays hidden. The answer passes through the
/// caller's stop sequences.
/// </summary>
/// <remarks>Not thread-safe.</remarks>
internal sealed class HarmonyCompletionDecoder : ICompletionDecoder, IHarmonyStreamListener
{
    private readonly HarmonyStreamParser _parser;
    private readonly ToolNameMap _tools;
    private readonly StopSequenceFilter _stops;
    private readonly List<CompletionEvent> _events = [];
    private bool _visibleSent;
    private bool _messageShown;
    private bool _cancelled;
    private HarmonyStopReason? _stop;

    public HarmonyCompletionDecoder(IHarmonyTokenizer tokenizer, IReadOnlyList<HarmonyFunctionTool> tools, IReadOnlyList<string> stopSequences)
    {
        _parser = new HarmonyStreamParser(tokenizer, this);
        _tools = new ToolNameMap(tools);
        _stops = new StopSequenceFilter(stopSequences);
    }

    public bool IsStopped => _stop is not null || _stops.Matched;

    public CompletionFinishReason FinishReason =>
        _cancelled ? CompletionFinishReason.Cancelled
        : _stops.Matched ? CompletionFinishReason.Stop
        : _stop switch
        {
            HarmonyStopReason.ToolCall => CompletionFinishReason.ToolCalls,
            HarmonyStopReason.MaxTokens => CompletionFinishReason.Length,
            HarmonyStopReason.Cancelled => CompletionFinishReason.Cancelled,
            _ => CompletionFinishReason.Stop,
        };

    public void Push(int token)
    {
        if (!IsStopped)
        {
            _parser.Push(token);
        }
    }

    public void Finish()
    {
        if (!_stops.Matched)
        {
            _parser.Finish();
        }
    }

    public void Cancel()
    {
        _cancelled = true;
        _parser.Cancel();
    }

    public void TakeEvents(List<CompletionEvent> events)
    {
        events.AddRange(_events);
        _events.Clear();
    }

    void IHarmonyStreamListener.OnMessageStarted(in HarmonyHeader header) => _messageShown = false;

    void IHarmonyStreamListener.OnText(HarmonyRoute route, ReadOnlySpan<char> text)
    {
        if (_stops.Matched)
        {
            return;
        }

        if (route.IsVisible())
        {
            string chunk = text.ToString();
            if (!_messageShown && _visibleSent)
            {
                // Without a separator a preamble and the answer run together.
                chunk = "\n\n" + chunk;
            }

            _messageShown = true;
            _visibleSent = true;
            Content(_stops.Push(chunk));
        }
        else if (route == HarmonyRoute.Analysis)
        {
            _events.Add(new ReasoningDelta(text.ToString()));
        }
    }

    void IHarmonyStreamListener.OnMessageCompleted(in HarmonyCompletedMessage message)
    {
    }

    void IHarmonyStreamListener.OnToolCall(in HarmonyToolCall toolCall)
    {
        if (_stops.Matched)
        {
            return;
        }

        // Text held back for a stop that never came belongs before the call.
        Content(_stops.Flush());
        string arguments = toolCall.Arguments.Trim().ToString();
        _events.Add(new ToolCallDelta(NewCallId(), _tools.Resolve(toolCall.Recipient), arguments.Length == 0 ? "{}" : arguments));
    }

    void IHarmonyStreamListener.OnStopped(HarmonyStopReason reason)
    {
        _stop = reason;
        if (reason != HarmonyStopReason.Cancelled && !_stops.Matched)
        {
            // The answer is over: text held back for a stop that never came is shown after all.
            Content(_stops.Flush());
        }
    }

    private void Content(string text)
    {
        if (text.Length > 0)
        {
            _events.Add(new ContentDelta(text));
        }
    }

    private static string NewCallId() => "call_" + Guid.NewGuid().ToString("N")[..24];
}
