using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.Protocol.JsonRpc;

/// <summary>A JSON-RPC request id: an integer or a string, compared as written.</summary>
[JsonConverter(typeof(RequestIdConverter))]
public readonly struct RequestId : IEquatable<RequestId>
{
    private readonly long _number;
    private readonly string? _text;

    /// <summary>An integer id.</summary>
    public RequestId(long number) => _number = number;

    /// <summary>A string id.</summary>
    public RequestId(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        _text = text;
    }

    /// <summary>Whether the id is a string.</summary>
    public bool IsString => _text is not null;

    /// <summary>The integer id; 0 for a string id.</summary>
    public long Number => _number;

    /// <summary>The string id; null for an integer id.</summary>
    public string? Text => _text;

    /// <summary>Reads an id; false for anything but an integer or a string.</summary>
    public static bool TryRead(JsonElement element, out RequestId id)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String when TryGetString(element, out string? text):
                id = new RequestId(text);
                return true;
            case JsonValueKind.Number when element.TryGetInt64(out long number):
                id = new RequestId(number);
                return true;
            default:
                id = default;
                return false;
        }
    }

    private static bool TryGetString(JsonElement element, [NotNullWhen(true)] out string? text)
    {
        try
        {
            text = element.GetString()!;
            return true;
        }
        catch (InvalidOperationException)
        {
            // Not valid UTF-8: no id anyone could have sent.
            text = null;
            return false;
        }
    }

    /// <summary>Writes the id as JSON.</summary>
    public void WriteTo(Utf8JsonWriter writer)
    {
        ArgumentNullException.ThrowIfNull(writer);
        if (_text is not null)
        {
            writer.WriteStringValue(_text);
        }
        else
        {
            writer.WriteNumberValue(_number);
        }
    }

    /// <inheritdoc />
    public bool Equals(RequestId other) => _number == other._number && string.Equals(_text, other._text, StringComparison.Ordinal);

    /// <inheritdoc />
    public override bool Equals(object? obj) => obj is RequestId other && Equals(other);

    /// <inheritdoc />
    public override int GetHashCode() => _text is null ? _number.GetHashCode() : StringComparer.Ordinal.GetHashCode(_text);

    /// <inheritdoc />
    public override string ToString() => _text is null ? _number.ToString(CultureInfo.InvariantCulture) : $"\"{_text}\"";

    /// <summary>Equality.</summary>
    public static bool operator ==(RequestId left, RequestId right) => left.Equals(right);

    /// <summary>Inequality.</summary>
    public static bool operator !=(RequestId left, RequestId right) => !left.Equals(right);

    internal sealed class RequestIdConverter : JsonConverter<RequestId>
    {
        public override RequestId Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
        {
            JsonTokenType.String => new RequestId(reader.GetString()!),
            JsonTokenType.Number when reader.TryGetInt64(out long number) => new RequestId(number),
            _ => throw new JsonException("A request id is an integer or a string."),
        };

        public override void Write(Utf8JsonWriter writer, RequestId value, JsonSerializerOptions options) => value.WriteTo(writer);
    }
}
