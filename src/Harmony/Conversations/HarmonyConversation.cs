namespace Harmony.Conversations;

/// <summary>A conversation to render for completion: the system and developer messages, then the chat.</summary>
/// <param name="System">The system message's settings.</param>
/// <param name="Developer">Instructions and function tools; null renders no developer message.</param>
/// <param name="Messages">User, assistant and tool messages in order.</param>
public sealed record HarmonyConversation(
    HarmonySystemContent System,
    HarmonyDeveloperContent? Developer,
    IReadOnlyList<HarmonyMessage> Messages);

/// <summary>How much the model reasons before answering: the system message's <c>Reasoning:</c> line.</summary>
public enum ReasoningEffort
{
    /// <summary>Short reasoning, fast answers.</summary>
    Low,

    /// <summary>The default.</summary>
    Medium,

    /// <summary>Long reasoning.</summary>
    High,
}

/// <summary>The system message (docs/harmony.md §3.1). Always sent: leaving it out makes tool calls worse.</summary>
public sealed record HarmonySystemContent
{
    /// <summary>The identity line the model was trained with; keep it as it is and put personas in the developer message.</summary>
    public const string DefaultModelIdentity = "You are ChatGPT, a large language model trained by OpenAI.";

    /// <summary>The identity line.</summary>
    public string ModelIdentity { get; init; } = DefaultModelIdentity;

    /// <summary>The <c>Knowledge cutoff:</c> value, or null to leave the line out.</summary>
    public string? KnowledgeCutoff { get; init; } = "2024-06";

    /// <summary>The <c>Current date:</c> value, or null to leave the line out.</summary>
    public DateOnly? CurrentDate { get; init; }

    /// <summary>The reasoning effort.</summary>
    public ReasoningEffort ReasoningEffort { get; init; } = ReasoningEffort.Medium;
}

/// <summary>The developer message: the user-facing "system prompt" and the function tools (docs/harmony.md §3.2).</summary>
/// <param name="Instructions">The instructions, or null for none.</param>
/// <param name="Tools">The function tools offered in the <c>functions</c> namespace.</param>
public sealed record HarmonyDeveloperContent(string? Instructions, IReadOnlyList<HarmonyFunctionTool> Tools)
{
    /// <summary>Instructions without tools.</summary>
    public HarmonyDeveloperContent(string instructions)
        : this(instructions, [])
    {
    }
}

/// <summary>A function the model may call as <c>functions.NAME</c>.</summary>
/// <param name="Name">The name as the application knows it; <see cref="Rendering.HarmonyToolNames"/> makes it an identifier.</param>
/// <param name="Description">What the function does, one comment line per line.</param>
/// <param name="Parameters">A JSON Schema object for the arguments, or null for none.</param>
public sealed record HarmonyFunctionTool(string Name, string Description, System.Text.Json.JsonElement? Parameters = null);

/// <summary>Who wrote a message.</summary>
public enum HarmonyRole
{
    /// <summary>The user.</summary>
    User,

    /// <summary>The model.</summary>
    Assistant,

    /// <summary>A tool's result; <see cref="HarmonyMessage.Author"/> names the tool.</summary>
    Tool,
}

/// <summary>The channel of an assistant message.</summary>
public enum HarmonyChannel
{
    /// <summary>Raw reasoning; never shown, dropped from completed turns.</summary>
    Analysis,

    /// <summary>Preambles for the user and tool calls.</summary>
    Commentary,

    /// <summary>The answer.</summary>
    Final,
}

/// <summary>One chat message. Use the factory methods; they enforce what each role needs.</summary>
public sealed record HarmonyMessage
{
    private HarmonyMessage(HarmonyRole role, string content)
    {
        ArgumentNullException.ThrowIfNull(content);
        Role = role;
        Content = content;
    }

    /// <summary>Who wrote it.</summary>
    public HarmonyRole Role { get; }

    /// <summary>The text, always rendered as ordinary tokens.</summary>
    public string Content { get; }

    /// <summary>The tool's name for <see cref="HarmonyRole.Tool"/> messages, such as <c>functions.read_file</c>.</summary>
    public string? Author { get; private init; }

    /// <summary>The channel, for assistant and tool messages.</summary>
    public HarmonyChannel? Channel { get; private init; }

    /// <summary>The tool an assistant message calls, such as <c>functions.read_file</c>.</summary>
    public string? Recipient { get; private init; }

    /// <summary>The content type as written: <c>&lt;|constrain|&gt;json</c>, <c>json</c>, <c>code</c> or null.</summary>
    public string? ContentType { get; private init; }

    /// <summary>A user message.</summary>
    public static HarmonyMessage User(string content) => new(HarmonyRole.User, content);

    /// <summary>An assistant message on <paramref name="channel"/> with no recipient.</summary>
    public static HarmonyMessage Assistant(HarmonyChannel channel, string content) =>
        new(HarmonyRole.Assistant, content) { Channel = channel };

    /// <summary>An assistant tool call; rendered with <c>&lt;|call|&gt;</c>.</summary>
    public static HarmonyMessage ToolCall(
        string recipient, string arguments, HarmonyChannel channel = HarmonyChannel.Commentary, string? contentType = "<|constrain|>json")
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(recipient);
        return new(HarmonyRole.Assistant, arguments) { Channel = channel, Recipient = recipient, ContentType = NullIfEmpty(contentType) };
    }

    /// <summary>A tool's result, addressed back to the assistant on the channel of the call.</summary>
    public static HarmonyMessage ToolResult(string author, string content, HarmonyChannel channel = HarmonyChannel.Commentary)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(author);
        return new(HarmonyRole.Tool, content) { Author = author, Channel = channel };
    }

    private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
}
