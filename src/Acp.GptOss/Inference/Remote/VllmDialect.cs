using System.Buffers;
using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.Json;

namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// vLLM's OpenAI-compatible server (0.10 and later; fields as in vllm/entrypoints/openai/protocol.py and
/// serving_completion.py): the prompt as token ids to <c>POST /v1/completions</c>, streamed. The sampled ids come back
/// as <c>choices[0].token_ids</c> where the server knows <c>return_token_ids</c> (0.10.2 and later), otherwise through
/// the log-probabilities, whose tokens <c>return_tokens_as_token_ids</c> spells <c>token_id:123</c>; both are asked for,
/// and an older server ignores the field it does not know.
/// </summary>
internal sealed class VllmDialect : IRemoteDialect
{
    private const string TokenIdPrefix = "token_id:";

    public RemoteKind Kind => RemoteKind.Vllm;

    public async Task<bool> IsServedByAsync(RemoteServer server, CancellationToken cancellationToken)
    {
        using JsonDocument? version = await server.TryGetJsonAsync("version", cancellationToken).ConfigureAwait(false);
        if (VersionOf(version) is null)
        {
            return false;
        }

        // Others may answer /version too; vLLM's model cards say who owns them.
        using JsonDocument? models = await server.TryGetJsonAsync("v1/models", cancellationToken).ConfigureAwait(false);
        return models is null || Cards(models).All(c => c.OwnedBy is null or "vllm");
    }

    public async Task<RemoteModelInfo> ProbeAsync(RemoteServer server, string? model, CancellationToken cancellationToken)
    {
        List<ModelCard> cards;
        using (JsonDocument models = await server.TryGetJsonAsync("v1/models", cancellationToken).ConfigureAwait(false)
            ?? throw new InferenceException($"The server at {server.Endpoint} has no /v1/models: it is not vLLM (try --remote-kind)."))
        {
            cards = Cards(models);
        }

        if (cards.Count == 0)
        {
            throw new InferenceException($"The vLLM server at {server.Endpoint} serves no model.");
        }

        ModelCard card = model is null
            ? cards[0]
            : cards.Find(c => string.Equals(c.Id, model, StringComparison.Ordinal))
                ?? throw new InferenceException(
                    $"The vLLM server at {server.Endpoint} serves {string.Join(", ", cards.Select(c => c.Id))}, not {model} (--remote-model).");
        string? version;
        using (JsonDocument? answer = await server.TryGetJsonAsync("version", cancellationToken).ConfigureAwait(false))
        {
            version = VersionOf(answer);
        }

        return new RemoteModelInfo(Kind, card.Id, card.MaxModelLen, version is null ? null : $"vLLM {version}");
    }

    public async IAsyncEnumerable<int> GenerateAsync(
        RemoteServer server, RemoteModelInfo model, RemoteRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        const string Route = "/v1/completions";
        bool ended = false;
        int last = -1;
        var tokens = new List<int>();
        await foreach (ReadOnlyMemory<byte> data in server.PostEventsAsync("v1/completions", Body(model, request), cancellationToken).ConfigureAwait(false))
        {
            if (data.Span.SequenceEqual("[DONE]"u8))
            {
                break;
            }

            using JsonDocument document = RemoteJson.ParseEvent(server, data, Route);
            JsonElement root = document.RootElement;
            ThrowIfFlatError(server, root, Route);
            RemoteJson.ReadCachedTokens(root, request.Usage);
            if (!root.TryGetProperty("choices", out JsonElement choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0)
            {
                continue;
            }

            JsonElement choice = choices[0];
            if (choice.ValueKind != JsonValueKind.Object)
            {
                continue;
            }

            ReadTokens(server, choice, tokens);
            foreach (int token in tokens)
            {
                last = token;
                yield return token;
            }

            if (choice.TryGetProperty("finish_reason", out JsonElement finish) && finish.ValueKind == JsonValueKind.String)
            {
                string reason = finish.GetString()!;
                request.Usage.StopReason = reason;
                if (reason is "abort" or "error")
                {
                    throw new InferenceException($"The vLLM server at {server.Endpoint} ended the completion with \"{reason}\".");
                }

                // Should the server leave the stop token out of the ids, it is put back, so that the parser sees how the
                // message ended: stop_reason names a stop_token_ids id; none names the tokenizer's EOS, which is
                // gpt-oss's <|return|> (its other EOS ids, from the generation config, come as stop_token_ids).
                if (reason == "stop" && !request.StopTokens.Span.Contains(last)
                    && (RemoteJson.Int(choice, "stop_reason") ?? request.Tokenizer.SpecialTokens.Return) is int stopToken && request.StopTokens.Span.Contains(stopToken))
                {
                    yield return stopToken;
                }

                ended = true;
                break;
            }
        }

        if (!ended)
        {
            throw new InferenceException($"The vLLM server at {server.Endpoint} closed the stream before the completion ended.");
        }
    }

    private static byte[] Body(RemoteModelInfo model, RemoteRequest request)
    {
        var buffer = new ArrayBufferWriter<byte>(request.Prompt.Length * 7 + 512);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model.Model);
            RemoteJson.WriteTokens(json, "prompt", request.Prompt.Span);
            json.WriteNumber("max_tokens", request.MaxTokens);
            json.WriteBoolean("stream", true);
            RemoteJson.WriteSampling(json, request);

            RemoteJson.WriteTokens(json, "stop_token_ids", request.StopTokens.Span);
            json.WriteBoolean("skip_special_tokens", false);
            json.WriteBoolean("spaces_between_special_tokens", false);
            json.WriteBoolean("include_stop_str_in_output", true);
            json.WriteBoolean("return_token_ids", true);
            // The sampled token's own log-probability (and at most one other) carries its id.
            json.WriteNumber("logprobs", 1);
            json.WriteBoolean("return_tokens_as_token_ids", true);
            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // token_ids where the server gives them; otherwise the log-probabilities' tokens, spelled token_id:123.
    private static void ReadTokens(RemoteServer server, JsonElement choice, List<int> tokens)
    {
        tokens.Clear();
        if (choice.TryGetProperty("token_ids", out JsonElement ids) && ids.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement id in ids.EnumerateArray())
            {
                tokens.Add(id.ValueKind == JsonValueKind.Number && id.TryGetInt32(out int token) ? token : throw NotIds(server, id.GetRawText()));
            }

            return;
        }

        if (choice.TryGetProperty("logprobs", out JsonElement logprobs) && logprobs.ValueKind == JsonValueKind.Object
            && logprobs.TryGetProperty("tokens", out JsonElement spelled) && spelled.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement text in spelled.EnumerateArray())
            {
                string? value = text.ValueKind == JsonValueKind.String ? text.GetString() : null;
                tokens.Add(value is not null && value.StartsWith(TokenIdPrefix, StringComparison.Ordinal)
                    && int.TryParse(value.AsSpan(TokenIdPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out int token)
                    ? token
                    : throw NotIds(server, text.GetRawText()));
            }

            return;
        }

        if (choice.TryGetProperty("text", out JsonElement t) && t.ValueKind == JsonValueKind.String && t.GetString()!.Length > 0)
        {
            throw new InferenceException(
                $"The vLLM server at {server.Endpoint} streamed text without token ids: it ignored return_token_ids and logprobs (vLLM 0.10 or later is needed).");
        }
    }

    private static InferenceException NotIds(RemoteServer server, string what) =>
        new($"The vLLM server at {server.Endpoint} gave {what} where a token id was expected (vLLM 0.10 or later is needed).");

    // Older vLLM's errors inside a stream, flat: {"object": "error", "message": ...} (newer ones, {"error": {...}}, are
    // RemoteJson.ParseEvent's).
    private static void ThrowIfFlatError(RemoteServer server, JsonElement root, string path)
    {
        if (root.ValueKind == JsonValueKind.Object && root.TryGetProperty("object", out JsonElement kind) && kind.ValueKind == JsonValueKind.String
            && kind.GetString() == "error")
        {
            throw new InferenceException($"The server at {server.Endpoint} failed on {path}: {RemoteServer.ErrorMessage(System.Text.Encoding.UTF8.GetBytes(root.GetRawText()))}");
        }
    }

    private static string? VersionOf(JsonDocument? answer) =>
        answer?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("version", out JsonElement v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()
            : null;

    private static List<ModelCard> Cards(JsonDocument models)
    {
        var cards = new List<ModelCard>();
        if (models.RootElement.ValueKind == JsonValueKind.Object && models.RootElement.TryGetProperty("data", out JsonElement data)
            && data.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement card in data.EnumerateArray())
            {
                if (card.ValueKind == JsonValueKind.Object && card.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.String && id.GetString() is { Length: > 0 } name)
                {
                    int? context = RemoteJson.Int(card, "max_model_len") is { } n && n > 0 ? n : null;
                    string? owner = card.TryGetProperty("owned_by", out JsonElement o) && o.ValueKind == JsonValueKind.String ? o.GetString() : null;
                    cards.Add(new ModelCard(name, context, owner));
                }
            }
        }

        return cards;
    }

    private sealed record ModelCard(string Id, int? MaxModelLen, string? OwnedBy);
}
