using Harmony.Parsing;

namespace Harmony.Tests.Support;

/// <summary>Everything a parser reported, in order, with the checks every test wants.</summary>
internal sealed class RecordingListener : IHarmonyStreamListener
{
    public List<object> Events { get; } = [];

    public List<HarmonyDiagnostic> Diagnostics { get; } = [];

    public List<RecordedMessage> Messages => [.. Events.OfType<RecordedMessage>()];

    public List<RecordedText> Texts => [.. Events.OfType<RecordedText>()];

    public RecordedToolCall? ToolCall => Events.OfType<RecordedToolCall>().SingleOrDefault();

    public HarmonyStopReason? Stop => Events.OfType<HarmonyStopReason>().Cast<HarmonyStopReason?>().SingleOrDefault();

    /// <summary>One entry per message that showed anything, its visible chunks joined.</summary>
    public List<(string Channel, string Text)> Visible
    {
        get
        {
            var visible = new List<(string Channel, string Text)>();
            int message = -1;
            int lastVisibleMessage = -2;
            foreach (object e in Events)
            {
                if (e is HarmonyHeader)
                {
                    message++;
                }
                else if (e is RecordedText text && text.Route.IsVisible())
                {
                    string channel = text.Route == HarmonyRoute.Final ? "final" : "commentary";
                    if (message == lastVisibleMessage && visible[^1].Channel == channel)
                    {
                        visible[^1] = (channel, visible[^1].Text + text.Text);
                    }
                    else
                    {
                        visible.Add((channel, text.Text));
                        lastVisibleMessage = message;
                    }
                }
            }

            return visible;
        }
    }

    public IEnumerable<string> VisibleChunks => Texts.Where(t => t.Route.IsVisible()).Select(t => t.Text);

    public void OnMessageStarted(in HarmonyHeader header) => Events.Add(header);

    public void OnText(HarmonyRoute route, ReadOnlySpan<char> text) => Events.Add(new RecordedText(route, text.ToString()));

    public void OnMessageCompleted(in HarmonyCompletedMessage message) =>
        Events.Add(new RecordedMessage(message.Header, message.Text.ToString(), message.Terminator));

    public void OnToolCall(in HarmonyToolCall toolCall) =>
        Events.Add(new RecordedToolCall(toolCall.Recipient, toolCall.Channel, toolCall.ContentType, toolCall.Arguments.ToString()));

    public void OnStopped(HarmonyStopReason reason) => Events.Add(reason);

    public void OnDiagnostic(HarmonyDiagnostic diagnostic) => Diagnostics.Add(diagnostic);

    /// <summary>Checks what must hold for any input: one stop, last; no empty chunk; no broken surrogate pair.</summary>
    public void AssertWellFormed()
    {
        Assert.Single(Events.OfType<HarmonyStopReason>());
        Assert.IsType<HarmonyStopReason>(Events[^1]);
        foreach (RecordedText text in Texts)
        {
            Assert.NotEmpty(text.Text);
            Assert.True(IsWellFormedUtf16(text.Text), $"Chunk holds a broken surrogate pair: {text.Text}");
        }
    }

    private static bool IsWellFormedUtf16(string text)
    {
        for (int i = 0; i < text.Length; i++)
        {
            if (char.IsHighSurrogate(text[i]))
            {
                if (i + 1 >= text.Length || !char.IsLowSurrogate(text[++i]))
                {
                    return false;
                }
            }
            else if (char.IsLowSurrogate(text[i]))
            {
                return false;
            }
        }

        return true;
    }
}

internal sealed record RecordedText(HarmonyRoute Route, string Text);

internal sealed record RecordedMessage(HarmonyHeader Header, string Text, HarmonyTerminator Terminator);

internal sealed record RecordedToolCall(string Recipient, string? Channel, string? ContentType, string Arguments);
