using System.Text.Json;

namespace Acp.GptOss.Tools;

/// <summary>
/// The arguments of a function call, read leniently where the model is known to slip (a number written as a string)
/// and strictly where a guess would do harm (a missing path).
/// </summary>
internal readonly struct ToolArguments
{
    private readonly JsonElement _object;
    private readonly string _function;

    private ToolArguments(JsonElement @object, string function)
    {
        _object = @object;
        _function = function;
    }

    /// <summary>The JSON object the arguments are.</summary>
    public JsonElement Json => _object;

    /// <summary>
    /// Parses the text of a call as JSON, whatever content type the call names: GPT-OSS writes <c>code</c>, or none at
    /// all, for a JSON body.
    /// </summary>
    /// <exception cref="ToolException">The text is not a JSON object.</exception>
    public static ToolArguments Parse(string function, string text)
    {
        JsonElement root;
        try
        {
            // An empty body is how the model calls a function without arguments.
            using JsonDocument document = JsonDocument.Parse(string.IsNullOrWhiteSpace(text) ? "{}" : text);
            root = document.RootElement.Clone();
        }
        catch (JsonException ex)
        {
            throw new ToolException($"invalid JSON arguments: {ex.Message}", ex);
        }

        return root.ValueKind == JsonValueKind.Object
            ? new ToolArguments(root, function)
            : throw new ToolException($"invalid JSON arguments: {function} takes a JSON object, not {root.ValueKind.ToString().ToLowerInvariant()}.");
    }

    public string RequiredString(string name) =>
        OptionalString(name) ?? throw new ToolException($"{_function} needs \"{name}\" (a string).");

    public string? OptionalString(string name) => Find(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.String } value => value.GetString(),
        _ => throw new ToolException($"\"{name}\" of {_function} must be a string."),
    };

    public int? OptionalInt(string name) => Find(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.Number } value when value.TryGetInt32(out int number) => number,
        { ValueKind: JsonValueKind.String } value when int.TryParse(value.GetString(), out int number) => number,
        _ => throw new ToolException($"\"{name}\" of {_function} must be a whole number."),
    };

    public bool? OptionalBool(string name) => Find(name) switch
    {
        null => null,
        { ValueKind: JsonValueKind.True } => true,
        { ValueKind: JsonValueKind.False } => false,
        { ValueKind: JsonValueKind.String } value when bool.TryParse(value.GetString(), out bool flag) => flag,
        _ => throw new ToolException($"\"{name}\" of {_function} must be true or false."),
    };

    // A null value counts as left out: the model writes "line": null for "from the start".
    private JsonElement? Find(string name) =>
        _object.TryGetProperty(name, out JsonElement value) && value.ValueKind != JsonValueKind.Null ? value : null;
}
