using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.GptOss.Inference;

/// <summary>A <see cref="ModelRole"/> on the wire: its wire name, <c>"gpt-oss"</c> or <c>"fast"</c>.</summary>
internal sealed class ModelRoleJsonConverter : JsonConverter<ModelRole>
{
    public override ModelRole Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) =>
        ModelRoles.FromWireName(reader.GetString()) ?? throw new JsonException($"\"{reader.GetString()}\" is not a model role.");

    public override void Write(Utf8JsonWriter writer, ModelRole value, JsonSerializerOptions options)
    {
        ArgumentNullException.ThrowIfNull(writer);
        writer.WriteStringValue(value.WireName());
    }
}
