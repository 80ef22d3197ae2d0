namespace Harmony.Parsing;

/// <summary>Where a message's content goes, decided once its header is complete (docs/harmony.md §4.4).</summary>
public enum HarmonyRoute
{
    /// <summary>The answer, or text with no channel at all: shown.</summary>
    Final,

    /// <summary>A preamble for the user: shown.</summary>
    Commentary,

    /// <summary>Raw reasoning: never shown as message text.</summary>
    Analysis,

    /// <summary>A message with a recipient, on any channel: its content is the tool's arguments.</summary>
    Tool,

    /// <summary>The model wrote as another author, such as a fake tool result: never shown.</summary>
    Foreign,

    /// <summary>A channel that is none of the three (<c>finalx</c>, <c>??</c>, empty): held back, shown only if it ends the turn.</summary>
    Unknown,
}

/// <summary>How a message ended.</summary>
public enum HarmonyTerminator
{
    /// <summary><c>&lt;|end|&gt;</c>: more messages may follow.</summary>
    End,

    /// <summary><c>&lt;|return|&gt;</c>: the completion is over.</summary>
    Return,

    /// <summary><c>&lt;|call|&gt;</c>: a tool call ends the completion.</summary>
    Call,

    /// <summary><c>&lt;|endoftext|&gt;</c>: generation is over.</summary>
    EndOfText,

    /// <summary>A new header began without <c>&lt;|end|&gt;</c>.</summary>
    Implicit,

    /// <summary>The stream ended inside the message (token budget or context full).</summary>
    Truncated,
}

/// <summary>Why the parser stopped; the prompt turn's stop reason follows from it.</summary>
public enum HarmonyStopReason
{
    /// <summary>The model finished its answer.</summary>
    EndTurn,

    /// <summary>The model called a tool; sampling must stop so the agent can answer it.</summary>
    ToolCall,

    /// <summary>The stream ended without a terminator.</summary>
    MaxTokens,

    /// <summary>The turn was cancelled.</summary>
    Cancelled,
}

/// <summary>Something malformed the parser tolerated. Never an error: each is worth a log line at most.</summary>
public enum HarmonyDiagnostic
{
    /// <summary>A header held words that are neither channel, recipient nor content type; they were ignored.</summary>
    HeaderWordsIgnored,

    /// <summary>A header ran past 64 tokens without <c>&lt;|message|&gt;</c>; its text became content.</summary>
    HeaderTooLong,

    /// <summary>A terminator arrived in a header; the header's text became the message.</summary>
    HeaderWithoutMessage,

    /// <summary>A message ended without <c>&lt;|end|&gt;</c> because a new header began.</summary>
    MissingEnd,

    /// <summary>A special token with no place at that point was dropped.</summary>
    TokenDropped,

    /// <summary>The model wrote a message as another author, such as a tool result of its own; it is never shown.</summary>
    ForeignAuthor,

    /// <summary>A message on an unknown channel; its text is held back unless it ends the turn.</summary>
    UnknownChannel,

    /// <summary><c>&lt;|call|&gt;</c> ended a message that had no recipient.</summary>
    CallWithoutRecipient,

    /// <summary>Tokens arrived after the parser had stopped; they were ignored.</summary>
    TokenAfterStop,
}

/// <summary>Extensions of <see cref="HarmonyRoute"/>.</summary>
public static class HarmonyRouteExtensions
{
    /// <summary>Whether text on this route is meant for the user.</summary>
    public static bool IsVisible(this HarmonyRoute route) => route is HarmonyRoute.Final or HarmonyRoute.Commentary;
}

/// <summary>A parsed message header.</summary>
/// <param name="Author">Who wrote it: <c>assistant</c>, or a tool name when the model impersonates one.</param>
/// <param name="Channel">The channel word as written (the last one wins), or null when the header had none.</param>
/// <param name="Recipient">The tool addressed, such as <c>functions.read_file</c>, or null.</param>
/// <param name="ContentType">The content type as written: <c>&lt;|constrain|&gt;json</c>, <c>json</c>, <c>code</c> or null.</param>
/// <param name="Route">Where the content goes.</param>
public readonly record struct HarmonyHeader(string Author, string? Channel, string? Recipient, string? ContentType, HarmonyRoute Route);

/// <summary>A message the parser completed. <see cref="Text"/> is only valid during the callback.</summary>
public readonly ref struct HarmonyCompletedMessage
{
    /// <summary>Creates the event.</summary>
    public HarmonyCompletedMessage(HarmonyHeader header, ReadOnlySpan<char> text, HarmonyTerminator terminator)
    {
        Header = header;
        Text = text;
        Terminator = terminator;
    }

    /// <summary>The header.</summary>
    public HarmonyHeader Header { get; }

    /// <summary>The whole decoded content.</summary>
    public ReadOnlySpan<char> Text { get; }

    /// <summary>How it ended.</summary>
    public HarmonyTerminator Terminator { get; }
}

/// <summary>A tool call the model made. <see cref="Arguments"/> is only valid during the callback.</summary>
public readonly ref struct HarmonyToolCall
{
    /// <summary>Creates the event.</summary>
    public HarmonyToolCall(string recipient, string? channel, string? contentType, ReadOnlySpan<char> arguments)
    {
        Recipient = recipient;
        Channel = channel;
        ContentType = contentType;
        Arguments = arguments;
    }

    /// <summary>The tool addressed, such as <c>functions.read_file</c>.</summary>
    public string Recipient { get; }

    /// <summary>The channel it was called on.</summary>
    public string? Channel { get; }

    /// <summary>The content type as written, or null.</summary>
    public string? ContentType { get; }

    /// <summary>The raw argument text; not necessarily JSON.</summary>
    public ReadOnlySpan<char> Arguments { get; }
}
