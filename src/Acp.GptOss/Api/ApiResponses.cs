using System.Text.Json.Serialization;

namespace Acp.GptOss.Api;

// OpenAI's response shapes, field for field; written by ApiJsonContext (snake_case, nulls left out unless marked).

internal sealed record ApiErrorBody(ApiErrorDetail Error);

internal sealed record ApiErrorDetail(
    string Message,
    string Type,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Param,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Code);

internal sealed record ModelList(IReadOnlyList<ModelEntry> Data)
{
    public string Object { get; init; } = "list";
}

/// <param name="Id">What a request names in <c>model</c>.</param>
/// <param name="Created">Unix seconds: the model file's time.</param>
/// <param name="State">notLoaded, loading, ready or error for the model served; available for one found on disk and not served.</param>
/// <param name="Path">The GGUF file, where there is one.</param>
internal sealed record ModelEntry(string Id, long Created, string State, string? Path)
{
    public string Object { get; init; } = "model";

    public string OwnedBy { get; init; } = "acp-gptoss";

    /// <summary>Other names a request may use for it (the file's name without .gguf).</summary>
    public IReadOnlyList<string>? Aliases { get; init; }

    /// <summary>Why it failed to load, in the error state.</summary>
    public string? Error { get; init; }

    /// <summary>How far its load is, 0 to 1, while loading.</summary>
    public double? LoadProgress { get; init; }
}

internal sealed record UsageBody(int PromptTokens, int CompletionTokens, int TotalTokens);

internal sealed record FunctionCallBody(string Name, string Arguments);

internal sealed record ToolCallBody(string Id, FunctionCallBody Function)
{
    /// <summary>The call's place in the message; streamed deltas need it.</summary>
    public int? Index { get; init; }

    public string Type { get; init; } = "function";
}

internal sealed record ChatMessageBody([property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? Content)
{
    public string Role { get; init; } = "assistant";

    /// <summary>The analysis channel, llama-server's field for it; never in <see cref="Content"/>.</summary>
    public string? ReasoningContent { get; init; }

    public IReadOnlyList<ToolCallBody>? ToolCalls { get; init; }
}

internal sealed record ChatChoice(int Index, ChatMessageBody Message, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record ChatCompletionBody(string Id, long Created, string Model, IReadOnlyList<ChatChoice> Choices, UsageBody Usage)
{
    public string Object { get; init; } = "chat.completion";
}

internal sealed record ChunkDelta
{
    public string? Role { get; init; }

    public string? Content { get; init; }

    public string? ReasoningContent { get; init; }

    public IReadOnlyList<ToolCallBody>? ToolCalls { get; init; }
}

internal sealed record ChunkChoice(int Index, ChunkDelta Delta, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason);

internal sealed record ChatCompletionChunk(string Id, long Created, string Model, IReadOnlyList<ChunkChoice> Choices)
{
    public string Object { get; init; } = "chat.completion.chunk";

    /// <summary>Only on the last chunk, whose choices are empty, when the request asked (<c>stream_options.include_usage</c>).</summary>
    public UsageBody? Usage { get; init; }
}

internal sealed record TextChoice(
    string Text, int Index, [property: JsonIgnore(Condition = JsonIgnoreCondition.Never)] string? FinishReason)
{
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? Logprobs { get; init; }
}

internal sealed record TextCompletionBody(string Id, long Created, string Model, IReadOnlyList<TextChoice> Choices)
{
    public string Object { get; init; } = "text_completion";

    public UsageBody? Usage { get; init; }
}
