using System.Text.Json;

namespace Acp.GptOss.Inference.Remote;

/// <summary>The JSON every dialect reads and writes: token arrays, event payloads, errors inside a stream.</summary>
internal static class RemoteJson
{
    /// <summary>Writes <paramref name="tokens"/> as a JSON array of numbers.</summary>
    public static void WriteTokens(Utf8JsonWriter json, string name, ReadOnlySpan<int> tokens)
    {
        json.WriteStartArray(name);
        foreach (int token in tokens)
        {
            json.WriteNumberValue(token);
        }

        json.WriteEndArray();
    }

    /// <summary>Parses one event's data.</summary>
    /// <exception cref="InferenceException">It is not JSON.</exception>
    public static JsonDocument Parse(RemoteServer server, ReadOnlyMemory<byte> data, string path)
    {
        try
        {
            return JsonDocument.Parse(data);
        }
        catch (JsonException e)
        {
            throw new InferenceException($"The server at {server.Endpoint} sent an event on {path} that is not JSON: {e.Message}", e);
        }
    }

    /// <summary>Throws the error a server reports inside a stream that began well (out of memory, a bad parameter).</summary>
    /// <exception cref="InferenceException">The event is an error.</exception>
    public static void ThrowIfError(RemoteServer server, JsonElement root, string path)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out JsonElement error) && error.ValueKind != JsonValueKind.Null)
        {
            throw new InferenceException($"The server at {server.Endpoint} failed on {path}: {RemoteServer.ErrorMessage(System.Text.Encoding.UTF8.GetBytes(root.GetRawText()))}");
        }
    }
}
