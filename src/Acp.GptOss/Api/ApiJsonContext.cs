using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.GptOss.Api;

/// <summary>The API's JSON, source-generated (the agent is published NativeAOT).</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ApiErrorBody))]
[JsonSerializable(typeof(ModelList))]
[JsonSerializable(typeof(ChatCompletionBody))]
[JsonSerializable(typeof(ChatCompletionChunk))]
[JsonSerializable(typeof(TextCompletionBody))]
internal sealed partial class ApiJsonContext : JsonSerializerContext
{
    /// <summary>
    /// What the API writes with: the same settings, escaping only what JSON requires, so that the JSON a tool call's
    /// arguments hold reads as written (<c>{"city":"Paris"}</c>, not <c>\u0022</c>). Bodies are JSON or event streams, never HTML.
    /// </summary>
    public static ApiJsonContext Wire { get; } = new(new JsonSerializerOptions
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping,
    });
}
