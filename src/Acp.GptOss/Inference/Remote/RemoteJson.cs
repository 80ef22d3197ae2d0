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

    /// <summary>
    /// Writes GPT-OSS's sampling as OpenAI recommends it, temperature and top-p alone, in the flat fields llama-server
    /// and vLLM share: top-k and min-p are turned off, since either server's defaults (or the model's generation
    /// config) may add them; the seed only when one is set.
    /// </summary>
    public static void WriteSampling(Utf8JsonWriter json, RemoteRequest request)
    {
        json.WriteNumber("temperature", request.Temperature);
        json.WriteNumber("top_p", request.TopP);
        json.WriteNumber("top_k", 0);
        json.WriteNumber("min_p", 0);
        if (request.Seed is { } seed)
        {
            json.WriteNumber("seed", seed);
        }
    }

    /// <summary>Parses one event's data.</summary>
    /// <exception cref="InferenceException">It is not JSON.</exception>
    private static JsonDocument Parse(RemoteServer server, ReadOnlyMemory<byte> data, string path)
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

    /// <summary>
    /// Parses one event of a streamed completion: a JSON object, or the error the server reports in its place.
    /// </summary>
    /// <exception cref="InferenceException">It is not a JSON object, or it is an error.</exception>
    public static JsonDocument ParseEvent(RemoteServer server, ReadOnlyMemory<byte> data, string path)
    {
        JsonDocument document = Parse(server, data, path);
        try
        {
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw new InferenceException($"The server at {server.Endpoint} sent an event on {path} that is not a JSON object.");
            }

            ThrowIfError(server, document.RootElement, path);
            return document;
        }
        catch
        {
            document.Dispose();
            throw;
        }
    }

    /// <summary>Throws the error a server reports inside a stream that began well (out of memory, a bad parameter).</summary>
    /// <exception cref="InferenceException">The event is an error.</exception>
    private static void ThrowIfError(RemoteServer server, JsonElement root, string path)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("error", out JsonElement error) && error.ValueKind != JsonValueKind.Null)
        {
            throw new InferenceException($"The server at {server.Endpoint} failed on {path}: {RemoteServer.ErrorMessage(System.Text.Encoding.UTF8.GetBytes(root.GetRawText()))}");
        }
    }

    /// <summary>The string member <paramref name="name"/>; null when it is missing, not a string, or empty.</summary>
    public static string? String(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.String && value.GetString() is { Length: > 0 } text ? text : null;

    /// <summary>The 32-bit integer member <paramref name="name"/>; null when it is missing or not one.</summary>
    public static int? Int(JsonElement element, string name) =>
        element.TryGetProperty(name, out JsonElement value) && value.ValueKind == JsonValueKind.Number && value.TryGetInt32(out int n) ? n : null;

    /// <summary>
    /// The prompt tokens an OpenAI-style <c>usage</c> (vLLM's, a chat server's) says the server's cache held:
    /// <c>usage.prompt_tokens_details.cached_tokens</c>, when an event carries it.
    /// </summary>
    public static void ReadCachedTokens(JsonElement root, RemoteUsage usage)
    {
        if (root.TryGetProperty("usage", out JsonElement u) && u.ValueKind == JsonValueKind.Object
            && u.TryGetProperty("prompt_tokens_details", out JsonElement details) && details.ValueKind == JsonValueKind.Object
            && Int(details, "cached_tokens") is { } cached)
        {
            usage.CachedTokens = cached;
        }
    }
}
