using Harmony.Conversations;

namespace Acp.GptOss.Sessions;

/// <summary>A Harmony history message as the journal keeps it.</summary>
/// <param name="Role"><c>user</c>, <c>assistant</c> or <c>tool</c>.</param>
/// <param name="Content">Its text.</param>
internal sealed record JournalMessage(string Role, string Content)
{
    /// <summary><c>analysis</c>, <c>commentary</c> or <c>final</c>.</summary>
    public string? Channel { get; init; }

    /// <summary>The tool a call addresses.</summary>
    public string? Recipient { get; init; }

    /// <summary>The tool a result comes from.</summary>
    public string? Author { get; init; }

    /// <summary>A call's content type as written.</summary>
    public string? ContentType { get; init; }

    public static JournalMessage From(HarmonyMessage message) => new(message.Role.ToString().ToLowerInvariant(), message.Content)
    {
        Channel = message.Channel?.ToString().ToLowerInvariant(),
        Recipient = message.Recipient,
        Author = message.Author,
        ContentType = message.ContentType,
    };

    /// <summary>The message again; null when the record is not one this version understands.</summary>
    public HarmonyMessage? ToHarmony()
    {
        HarmonyChannel channel = Channel switch
        {
            "analysis" => HarmonyChannel.Analysis,
            "final" => HarmonyChannel.Final,
            _ => HarmonyChannel.Commentary,
        };
        return Role switch
        {
            "user" => HarmonyMessage.User(Content),
            "assistant" when Recipient is { Length: > 0 } recipient => HarmonyMessage.ToolCall(recipient, Content, channel, ContentType),
            "assistant" => HarmonyMessage.Assistant(channel, Content),
            "tool" when Author is { Length: > 0 } author => HarmonyMessage.ToolResult(author, Content, channel),
            _ => null,
        };
    }
}
