using System.Globalization;
using Harmony.Conversations;

namespace Harmony.Rendering;

/// <summary>Renders a conversation for completion (docs/harmony.md §3).</summary>
internal static class ConversationRenderer
{
    private const string ChannelsLine = "# Valid channels: analysis, commentary, final. Channel must be included for every message.";
    private const string FunctionsChannelLine = "Calls to these tools must go to the commentary channel: 'functions'.";

    public static void RenderForCompletion(HarmonyConversation conversation, PromptWriter writer)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        RenderMessages(conversation, writer, CurrentTurnStart(conversation.Messages));
        writer.Special(writer.SpecialTokens.Start);
        writer.Text("assistant");
    }

    // What every later prompt begins with once the user speaks again: no reasoning survives that (§3.4), and no
    // completion header follows yet.
    public static void RenderHistory(HarmonyConversation conversation, PromptWriter writer)
    {
        ArgumentNullException.ThrowIfNull(conversation);
        RenderMessages(conversation, writer, conversation.Messages.Count);
    }

    private static void RenderMessages(HarmonyConversation conversation, PromptWriter writer, int keepAnalysisFrom)
    {
        HarmonyDeveloperContent? developer = conversation.Developer;
        bool hasFunctions = developer is { Tools.Count: > 0 };

        WriteMessage(writer, "system", SystemText(conversation.System, hasFunctions));
        if (developer is not null && (!string.IsNullOrEmpty(developer.Instructions) || hasFunctions))
        {
            WriteMessage(writer, "developer", DeveloperText(developer));
        }

        IReadOnlyList<HarmonyMessage> messages = conversation.Messages;
        for (int i = 0; i < messages.Count; i++)
        {
            HarmonyMessage message = messages[i];
            if (i < keepAnalysisFrom && message is { Role: HarmonyRole.Assistant, Channel: HarmonyChannel.Analysis })
            {
                continue;
            }

            RenderMessage(message, writer);
        }
    }

    public static void RenderMessage(HarmonyMessage message, PromptWriter writer)
    {
        HarmonySpecialTokens specials = writer.SpecialTokens;
        writer.Special(specials.Start);
        switch (message.Role)
        {
            case HarmonyRole.User:
                writer.Text("user");
                break;
            case HarmonyRole.Assistant:
                writer.Text("assistant");
                WriteChannel(writer, message.Channel);
                if (message.Recipient is not null)
                {
                    // Channel first, recipient after: the order the model itself writes (docs/harmony.md §3.3).
                    writer.Text(" to=" + message.Recipient);
                }

                WriteContentType(writer, message.ContentType);
                break;
            case HarmonyRole.Tool:
                writer.Text(message.Author + " to=assistant");
                WriteChannel(writer, message.Channel);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(message), message.Role, "Unknown role.");
        }

        writer.Special(specials.Message);
        writer.Text(message.Content);
        // History never holds <|return|>: a stored final ends with <|end|>, a tool call with <|call|>.
        writer.Special(message is { Role: HarmonyRole.Assistant, Recipient: not null } ? specials.Call : specials.End);
    }

    // Analysis survives only in the unfinished turn: the messages after the last user message, unless a final ended it.
    private static int CurrentTurnStart(IReadOnlyList<HarmonyMessage> messages)
    {
        if (messages.Count > 0 && messages[^1] is { Role: HarmonyRole.Assistant, Channel: HarmonyChannel.Final, Recipient: null })
        {
            return messages.Count;
        }

        for (int i = messages.Count - 1; i >= 0; i--)
        {
            if (messages[i].Role == HarmonyRole.User)
            {
                return i + 1;
            }
        }

        return 0;
    }

    private static void WriteMessage(PromptWriter writer, string role, string content)
    {
        writer.Special(writer.SpecialTokens.Start);
        writer.Text(role);
        writer.Special(writer.SpecialTokens.Message);
        writer.Text(content);
        writer.Special(writer.SpecialTokens.End);
    }

    private static void WriteChannel(PromptWriter writer, HarmonyChannel? channel)
    {
        if (channel is { } value)
        {
            writer.Special(writer.SpecialTokens.Channel);
            writer.Text(ChannelName(value));
        }
    }

    private static void WriteContentType(PromptWriter writer, string? contentType)
    {
        const string ConstrainPrefix = "<|constrain|>";
        if (contentType is null)
        {
            return;
        }

        if (contentType.StartsWith(ConstrainPrefix, StringComparison.Ordinal))
        {
            writer.Text(" ");
            writer.Special(writer.SpecialTokens.Constrain);
            if (contentType.Length > ConstrainPrefix.Length)
            {
                writer.Text(contentType[ConstrainPrefix.Length..]);
            }
        }
        else
        {
            writer.Text(" " + contentType);
        }
    }

    private static string SystemText(HarmonySystemContent system, bool hasFunctions)
    {
        var identity = new List<string>(3) { system.ModelIdentity };
        if (system.KnowledgeCutoff is { } cutoff)
        {
            identity.Add("Knowledge cutoff: " + cutoff);
        }

        if (system.CurrentDate is { } date)
        {
            identity.Add("Current date: " + date.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture));
        }

        string reasoning = "Reasoning: " + system.ReasoningEffort switch
        {
            ReasoningEffort.Low => "low",
            ReasoningEffort.High => "high",
            _ => "medium",
        };
        string channels = hasFunctions ? ChannelsLine + "\n" + FunctionsChannelLine : ChannelsLine;
        return string.Join("\n\n", string.Join('\n', identity), reasoning, channels);
    }

    private static string DeveloperText(HarmonyDeveloperContent developer)
    {
        var sections = new List<string>(3);
        if (!string.IsNullOrEmpty(developer.Instructions))
        {
            sections.Add("# Instructions");
            sections.Add(developer.Instructions);
        }

        if (developer.Tools.Count > 0)
        {
            sections.Add("# Tools");
            sections.Add(FunctionsNamespace.Render(developer.Tools));
        }

        return string.Join("\n\n", sections);
    }

    private static string ChannelName(HarmonyChannel channel) => channel switch
    {
        HarmonyChannel.Analysis => "analysis",
        HarmonyChannel.Commentary => "commentary",
        _ => "final",
    };
}
