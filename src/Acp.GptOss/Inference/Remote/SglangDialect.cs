using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// SGLang's native API (0.4.x and 0.5.x; python/sglang/srt/entrypoints/http_server.py and managers/io_struct.py): the
/// prompt as <c>input_ids</c> to <c>POST /generate</c>, streamed. Each event carries <c>output_ids</c>: all of them so
/// far by default, only the new ones when the server runs with <c>--incremental-streaming-output</c> (or
/// <c>--stream-output</c> without a tokenizer); <c>meta_info.completion_tokens</c> tells which, and a count of the ids
/// already yielded keeps either from repeating one. <c>no_stop_trim</c> keeps the stop token among the ids.
/// </summary>
internal sealed class SglangDialect : IRemoteDialect
{
    private const string Route = "/generate";

    public RemoteKind Kind => RemoteKind.Sglang;

    public async Task<bool> IsServedByAsync(RemoteServer server, CancellationToken cancellationToken)
    {
        // Only SGLang has /get_model_info; vLLM and llama-server answer 404.
        using JsonDocument? info = await ModelInfoAsync(server, cancellationToken).ConfigureAwait(false);
        return ModelPath(info) is not null;
    }

    public async Task<RemoteModelInfo> ProbeAsync(RemoteServer server, string? model, CancellationToken cancellationToken)
    {
        string path;
        using (JsonDocument? info = await ModelInfoAsync(server, cancellationToken).ConfigureAwait(false))
        {
            path = ModelPath(info) ?? throw new InferenceException($"The server at {server.Endpoint} has no /get_model_info: it is not SGLang (try --remote-kind).");
        }

        string served = path;
        int? context = null;
        using (JsonDocument? models = await server.TryGetJsonAsync("v1/models", cancellationToken).ConfigureAwait(false))
        {
            if (models?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("data", out JsonElement data)
                && data.ValueKind == JsonValueKind.Array && data.GetArrayLength() > 0 && data[0] is { ValueKind: JsonValueKind.Object } card)
            {
                served = RemoteJson.String(card, "id") ?? path;
                context = RemoteJson.Int(card, "max_model_len");
            }
        }

        string? version = null;
        using (JsonDocument? serverInfo = await server.TryGetJsonAsync("get_server_info", cancellationToken).ConfigureAwait(false)
            ?? await server.TryGetJsonAsync("server_info", cancellationToken).ConfigureAwait(false))
        {
            if (serverInfo?.RootElement is { ValueKind: JsonValueKind.Object } root)
            {
                version = RemoteJson.String(root, "version");
                context ??= RemoteJson.Int(root, "context_length");
            }
        }

        // Requests to /generate name no model: the one given must be the one served, by its served name or its path.
        if (model is not null && model != served && model != path && model != Path.GetFileName(path.TrimEnd('/')))
        {
            throw new InferenceException($"The SGLang server at {server.Endpoint} serves {served}, not {model} (--remote-model).");
        }

        return new RemoteModelInfo(Kind, served, context, version is null ? null : $"SGLang {version}");
    }

    public async IAsyncEnumerable<int> GenerateAsync(
        RemoteServer server, RemoteModelInfo model, RemoteRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var yielded = new List<int>();
        bool ended = false;
        await foreach (ReadOnlyMemory<byte> data in server.PostEventsAsync("generate", Body(request), cancellationToken).ConfigureAwait(false))
        {
            if (data.Span.SequenceEqual("[DONE]"u8))
            {
                break;
            }

            using JsonDocument document = RemoteJson.ParseEvent(server, data, Route);
            JsonElement root = document.RootElement;
            JsonElement meta = root.TryGetProperty("meta_info", out JsonElement m) && m.ValueKind == JsonValueKind.Object ? m : default;
            int[] ids = root.TryGetProperty("output_ids", out JsonElement o) && o.ValueKind == JsonValueKind.Array
                ? [.. o.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out int id) ? id : throw NotId(server, e))]
                : [];
            int start = NewFrom(ids, meta.ValueKind == JsonValueKind.Object ? RemoteJson.Int(meta, "completion_tokens") : null, yielded);
            for (int i = start; i < ids.Length; i++)
            {
                yielded.Add(ids[i]);
                yield return ids[i];
            }

            if (meta.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            if (RemoteJson.Int(meta, "cached_tokens") is { } cached)
            {
                request.Usage.CachedTokens = cached;
            }

            if (meta.TryGetProperty("finish_reason", out JsonElement finish) && finish.ValueKind == JsonValueKind.Object)
            {
                string? type = RemoteJson.String(finish, "type");
                request.Usage.StopReason = type;
                if (type == "abort")
                {
                    throw new InferenceException($"The SGLang server at {server.Endpoint} aborted the completion: {RemoteJson.String(finish, "message") ?? "no reason given"}.");
                }

                // The matched stop token, should the server have trimmed it after all.
                if (type == "stop" && RemoteJson.Int(finish, "matched") is { } matched && (yielded.Count == 0 || yielded[^1] != matched)
                    && request.StopTokens.Span.Contains(matched))
                {
                    yield return matched;
                }

                ended = true;
                break;
            }
        }

        if (!ended)
        {
            throw new InferenceException($"The SGLang server at {server.Endpoint} closed the stream before the completion ended.");
        }
    }

    // Where this event's new ids begin. Cumulative events hold completion_tokens ids, incremental ones only the new
    // ones; they agree on the first event. Where the count says neither (a trimmed stop token), a cumulative event
    // starts with the ids already yielded.
    private static int NewFrom(int[] ids, int? total, List<int> yielded)
    {
        int seen = yielded.Count;
        if (seen == 0)
        {
            return 0;
        }

        if (total is { } count)
        {
            if (count == seen + ids.Length)
            {
                return 0;
            }

            if (count == ids.Length)
            {
                return seen;
            }
        }

        return ids.Length >= seen && ids.AsSpan(0, seen).SequenceEqual(System.Runtime.InteropServices.CollectionsMarshal.AsSpan(yielded)) ? seen : 0;
    }

    private static byte[] Body(RemoteRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(request.Prompt.Length * 7 + 512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            RemoteJson.WriteTokens(json, "input_ids", request.Prompt.Span);
            json.WriteStartObject("sampling_params");
            json.WriteNumber("max_new_tokens", request.MaxTokens);
            json.WriteNumber("temperature", request.Temperature);
            json.WriteNumber("top_p", request.TopP);
            // The model's generation config may add others; GPT-OSS is sampled with temperature and top-p alone (-1 disables top-k).
            json.WriteNumber("top_k", -1);
            json.WriteNumber("min_p", 0);
            RemoteJson.WriteTokens(json, "stop_token_ids", request.StopTokens.Span);
            json.WriteBoolean("skip_special_tokens", false);
            json.WriteBoolean("spaces_between_special_tokens", false);
            json.WriteBoolean("no_stop_trim", true);
            if (request.Seed is { } seed)
            {
                // Only when asked: releases before sampling_seed (September 2025) refuse the field, and it changes
                // nothing unless the server runs with --enable-deterministic-inference.
                json.WriteNumber("sampling_seed", seed);
            }

            json.WriteEndObject();
            json.WriteBoolean("stream", true);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    private static async Task<JsonDocument?> ModelInfoAsync(RemoteServer server, CancellationToken cancellationToken) =>
        await server.TryGetJsonAsync("get_model_info", cancellationToken).ConfigureAwait(false)
            ?? await server.TryGetJsonAsync("model_info", cancellationToken).ConfigureAwait(false);

    private static string? ModelPath(JsonDocument? info) =>
        info?.RootElement is { ValueKind: JsonValueKind.Object } root ? RemoteJson.String(root, "model_path") : null;

    private static InferenceException NotId(RemoteServer server, JsonElement value) =>
        new($"The SGLang server at {server.Endpoint} gave {value.GetRawText()} among output_ids, where a token id was expected.");
}
