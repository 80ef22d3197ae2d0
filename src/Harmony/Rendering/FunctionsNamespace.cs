using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Harmony.Conversations;

namespace Harmony.Rendering;

/// <summary>
/// Renders function tools as the TypeScript-like <c>namespace functions</c> the model was trained on
/// (docs/harmony.md §3.2), following the openai/harmony renderer's JSON Schema mapping.
/// </summary>
internal static class FunctionsNamespace
{
    private const string NamespaceName = "functions";

    private static readonly JsonWriterOptions s_compactJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The <c>## functions</c> section, without the <c># Tools</c> heading.</summary>
    public static string Render(IReadOnlyList<HarmonyFunctionTool> tools)
    {
        string[] names = HarmonyToolNames.Assign(tools);
        var text = new StringBuilder();
        text.Append("## ").Append(NamespaceName).Append("\n\n");
        text.Append("namespace ").Append(NamespaceName).Append(" {\n\n");
        for (int i = 0; i < tools.Count; i++)
        {
            foreach (string line in Lines(tools[i].Description))
            {
                text.Append("// ").Append(line).Append('\n');
            }

            text.Append("type ").Append(names[i]).Append(" = ");
            if (tools[i].Parameters is { } parameters && HasParameters(parameters))
            {
                text.Append("(_: ").Append(TypeOf(parameters, "")).Append(") => any;\n\n");
            }
            else
            {
                text.Append("() => any;\n\n");
            }
        }

        text.Append("} // namespace ").Append(NamespaceName);
        return text.ToString();
    }

    // An object schema without properties renders as "()", as the HF template does; harmony would print "(_: {\n})".
    private static bool HasParameters(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object
        && (schema.TryGetProperty("oneOf", out _)
            || !IsType(schema, "object")
            || (schema.TryGetProperty("properties", out JsonElement properties)
                && properties.ValueKind == JsonValueKind.Object
                && properties.EnumerateObject().Any()));

    private static string TypeOf(JsonElement schema, string indent)
    {
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return "any";
        }

        if (schema.TryGetProperty("oneOf", out JsonElement oneOf) && oneOf.ValueKind == JsonValueKind.Array)
        {
            var variants = new StringBuilder();
            foreach (JsonElement variant in oneOf.EnumerateArray())
            {
                variants.Append('\n').Append(indent).Append(" | ").Append(VariantType(variant, indent + "   "));
                AppendTrailingComments(variants, variant, description: Description(variant));
            }

            return variants.ToString();
        }

        if (schema.TryGetProperty("type", out JsonElement type) && type.ValueKind == JsonValueKind.Array)
        {
            string[] names = [.. type.EnumerateArray()
                .Where(t => t.ValueKind == JsonValueKind.String)
                .Select(t => t.GetString() == "integer" ? "number" : t.GetString()!)];
            if (names.Length > 0)
            {
                return string.Join(" | ", names);
            }
        }

        return (type.ValueKind == JsonValueKind.String ? type.GetString() : null) switch
        {
            "object" => ObjectType(schema, indent),
            "string" => EnumValues(schema) is { Length: > 0 } values ? string.Join(" | ", values.Select(v => $"\"{v}\"")) : "string",
            "number" or "integer" => "number",
            "boolean" => "boolean",
            "array" => schema.TryGetProperty("items", out JsonElement items) ? TypeOf(items, indent) + "[]" : "Array<any>",
            _ => "any",
        };
    }

    private static string ObjectType(JsonElement schema, string indent)
    {
        var text = new StringBuilder();
        if (Description(schema) is { } objectDescription)
        {
            AppendComment(text, indent, objectDescription);
        }

        text.Append("{\n");
        if (schema.TryGetProperty("properties", out JsonElement properties) && properties.ValueKind == JsonValueKind.Object)
        {
            var required = schema.TryGetProperty("required", out JsonElement r) && r.ValueKind == JsonValueKind.Array
                ? r.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String).Select(e => e.GetString()!).ToHashSet(StringComparer.Ordinal)
                : [];
            foreach (JsonProperty property in properties.EnumerateObject())
            {
                AppendProperty(text, property.Name, property.Value, required.Contains(property.Name), indent);
            }
        }

        text.Append(indent).Append('}');
        return text.ToString();
    }

    private static void AppendProperty(StringBuilder text, string name, JsonElement value, bool required, string indent)
    {
        string optional = required ? "" : "?";
        if (value.ValueKind != JsonValueKind.Object)
        {
            text.Append(indent).Append(name).Append(optional).Append(": any,\n");
            return;
        }

        if (value.TryGetProperty("title", out JsonElement title) && title.ValueKind == JsonValueKind.String)
        {
            AppendComment(text, indent, title.GetString()!);
            text.Append(indent).Append("//\n");
        }

        bool hasOneOf = value.TryGetProperty("oneOf", out JsonElement oneOf) && oneOf.ValueKind == JsonValueKind.Array;
        string? description = Description(value);
        if (!hasOneOf && description is not null)
        {
            AppendComment(text, indent, description);
        }

        if (value.TryGetProperty("examples", out JsonElement examples) && examples.ValueKind == JsonValueKind.Array && examples.GetArrayLength() > 0)
        {
            text.Append(indent).Append("// Examples:\n");
            foreach (JsonElement example in examples.EnumerateArray().Where(e => e.ValueKind == JsonValueKind.String))
            {
                text.Append(indent).Append("// - \"").Append(example.GetString()).Append("\"\n");
            }
        }

        if (hasOneOf)
        {
            AppendOneOfProperty(text, name, optional, value, oneOf, description, indent);
            return;
        }

        text.Append(indent).Append(name).Append(optional).Append(": ").Append(VariantType(value, indent + "    ")).Append(',');
        if (DefaultText(value) is { } defaultText)
        {
            text.Append(" // default: ").Append(defaultText);
        }

        text.Append('\n');
    }

    // A property whose schema is a oneOf lists one variant per line under its name.
    private static void AppendOneOfProperty(
        StringBuilder text, string name, string optional, JsonElement value, JsonElement oneOf, string? description, string indent)
    {
        JsonElement firstVariant = oneOf.GetArrayLength() > 0 ? oneOf[0] : default;
        bool descriptionAbove = description is not null && Description(firstVariant) != description;
        if (descriptionAbove)
        {
            AppendComment(text, indent, description!);
        }

        if (DefaultText(value) is { } defaultText)
        {
            text.Append(indent).Append("// default: ").Append(defaultText).Append('\n');
        }

        text.Append(indent).Append(name).Append(optional).Append(":\n");
        int index = 0;
        foreach (JsonElement variant in oneOf.EnumerateArray())
        {
            text.Append(indent).Append(" | ").Append(VariantType(variant, indent + "   "));
            string? variantDescription = Description(variant);
            bool showDescription = !(index == 0 && descriptionAbove) && variantDescription != description;
            AppendTrailingComments(text, variant, showDescription ? variantDescription : null);
            text.Append('\n');
            index++;
        }

        text.Append(indent).Append(",\n");
    }

    private static string VariantType(JsonElement schema, string indent)
    {
        string type = TypeOf(schema, indent);
        bool nullable = schema.ValueKind == JsonValueKind.Object
            && schema.TryGetProperty("nullable", out JsonElement n) && n.ValueKind == JsonValueKind.True;
        return nullable && !type.Contains("null", StringComparison.Ordinal) ? type + " | null" : type;
    }

    private static void AppendTrailingComments(StringBuilder text, JsonElement variant, string? description)
    {
        string? defaultText = variant.ValueKind == JsonValueKind.Object ? DefaultText(variant) : null;
        if (description is null && defaultText is null)
        {
            return;
        }

        text.Append(" // ").AppendJoin(' ', new[] { description, defaultText is null ? null : "default: " + defaultText }.OfType<string>());
    }

    // A string default is quoted unless the property is an enum, where the bare value reads as one of the choices.
    private static string? DefaultText(JsonElement schema)
    {
        if (!schema.TryGetProperty("default", out JsonElement value))
        {
            return null;
        }

        if (value.ValueKind == JsonValueKind.String)
        {
            return EnumValues(schema) is { Length: > 0 } ? value.GetString() : $"\"{value.GetString()}\"";
        }

        var buffer = new System.Buffers.ArrayBufferWriter<byte>();
        using (var writer = new Utf8JsonWriter(buffer, s_compactJson))
        {
            value.WriteTo(writer);
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static string[]? EnumValues(JsonElement schema) =>
        schema.TryGetProperty("enum", out JsonElement values) && values.ValueKind == JsonValueKind.Array
            ? [.. values.EnumerateArray().Where(v => v.ValueKind == JsonValueKind.String).Select(v => v.GetString()!)]
            : null;

    private static string? Description(JsonElement schema) =>
        schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("description", out JsonElement d) && d.ValueKind == JsonValueKind.String
            ? d.GetString()
            : null;

    private static bool IsType(JsonElement schema, string type) =>
        schema.TryGetProperty("type", out JsonElement t) && t.ValueKind == JsonValueKind.String && t.GetString() == type;

    // Each line gets its own "//" so that a multi-line description stays a comment.
    private static void AppendComment(StringBuilder text, string indent, string comment)
    {
        foreach (string line in Lines(comment))
        {
            text.Append(indent).Append("// ").Append(line).Append('\n');
        }
    }

    private static IEnumerable<string> Lines(string text) =>
        text.Length == 0 ? [] : text.TrimEnd('\n').Split('\n').Select(line => line.TrimEnd('\r'));
}
