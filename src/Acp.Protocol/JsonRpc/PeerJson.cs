using System.Buffers;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.Json.Serialization.Metadata;
using PolyType;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// A params or result value already serialized through its caller's source-generated <see cref="JsonTypeInfo{T}"/>:
/// the formatter writes it as is, so the peer needs no type of its callers in its own serializer context.
/// </summary>
[JsonConverter(typeof(RawJsonConverter))]
internal readonly struct RawJson(byte[] utf8)
{
    // Non-ASCII text stays readable on the wire, as ACP clients write it.
    private static readonly JsonWriterOptions s_writerOptions = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [ThreadStatic]
    private static ArrayBufferWriter<byte>? t_buffer;

    [ThreadStatic]
    private static Utf8JsonWriter? t_writer;

    public byte[] Utf8 { get; } = utf8;

    public static RawJson Serialize<T>(T value, JsonTypeInfo<T> type)
    {
        ArrayBufferWriter<byte> buffer = t_buffer ??= new ArrayBufferWriter<byte>(1024);
        Utf8JsonWriter writer = t_writer ??= new Utf8JsonWriter(buffer, s_writerOptions);
        try
        {
            JsonSerializer.Serialize(writer, value, type);
            writer.Flush();
            return new RawJson(buffer.WrittenSpan.ToArray());
        }
        finally
        {
            writer.Reset(buffer);
            buffer.ResetWrittenCount();
            if (buffer.Capacity > 64 * 1024)
            {
                // One large message should not pin its buffer for the thread's life.
                t_buffer = null;
                t_writer = null;
            }
        }
    }

    internal sealed class RawJsonConverter : JsonConverter<RawJson>
    {
        public override RawJson Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            using var document = JsonDocument.ParseValue(ref reader);
            return new RawJson(JsonSerializer.SerializeToUtf8Bytes(document.RootElement, PeerJsonContext.Default.JsonElement));
        }

        public override void Write(Utf8JsonWriter writer, RawJson value, JsonSerializerOptions options) =>
            writer.WriteRawValue(value.Utf8, skipInputValidation: true);
    }
}

/// <summary>The params of <c>$/cancel_request</c>.</summary>
internal sealed record CancelRequestParams(RequestId RequestId);

/// <summary>Everything the peer itself serializes: raw params and results, error data, the cancel notice.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase)]
[JsonSerializable(typeof(JsonElement))]
[JsonSerializable(typeof(RawJson))]
[JsonSerializable(typeof(CancelRequestParams))]
internal sealed partial class PeerJsonContext : JsonSerializerContext;

/// <summary>
/// The compile-time PolyType shapes PolyTypeJsonFormatter asks for: those of the methods' parameter and result types
/// (it looks for streams, progress and proxies among them; the peer marshals none).
/// </summary>
[GenerateShapeFor<JsonElement>]
[GenerateShapeFor<RawJson>]
internal sealed partial class PeerShapes;
