using System.Globalization;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Completions;
using Harmony.Conversations;

namespace Acp.GptOss.Api;

/// <summary>
/// Reads OpenAI's request bodies into <see cref="CompletionRequest"/>s, with a 400 that names the field for anything
/// wrong (<see cref="ApiException"/>). Fields this server cannot honour but that change nothing for a single answer
/// (<c>user</c>, <c>metadata</c>, <c>parallel_tool_calls</c>, ...) are ignored; ones that would (<c>n</c> above 1) are refused.
/// </summary>
/// <remarks>
/// Messages map to Harmony as docs/api.md says: system and developer messages become the developer message's
/// instructions; an assistant's <c>reasoning_content</c> its analysis message, its <c>content</c> a final answer (a
/// preamble when it also calls tools), its <c>tool_calls</c> Harmony calls to <c>functions.NAME</c>; a tool message the
/// result of the call its <c>tool_call_id</c> names.
/// </remarks>
internal static class CompletionRequestReader
{
    private const int MaxStops = 4;

    public static CompletionRequest ReadChat(ReadOnlyMemory<byte> body, ApiOptions options)
    {
        using JsonDocument document = Parse(body);
        JsonElement root = document.RootElement;
        string model = RequiredString(root, "model");
        RefuseSeveralChoices(root);

        List<HarmonyFunctionTool> tools = ReadTools(root);
        if (Optional(root, "tool_choice") is { } choice && choice.ValueKind == JsonValueKind.String && choice.GetString() == "none")
        {
            // The model cannot call what it is not shown.
            tools = [];
        }

        var effort = ReasoningEffort.Medium;
        if (OptionalString(root, "reasoning_effort") is { } effortName)
        {
            // OpenAI's "minimal" is the least Harmony has.
            if (!ReasoningEfforts.TryParse(effortName == "minimal" ? "low" : effortName, out effort))
            {
                throw ApiException.Field("reasoning_effort", $"reasoning_effort must be {ReasoningEfforts.Names}, not \"{effortName}\".");
            }
        }

        var instructions = new List<string>();
        List<HarmonyMessage> messages = ReadMessages(root, tools, instructions);
        string? developerText = instructions.Count > 0 ? string.Join("\n\n", instructions) : null;
        var conversation = new HarmonyConversation(
            new HarmonySystemContent { ReasoningEffort = effort, CurrentDate = options.Today() },
            developerText is null && tools.Count == 0 ? null : new HarmonyDeveloperContent(developerText, tools),
            messages);
        (bool stream, bool includeUsage) = ReadStream(root);
        return new CompletionRequest(model, conversation, null, ReadOptions(root, options), stream, includeUsage);
    }

    public static CompletionRequest ReadText(ReadOnlyMemory<byte> body, ApiOptions options)
    {
        using JsonDocument document = Parse(body);
        JsonElement root = document.RootElement;
        string model = RequiredString(root, "model");
        RefuseSeveralChoices(root);
        JsonElement prompt = Optional(root, "prompt") ?? throw ApiException.Field("prompt", "prompt is required.");
        string text = prompt.ValueKind switch
        {
            JsonValueKind.String => prompt.GetString()!,
            JsonValueKind.Array when prompt.GetArrayLength() == 1 && prompt[0].ValueKind == JsonValueKind.String => prompt[0].GetString()!,
            _ => throw ApiException.Field("prompt", "prompt must be a string (or an array of exactly one string): token ids and batches of prompts are not supported."),
        };
        if (text.Length == 0)
        {
            throw ApiException.Field("prompt", "prompt is empty.");
        }

        (bool stream, bool includeUsage) = ReadStream(root);
        return new CompletionRequest(model, null, text, ReadOptions(root, options), stream, includeUsage);
    }

    private static JsonDocument Parse(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 128 });
        }
        catch (JsonException e)
        {
            throw new ApiException($"The body is not valid JSON: {e.Message}");
        }

        if (document.RootElement.ValueKind != JsonValueKind.Object)
        {
            document.Dispose();
            throw new ApiException("The body must be a JSON object.");
        }

        return document;
    }

    private static void RefuseSeveralChoices(JsonElement root)
    {
        if (Optional(root, "n") is { } n && !(n.ValueKind == JsonValueKind.Number && n.TryGetInt32(out int count) && count == 1))
        {
            throw ApiException.Field("n", "n must be 1: this server answers with one choice.");
        }
    }

    private static (bool Stream, bool IncludeUsage) ReadStream(JsonElement root)
    {
        bool stream = OptionalBool(root, "stream") ?? false;
        bool includeUsage = false;
        if (Optional(root, "stream_options") is { } streamOptions)
        {
            if (streamOptions.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.Field("stream_options", "stream_options must be an object.");
            }

            includeUsage = OptionalBool(streamOptions, "include_usage", "stream_options.include_usage") ?? false;
        }

        return (stream, includeUsage);
    }

    private static CompletionOptions ReadOptions(JsonElement root, ApiOptions options)
    {
        int? maxTokens = OptionalPositiveInt(root, "max_completion_tokens") ?? OptionalPositiveInt(root, "max_tokens");
        float? temperature = OptionalNumber(root, "temperature");
        if (temperature is < 0 or > 2)
        {
            throw ApiException.Field("temperature", "temperature must be between 0 and 2.");
        }

        float? topP = OptionalNumber(root, "top_p");
        if (topP is <= 0 or > 1)
        {
            throw ApiException.Field("top_p", "top_p must be above 0 and at most 1.");
        }

        uint? seed = null;
        if (Optional(root, "seed") is { } seedValue)
        {
            // OpenAI takes any 64-bit integer; llama.cpp's seed is 32 bits: the low ones are used.
            seed = seedValue.ValueKind == JsonValueKind.Number && seedValue.TryGetInt64(out long s)
                ? unchecked((uint)s)
                : throw ApiException.Field("seed", "seed must be an integer.");
        }

        return new CompletionOptions
        {
            MaxTokens = maxTokens ?? options.DefaultMaxTokens,
            StopSequences = ReadStops(root),
            Temperature = temperature,
            TopP = topP,
            Seed = seed,
        };
    }

    private static string[] ReadStops(JsonElement root)
    {
        if (Optional(root, "stop") is not { } stop)
        {
            return [];
        }

        string[] stops = stop.ValueKind switch
        {
            JsonValueKind.String => [stop.GetString()!],
            JsonValueKind.Array when stop.EnumerateArray().All(s => s.ValueKind == JsonValueKind.String) => [.. stop.EnumerateArray().Select(s => s.GetString()!)],
            _ => throw ApiException.Field("stop", "stop must be a string or an array of strings."),
        };
        return stops.Length > MaxStops
            ? throw ApiException.Field("stop", $"stop takes at most {MaxStops} sequences.")
            : stops.Any(s => s.Length == 0) ? throw ApiException.Field("stop", "A stop sequence must not be empty.") : stops;
    }

    private static List<HarmonyFunctionTool> ReadTools(JsonElement root)
    {
        var tools = new List<HarmonyFunctionTool>();
        if (Optional(root, "tools") is not { } array)
        {
            return tools;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.Field("tools", "tools must be an array.");
        }

        int i = 0;
        foreach (JsonElement tool in array.EnumerateArray())
        {
            string at = $"tools[{i++}]";
            if (tool.ValueKind != JsonValueKind.Object || OptionalString(tool, "type", $"{at}.type") != "function")
            {
                throw ApiException.Field($"{at}.type", "Only tools of type \"function\" are supported.");
            }

            JsonElement function = Optional(tool, "function") is { ValueKind: JsonValueKind.Object } f
                ? f
                : throw ApiException.Field($"{at}.function", "A function tool needs a function object.");
            string name = OptionalString(function, "name", $"{at}.function.name") is { Length: > 0 } n
                ? n
                : throw ApiException.Field($"{at}.function.name", "A function needs a name.");
            string description = OptionalString(function, "description", $"{at}.function.description") ?? "";
            JsonElement? parameters = null;
            if (Optional(function, "parameters") is { } schema)
            {
                parameters = schema.ValueKind == JsonValueKind.Object
                    ? schema.Clone()
                    : throw ApiException.Field($"{at}.function.parameters", "parameters must be a JSON Schema object.");
            }

            tools.Add(new HarmonyFunctionTool(name, description, parameters));
        }

        return tools;
    }

    private static List<HarmonyMessage> ReadMessages(JsonElement root, IReadOnlyList<HarmonyFunctionTool> tools, List<string> instructions)
    {
        JsonElement array = Optional(root, "messages") is { ValueKind: JsonValueKind.Array } m && m.GetArrayLength() > 0
            ? m
            : throw ApiException.Field("messages", "messages must be a non-empty array.");
        var names = new ToolNameMap(tools);
        // Tool results name their call by id; the call named the function.
        var calls = new Dictionary<string, string>(StringComparer.Ordinal);
        var messages = new List<HarmonyMessage>();
        int i = 0;
        foreach (JsonElement message in array.EnumerateArray())
        {
            string at = $"messages[{i++}]";
            if (message.ValueKind != JsonValueKind.Object)
            {
                throw ApiException.Field(at, "A message must be an object.");
            }

            string role = OptionalString(message, "role", $"{at}.role") ?? throw ApiException.Field($"{at}.role", "A message needs a role.");
            switch (role)
            {
                case "system" or "developer":
                    instructions.Add(Text(message, at, required: true)!);
                    break;
                case "user":
                    messages.Add(HarmonyMessage.User(Text(message, at, required: true)!));
                    break;
                case "assistant":
                    ReadAssistant(message, at, names, calls, messages);
                    break;
                case "tool":
                    string id = OptionalString(message, "tool_call_id", $"{at}.tool_call_id")
                        ?? throw ApiException.Field($"{at}.tool_call_id", "A tool message needs the tool_call_id of the call it answers.");
                    string recipient = calls.TryGetValue(id, out string? called)
                        ? called
                        : throw ApiException.Field($"{at}.tool_call_id", $"No assistant message before it made a tool call with id \"{id}\".");
                    messages.Add(HarmonyMessage.ToolResult(recipient, Text(message, at, required: false) ?? ""));
                    break;
                default:
                    throw ApiException.Field($"{at}.role", $"Unknown role \"{role}\": use system, developer, user, assistant or tool.");
            }
        }

        return messages;
    }

    private static void ReadAssistant(JsonElement message, string at, ToolNameMap names, Dictionary<string, string> calls, List<HarmonyMessage> messages)
    {
        if (OptionalString(message, "reasoning_content", $"{at}.reasoning_content") is { Length: > 0 } reasoning)
        {
            messages.Add(HarmonyMessage.Assistant(HarmonyChannel.Analysis, reasoning));
        }

        string? content = Text(message, at, required: false);
        JsonElement? toolCalls = Optional(message, "tool_calls");
        bool calling = toolCalls is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() > 0;
        if (!string.IsNullOrEmpty(content))
        {
            // Text beside a call is a preamble, which Harmony writes on the commentary channel.
            messages.Add(HarmonyMessage.Assistant(calling ? HarmonyChannel.Commentary : HarmonyChannel.Final, content));
        }

        if (toolCalls is not { } array)
        {
            return;
        }

        if (array.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.Field($"{at}.tool_calls", "tool_calls must be an array.");
        }

        int j = 0;
        foreach (JsonElement call in array.EnumerateArray())
        {
            string callAt = $"{at}.tool_calls[{j++}]";
            JsonElement function = call.ValueKind == JsonValueKind.Object && Optional(call, "function") is { ValueKind: JsonValueKind.Object } f
                ? f
                : throw ApiException.Field($"{callAt}.function", "A tool call needs a function object.");
            string name = OptionalString(function, "name", $"{callAt}.function.name") is { Length: > 0 } n
                ? n
                : throw ApiException.Field($"{callAt}.function.name", "A tool call needs the function's name.");
            string arguments = OptionalString(function, "arguments", $"{callAt}.function.arguments") ?? "{}";
            string recipient = names.Recipient(name);
            if (OptionalString(call, "id", $"{callAt}.id") is { } id)
            {
                calls[id] = recipient;
            }

            messages.Add(HarmonyMessage.ToolCall(recipient, arguments));
        }
    }

    /// <summary>A message's content: a string, or an array of text parts joined; null or absent only when not required.</summary>
    private static string? Text(JsonElement message, string at, bool required)
    {
        JsonElement? content = Optional(message, "content");
        if (content is null)
        {
            return required ? throw ApiException.Field($"{at}.content", "This message needs content.") : null;
        }

        JsonElement value = content.Value;
        if (value.ValueKind == JsonValueKind.String)
        {
            return value.GetString();
        }

        if (value.ValueKind != JsonValueKind.Array)
        {
            throw ApiException.Field($"{at}.content", "content must be a string or an array of text parts.");
        }

        var text = new StringBuilder();
        int k = 0;
        foreach (JsonElement part in value.EnumerateArray())
        {
            string partAt = $"{at}.content[{k++}]";
            if (part.ValueKind != JsonValueKind.Object || OptionalString(part, "type", $"{partAt}.type") != "text")
            {
                throw ApiException.Field($"{partAt}.type", "Only text content parts are supported (GPT-OSS reads text).");
            }

            text.Append(OptionalString(part, "text", $"{partAt}.text") ?? throw ApiException.Field($"{partAt}.text", "A text part needs text."));
        }

        return text.ToString();
    }

    /// <summary>The property, or null when absent or JSON null.</summary>
    private static JsonElement? Optional(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;

    private static string RequiredString(JsonElement element, string name) =>
        OptionalString(element, name) is { Length: > 0 } value ? value : throw ApiException.Field(name, $"{name} is required.");

    private static string? OptionalString(JsonElement element, string name, string? param = null) => Optional(element, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw ApiException.Field(param ?? name, $"{param ?? name} must be a string."),
    };

    private static bool? OptionalBool(JsonElement element, string name, string? param = null) => Optional(element, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        _ => throw ApiException.Field(param ?? name, $"{param ?? name} must be true or false."),
    };

    private static float? OptionalNumber(JsonElement element, string name) => Optional(element, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value => (float)value.GetDouble(),
        _ => throw ApiException.Field(name, $"{name} must be a number."),
    };

    private static int? OptionalPositiveInt(JsonElement element, string name) => Optional(element, name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out int n) && n >= 1 => n,
        _ => throw ApiException.Field(name, string.Create(CultureInfo.InvariantCulture, $"{name} must be a whole number of at least 1.")),
    };
}
