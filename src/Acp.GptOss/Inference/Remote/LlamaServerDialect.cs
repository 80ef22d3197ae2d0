using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// llama.cpp's llama-server (the release node-llama-cpp 3.22.1 ships, docs/remote.md §2): the prompt as token ids to
/// <c>POST /completion</c>, streamed with <c>return_tokens</c>, so that each event carries the sampled id, the stop token
/// included. The server holds back the event of a token that ends inside a UTF-8 character; the next event's
/// <c>tokens_predicted</c> shows the gap and its <c>content</c> holds the held-back bytes, which are tokenized again.
/// </summary>
internal sealed class LlamaServerDialect : IRemoteDialect
{
    public RemoteKind Kind => RemoteKind.LlamaServer;

    public async Task<bool> IsServedByAsync(RemoteServer server, CancellationToken cancellationToken)
    {
        using JsonDocument? props = await server.TryGetJsonAsync("props", cancellationToken).ConfigureAwait(false);
        return props?.RootElement.ValueKind == JsonValueKind.Object && props.RootElement.TryGetProperty("default_generation_settings", out _);
    }

    public async Task<RemoteModelInfo> ProbeAsync(RemoteServer server, string? model, CancellationToken cancellationToken)
    {
        using JsonDocument props = await server.TryGetJsonAsync("props", cancellationToken).ConfigureAwait(false)
            ?? throw new InferenceException($"The server at {server.Endpoint} has no /props: it is not llama-server (try --remote-kind).");
        JsonElement root = props.RootElement;
        int? context = root.TryGetProperty("default_generation_settings", out JsonElement settings) && settings.ValueKind == JsonValueKind.Object
            && RemoteJson.Int(settings, "n_ctx") is { } n && n > 0 ? n : null;
        string? build = root.TryGetProperty("build_info", out JsonElement b) && b.ValueKind == JsonValueKind.String ? b.GetString() : null;
        string served = await ServedModelAsync(server, root, cancellationToken).ConfigureAwait(false);
        if (model is not null && !string.Equals(model, served, StringComparison.Ordinal)
            && !(root.TryGetProperty("model_alias", out JsonElement alias) && alias.ValueKind == JsonValueKind.String && alias.GetString() == model))
        {
            throw new InferenceException($"The llama-server at {server.Endpoint} serves {served}, not {model} (--remote-model).");
        }

        return new RemoteModelInfo(Kind, model ?? served, context, build);
    }

    public async IAsyncEnumerable<int> GenerateAsync(
        RemoteServer server, RemoteModelInfo model, RemoteRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        int seen = 0;
        bool ended = false;
        var missing = new List<int>();
        await foreach (ReadOnlyMemory<byte> data in server.PostEventsAsync("completion", Body(request), cancellationToken).ConfigureAwait(false))
        {
            using JsonDocument document = RemoteJson.ParseEvent(server, data, "/completion");
            JsonElement root = document.RootElement;
            if (root.TryGetProperty("prompt_progress", out _))
            {
                continue;
            }

            ReadUsage(root, request.Usage);
            int[] tokens = root.TryGetProperty("tokens", out JsonElement t) && t.ValueKind == JsonValueKind.Array
                ? [.. t.EnumerateArray().Select(e => e.GetInt32())]
                : [];
            int predicted = RemoteJson.Int(root, "tokens_predicted") ?? seen + tokens.Length;
            if (predicted > seen + tokens.Length && tokens.Length > 0)
            {
                // Tokens held back mid-character: their bytes lead this event's content.
                HeldBack(root, tokens, request, missing);
                foreach (int token in missing)
                {
                    yield return token;
                }
            }

            seen = predicted;
            foreach (int token in tokens)
            {
                yield return token;
            }

            if (root.TryGetProperty("stop", out JsonElement stop) && stop.ValueKind == JsonValueKind.True)
            {
                request.Usage.StopReason = root.TryGetProperty("stop_type", out JsonElement type) ? type.GetString() : null;
                ended = true;
                break;
            }
        }

        if (!ended)
        {
            throw new InferenceException($"The llama-server at {server.Endpoint} closed the stream before the completion ended.");
        }
    }

    private static async Task<string> ServedModelAsync(RemoteServer server, JsonElement props, CancellationToken cancellationToken)
    {
        using JsonDocument? models = await server.TryGetJsonAsync("v1/models", cancellationToken).ConfigureAwait(false);
        if (models is not null && models.RootElement.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Array
            && data.GetArrayLength() > 0 && data[0].TryGetProperty("id", out JsonElement id) && id.GetString() is { Length: > 0 } name)
        {
            return name;
        }

        return props.TryGetProperty("model_path", out JsonElement path) && path.GetString() is { Length: > 0 } file ? Path.GetFileName(file) : "gpt-oss";
    }

    private static byte[] Body(RemoteRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(request.Prompt.Length * 7 + 512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            RemoteJson.WriteTokens(json, "prompt", request.Prompt.Span);
            json.WriteNumber("n_predict", request.MaxTokens);
            json.WriteBoolean("stream", true);
            json.WriteBoolean("return_tokens", true);
            json.WriteBoolean("return_progress", true);
            // Timings in every event, not only the last: the session stops reading at the stop token, before it.
            json.WriteBoolean("timings_per_token", true);
            json.WriteBoolean("cache_prompt", true);
            RemoteJson.WriteSampling(json, request);

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static void ReadUsage(JsonElement root, RemoteUsage usage)
    {
        if (root.TryGetProperty("timings", out JsonElement timings) && timings.ValueKind == JsonValueKind.Object)
        {
            if (RemoteJson.Int(timings, "cache_n") is { } n)
            {
                usage.CachedTokens = n;
            }

            if (timings.TryGetProperty("prompt_ms", out JsonElement ms) && ms.ValueKind == JsonValueKind.Number && ms.TryGetDouble(out double promptMs))
            {
                usage.PromptMs = promptMs;
            }
        }

        if (RemoteJson.Int(root, "tokens_cached") is { } c)
        {
            usage.CachedTokens ??= c;
        }
    }

    // The event's content is the held-back bytes then this event's own tokens' bytes: what precedes those is
    // tokenized again. The ids may split the bytes otherwise than the model did; the text is the same.
    private static void HeldBack(JsonElement root, int[] tokens, RemoteRequest request, List<int> missing)
    {
        missing.Clear();
        if (!root.TryGetProperty("content", out JsonElement content) || content.ValueKind != JsonValueKind.String)
        {
            return;
        }

        byte[] bytes = System.Text.Encoding.UTF8.GetBytes(content.GetString()!);
        int own = 0;
        foreach (int token in tokens)
        {
            own += request.Tokenizer.GetTokenBytes(token).Length;
        }

        if (bytes.Length > own)
        {
            request.Tokenizer.EncodeOrdinary(bytes.AsSpan(0, bytes.Length - own), missing);
        }
    }
}
