using System.Globalization;
using System.Text.Json;

namespace Harmony.Conversations;

/// <summary>
/// Reads a conversation from our JSON file format (<c>schemas/harmony-conversation.schema.json</c>), used by
/// <c>acp-gptoss harmony render</c> and the render goldens.
/// </summary>
public static class HarmonyConversationJson
{
    private static readonly JsonDocumentOptions s_options = new() { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true };

    /// <summary>Parses a conversation.</summary>
    /// <exception cref="FormatException">The JSON is malformed or does not describe a conversation; the message says where.</exception>
    public static HarmonyConversation Parse(ReadOnlyMemory<byte> utf8Json)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(utf8Json, s_options);
        }
        catch (JsonException e)
        {
            throw new FormatException($"Not valid JSON: {e.Message}", e);
        }

        using (document)
        {
            JsonElement root = document.RootElement;
            ExpectObject(root, "$", ["system", "developer", "messages", "$schema"]);
            var system = root.TryGetProperty("system", out JsonElement s) ? ReadSystem(s) : new HarmonySystemContent();
            HarmonyDeveloperContent? developer = root.TryGetProperty("developer", out JsonElement d) && d.ValueKind != JsonValueKind.Null
                ? ReadDeveloper(d)
                : null;
            if (!root.TryGetProperty("messages", out JsonElement messages) || messages.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("$.messages: an array of messages is required.");
            }

            var list = new List<HarmonyMessage>();
            int index = 0;
            foreach (JsonElement message in messages.EnumerateArray())
            {
                list.Add(ReadMessage(message, $"$.messages[{index++}]"));
            }

            return new HarmonyConversation(system, developer, list);
        }
    }

    private static HarmonySystemContent ReadSystem(JsonElement element)
    {
        ExpectObject(element, "$.system", ["modelIdentity", "knowledgeCutoff", "currentDate", "reasoningEffort"]);
        var system = new HarmonySystemContent();
        if (element.TryGetProperty("modelIdentity", out JsonElement identity))
        {
            system = system with { ModelIdentity = RequiredString(identity, "$.system.modelIdentity") };
        }

        if (element.TryGetProperty("knowledgeCutoff", out JsonElement cutoff))
        {
            system = system with { KnowledgeCutoff = OptionalString(cutoff, "$.system.knowledgeCutoff") };
        }

        if (element.TryGetProperty("currentDate", out JsonElement date))
        {
            string? text = OptionalString(date, "$.system.currentDate");
            if (text is not null && !DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _))
            {
                throw new FormatException($"$.system.currentDate: expected a date as YYYY-MM-DD, got \"{text}\".");
            }

            system = system with { CurrentDate = text is null ? null : DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture) };
        }

        if (element.TryGetProperty("reasoningEffort", out JsonElement effort))
        {
            system = system with
            {
                ReasoningEffort = RequiredString(effort, "$.system.reasoningEffort") switch
                {
                    "low" => ReasoningEffort.Low,
                    "medium" => ReasoningEffort.Medium,
                    "high" => ReasoningEffort.High,
                    var other => throw new FormatException($"$.system.reasoningEffort: expected low, medium or high, got \"{other}\"."),
                },
            };
        }

        return system;
    }

    private static HarmonyDeveloperContent ReadDeveloper(JsonElement element)
    {
        ExpectObject(element, "$.developer", ["instructions", "tools"]);
        string? instructions = element.TryGetProperty("instructions", out JsonElement i) ? OptionalString(i, "$.developer.instructions") : null;
        var tools = new List<HarmonyFunctionTool>();
        if (element.TryGetProperty("tools", out JsonElement array))
        {
            if (array.ValueKind != JsonValueKind.Array)
            {
                throw new FormatException("$.developer.tools: expected an array.");
            }

            int index = 0;
            foreach (JsonElement tool in array.EnumerateArray())
            {
                string path = $"$.developer.tools[{index++}]";
                ExpectObject(tool, path, ["name", "description", "parameters"]);
                string name = tool.TryGetProperty("name", out JsonElement n) ? RequiredString(n, path + ".name") : throw new FormatException($"{path}.name is required.");
                string description = tool.TryGetProperty("description", out JsonElement desc) ? OptionalString(desc, path + ".description") ?? "" : "";
                JsonElement? parameters = null;
                if (tool.TryGetProperty("parameters", out JsonElement p) && p.ValueKind != JsonValueKind.Null)
                {
                    parameters = p.ValueKind == JsonValueKind.Object ? p.Clone() : throw new FormatException($"{path}.parameters: expected a JSON Schema object.");
                }

                tools.Add(new HarmonyFunctionTool(name, description, parameters));
            }
        }

        return new HarmonyDeveloperContent(instructions, tools);
    }

    private static HarmonyMessage ReadMessage(JsonElement element, string path)
    {
        ExpectObject(element, path, ["role", "content", "channel", "recipient", "contentType", "author"]);
        string role = element.TryGetProperty("role", out JsonElement r) ? RequiredString(r, path + ".role") : throw new FormatException($"{path}.role is required.");
        string content = element.TryGetProperty("content", out JsonElement c) ? RequiredString(c, path + ".content") : throw new FormatException($"{path}.content is required.");
        HarmonyChannel? channel = element.TryGetProperty("channel", out JsonElement ch) ? ReadChannel(ch, path + ".channel") : null;
        string? recipient = element.TryGetProperty("recipient", out JsonElement to) ? OptionalString(to, path + ".recipient") : null;
        string? contentType = element.TryGetProperty("contentType", out JsonElement ct) ? OptionalString(ct, path + ".contentType") : null;
        string? author = element.TryGetProperty("author", out JsonElement a) ? OptionalString(a, path + ".author") : null;
        switch (role)
        {
            case "user":
                RejectFields(path, "a user message", (channel, "channel"), (recipient, "recipient"), (contentType, "contentType"), (author, "author"));
                return HarmonyMessage.User(content);
            case "assistant":
                RejectFields(path, "an assistant message", (author, "author"));
                if (channel is null)
                {
                    throw new FormatException($"{path}.channel is required for an assistant message (analysis, commentary or final).");
                }

                if (recipient is null)
                {
                    RejectFields(path, "an assistant message without a recipient", (contentType, "contentType"));
                    return HarmonyMessage.Assistant(channel.Value, content);
                }

                return string.IsNullOrWhiteSpace(recipient)
                    ? throw new FormatException($"{path}.recipient must not be empty.")
                    : HarmonyMessage.ToolCall(recipient, content, channel.Value, contentType);
            case "tool":
                RejectFields(path, "a tool message", (recipient, "recipient"), (contentType, "contentType"));
                return string.IsNullOrWhiteSpace(author)
                    ? throw new FormatException($"{path}.author is required for a tool message (the tool's name, such as functions.read_file).")
                    : HarmonyMessage.ToolResult(author, content, channel ?? HarmonyChannel.Commentary);
            default:
                throw new FormatException($"{path}.role: expected user, assistant or tool, got \"{role}\".");
        }
    }

    private static HarmonyChannel? ReadChannel(JsonElement element, string path) => OptionalString(element, path) switch
    {
        null => null,
        "analysis" => HarmonyChannel.Analysis,
        "commentary" => HarmonyChannel.Commentary,
        "final" => HarmonyChannel.Final,
        var other => throw new FormatException($"{path}: expected analysis, commentary or final, got \"{other}\"."),
    };

    private static void ExpectObject(JsonElement element, string path, ReadOnlySpan<string> known)
    {
        if (element.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"{path}: expected an object, got {element.ValueKind}.");
        }

        foreach (JsonProperty property in element.EnumerateObject())
        {
            if (!known.Contains(property.Name))
            {
                throw new FormatException($"{path}.{property.Name}: unknown property; expected one of {string.Join(", ", known.ToArray())}.");
            }
        }
    }

    private static void RejectFields(string path, string what, params ReadOnlySpan<(object? Value, string Name)> fields)
    {
        foreach ((object? value, string name) in fields)
        {
            if (value is not null)
            {
                throw new FormatException($"{path}.{name} does not belong in {what}.");
            }
        }
    }

    private static string RequiredString(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.String ? element.GetString()! : throw new FormatException($"{path}: expected a string, got {element.ValueKind}.");

    private static string? OptionalString(JsonElement element, string path) =>
        element.ValueKind == JsonValueKind.Null ? null : RequiredString(element, path);
}
