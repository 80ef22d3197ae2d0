using System.Text.Json;
using System.Text.RegularExpressions;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// Validates JSON against the subset of JSON Schema 2020-12 our schemas use (type, const, enum, required, properties,
/// additionalProperties, items, oneOf, $ref into $defs, minLength, pattern); no validator package is served here.
/// An unknown keyword fails loudly, so a schema cannot silently outgrow this validator.
/// </summary>
internal sealed class JsonSchemaValidator
{
    private static readonly HashSet<string> s_annotations = ["$schema", "$id", "title", "description", "$defs"];
    private readonly JsonElement _root;

    private JsonSchemaValidator(JsonElement root) => _root = root;

    public static JsonSchemaValidator Load(string name)
    {
        using JsonDocument document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(AppContext.BaseDirectory, "schemas", name)));
        return new JsonSchemaValidator(document.RootElement.Clone());
    }

    /// <summary>The reasons <paramref name="instance"/> is invalid; empty when it is valid.</summary>
    public List<string> Validate(JsonElement instance)
    {
        var errors = new List<string>();
        Validate(_root, instance, "$", errors);
        return errors;
    }

    public List<string> Validate(string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        return Validate(document.RootElement);
    }

    /// <summary>The reasons <paramref name="json"/> does not match the schema's <c>$defs/<paramref name="definition"/></c>.</summary>
    public List<string> ValidateDefinition(string definition, string json)
    {
        using JsonDocument document = JsonDocument.Parse(json);
        var errors = new List<string>();
        Validate(_root.GetProperty("$defs").GetProperty(definition), document.RootElement, "$", errors);
        return errors;
    }

    private void Validate(JsonElement schema, JsonElement instance, string path, List<string> errors)
    {
        foreach (JsonProperty keyword in schema.EnumerateObject())
        {
            JsonElement value = keyword.Value;
            switch (keyword.Name)
            {
                case var annotation when s_annotations.Contains(annotation):
                    break;
                case "$ref":
                    string reference = value.GetString()!;
                    const string Prefix = "#/$defs/";
                    if (!reference.StartsWith(Prefix, StringComparison.Ordinal))
                    {
                        throw new NotSupportedException($"$ref {reference}");
                    }

                    Validate(_root.GetProperty("$defs").GetProperty(reference[Prefix.Length..]), instance, path, errors);
                    break;
                case "type":
                    string[] types = value.ValueKind == JsonValueKind.Array ? [.. value.EnumerateArray().Select(t => t.GetString()!)] : [value.GetString()!];
                    if (!types.Any(t => HasType(instance, t)))
                    {
                        errors.Add($"{path}: expected {string.Join(" or ", types)}, got {instance.ValueKind}");
                    }

                    break;
                case "const":
                    if (!JsonElement.DeepEquals(value, instance))
                    {
                        errors.Add($"{path}: expected {value.GetRawText()}");
                    }

                    break;
                case "enum":
                    if (!value.EnumerateArray().Any(v => JsonElement.DeepEquals(v, instance)))
                    {
                        errors.Add($"{path}: {instance.GetRawText()} is not one of {value.GetRawText()}");
                    }

                    break;
                case "minLength":
                    if (instance.ValueKind == JsonValueKind.String && instance.GetString()!.Length < value.GetInt32())
                    {
                        errors.Add($"{path}: shorter than {value.GetInt32()}");
                    }

                    break;
                case "pattern":
                    if (instance.ValueKind == JsonValueKind.String && !Regex.IsMatch(instance.GetString()!, value.GetString()!))
                    {
                        errors.Add($"{path}: does not match {value.GetString()}");
                    }

                    break;
                case "required":
                    if (instance.ValueKind == JsonValueKind.Object)
                    {
                        foreach (JsonElement name in value.EnumerateArray())
                        {
                            if (!instance.TryGetProperty(name.GetString()!, out _))
                            {
                                errors.Add($"{path}: missing {name.GetString()}");
                            }
                        }
                    }

                    break;
                case "properties":
                    if (instance.ValueKind == JsonValueKind.Object)
                    {
                        foreach (JsonProperty property in value.EnumerateObject())
                        {
                            if (instance.TryGetProperty(property.Name, out JsonElement child))
                            {
                                Validate(property.Value, child, $"{path}.{property.Name}", errors);
                            }
                        }
                    }

                    break;
                case "additionalProperties":
                    if (instance.ValueKind == JsonValueKind.Object)
                    {
                        HashSet<string> known = schema.TryGetProperty("properties", out JsonElement p) ? [.. p.EnumerateObject().Select(e => e.Name)] : [];
                        foreach (JsonProperty property in instance.EnumerateObject().Where(e => !known.Contains(e.Name)))
                        {
                            if (value.ValueKind == JsonValueKind.False)
                            {
                                errors.Add($"{path}: unexpected property {property.Name}");
                            }
                            else if (value.ValueKind == JsonValueKind.Object)
                            {
                                Validate(value, property.Value, $"{path}.{property.Name}", errors);
                            }
                        }
                    }

                    break;
                case "items":
                    if (instance.ValueKind == JsonValueKind.Array)
                    {
                        int index = 0;
                        foreach (JsonElement item in instance.EnumerateArray())
                        {
                            Validate(value, item, $"{path}[{index++}]", errors);
                        }
                    }

                    break;
                case "oneOf":
                    int matches = value.EnumerateArray().Count(option =>
                    {
                        var optionErrors = new List<string>();
                        Validate(option, instance, path, optionErrors);
                        return optionErrors.Count == 0;
                    });
                    if (matches != 1)
                    {
                        errors.Add($"{path}: matches {matches} of the oneOf schemas, not exactly one");
                    }

                    break;
                default:
                    throw new NotSupportedException($"The schema keyword {keyword.Name} is not supported by this validator.");
            }
        }
    }

    private static bool HasType(JsonElement instance, string type) => type switch
    {
        "object" => instance.ValueKind == JsonValueKind.Object,
        "array" => instance.ValueKind == JsonValueKind.Array,
        "string" => instance.ValueKind == JsonValueKind.String,
        "integer" => instance.ValueKind == JsonValueKind.Number && instance.TryGetInt64(out _),
        "number" => instance.ValueKind == JsonValueKind.Number,
        "boolean" => instance.ValueKind is JsonValueKind.True or JsonValueKind.False,
        "null" => instance.ValueKind == JsonValueKind.Null,
        _ => throw new NotSupportedException($"type {type}"),
    };
}
