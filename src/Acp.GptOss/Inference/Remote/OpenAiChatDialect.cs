using System.Buffers;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using Harmony;
using Harmony.Conversations;
using Harmony.Rendering;

namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// The fallback for servers that take only chat messages (OpenAI's chat completions API, as vLLM, SGLang, Ollama and
/// hosted providers serve it): the conversation the prompt was rendered from goes to <c>POST /v1/chat/completions</c>,
/// and the streamed deltas come back as the Harmony ids the model would have written, so that the agent parses them
/// as it parses any completion: reasoning as an analysis message, content as the final answer, the first tool call as
/// a commentary message to <c>functions.NAME</c> ended by <c>&lt;|call|&gt;</c>. The server's template decides the
/// prompt, so the ids are not the model's own: the text is the same, split otherwise (docs/remote.md).
/// </summary>
internal sealed class OpenAiChatDialect : IRemoteDialect
{
    private const string Route = "/v1/chat/completions";
    private const string FunctionsPrefix = "functions.";

    public RemoteKind Kind => RemoteKind.OpenAi;

    public async Task<bool> IsServedByAsync(RemoteServer server, CancellationToken cancellationToken)
    {
        using JsonDocument? models = await server.TryGetJsonAsync(V1(server, "models"), cancellationToken).ConfigureAwait(false);
        return models?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Array;
    }

    public async Task<RemoteModelInfo> ProbeAsync(RemoteServer server, string? model, CancellationToken cancellationToken)
    {
        var cards = new List<(string Id, int? Context)>();
        bool listed = false;
        using (JsonDocument? models = await server.TryGetJsonAsync(V1(server, "models"), cancellationToken).ConfigureAwait(false))
        {
            if (models?.RootElement is { ValueKind: JsonValueKind.Object } root && root.TryGetProperty("data", out JsonElement data) && data.ValueKind == JsonValueKind.Array)
            {
                listed = true;
                foreach (JsonElement card in data.EnumerateArray())
                {
                    if (card.ValueKind == JsonValueKind.Object && card.TryGetProperty("id", out JsonElement id) && id.ValueKind == JsonValueKind.String
                        && id.GetString() is { Length: > 0 } name)
                    {
                        cards.Add((name, RemoteJson.Int(card, "max_model_len") ?? RemoteJson.Int(card, "context_length") ?? RemoteJson.Int(card, "context_window")));
                    }
                }
            }
        }

        if (!listed || cards.Count == 0)
        {
            // Some servers list nothing; the model asked for is then taken on trust, and the first completion tells.
            return model is not null
                ? new RemoteModelInfo(Kind, model, null, null)
                : throw new InferenceException($"The server at {server.Endpoint} lists no model at /v1/models; say which with --remote-model.");
        }

        (string Id, int? Context) chosen = model is null
            ? cards[0]
            : cards.Find(c => string.Equals(c.Id, model, StringComparison.Ordinal)) is { Id: not null } found
                ? found
                : throw new InferenceException($"The server at {server.Endpoint} serves {string.Join(", ", cards.Select(c => c.Id))}, not {model} (--remote-model).");
        return new RemoteModelInfo(Kind, chosen.Id, chosen.Context, null);
    }

    public async IAsyncEnumerable<int> GenerateAsync(
        RemoteServer server, RemoteModelInfo model, RemoteRequest request, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        HarmonyConversation conversation = request.Conversation
            ?? throw new RemoteRequestException("This server takes only chat messages; a raw prompt needs llama-server, vLLM or SGLang.");
        var writer = new HarmonyWriter(request.Tokenizer);
        bool ended = false;
        await foreach (ReadOnlyMemory<byte> data in server.PostEventsAsync(V1(server, "chat/completions"), Body(model, request, conversation), cancellationToken)
            .ConfigureAwait(false))
        {
            if (data.Span.SequenceEqual("[DONE]"u8))
            {
                break;
            }

            using JsonDocument document = RemoteJson.ParseEvent(server, data, Route);
            JsonElement root = document.RootElement;
            RemoteJson.ReadCachedTokens(root, request.Usage);
            if (!root.TryGetProperty("choices", out JsonElement choices) || choices.ValueKind != JsonValueKind.Array || choices.GetArrayLength() == 0
                || choices[0] is not { ValueKind: JsonValueKind.Object } choice)
            {
                continue;
            }

            if (choice.TryGetProperty("delta", out JsonElement delta) && delta.ValueKind == JsonValueKind.Object)
            {
                Read(delta, writer);
                foreach (int token in writer.Take())
                {
                    yield return token;
                }
            }

            if (choice.TryGetProperty("finish_reason", out JsonElement finish) && finish.ValueKind == JsonValueKind.String)
            {
                string reason = finish.GetString()!;
                request.Usage.StopReason = reason;
                writer.Finish(reason);
                foreach (int token in writer.Take())
                {
                    yield return token;
                }

                ended = true;
                break;
            }
        }

        if (!ended)
        {
            throw new InferenceException($"The server at {server.Endpoint} closed the stream before the completion ended.");
        }
    }

    // Hosted APIs are often given with their /v1 (https://host/api/v1): the paths then go below it.
    private static string V1(RemoteServer server, string path) =>
        server.Endpoint.AbsolutePath.EndsWith("/v1/", StringComparison.Ordinal) ? path : "v1/" + path;

    // One delta: reasoning (vLLM's and SGLang's reasoning_content, or reasoning), content, tool call fragments.
    private static void Read(JsonElement delta, HarmonyWriter writer)
    {
        string? reasoning = RemoteJson.String(delta, "reasoning_content") ?? RemoteJson.String(delta, "reasoning");
        if (reasoning is not null)
        {
            writer.Reasoning(reasoning);
        }

        if (RemoteJson.String(delta, "content") is { } content)
        {
            writer.Content(content);
        }

        if (delta.TryGetProperty("tool_calls", out JsonElement calls) && calls.ValueKind == JsonValueKind.Array)
        {
            foreach (JsonElement call in calls.EnumerateArray())
            {
                if (call.ValueKind != JsonValueKind.Object)
                {
                    continue;
                }

                int index = RemoteJson.Int(call, "index") ?? 0;
                JsonElement function = call.TryGetProperty("function", out JsonElement f) && f.ValueKind == JsonValueKind.Object ? f : default;
                string? name = function.ValueKind == JsonValueKind.Object ? RemoteJson.String(function, "name") : null;
                string? arguments = function.ValueKind == JsonValueKind.Object ? RemoteJson.String(function, "arguments") : null;
                writer.ToolCall(index, name, arguments);
            }
        }
    }

    private static byte[] Body(RemoteModelInfo model, RemoteRequest request, HarmonyConversation conversation)
    {
        var buffer = new ArrayBufferWriter<byte>(4096);
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            json.WriteString("model", model.Model);
            json.WriteBoolean("stream", true);
            WriteMessages(json, conversation);
            IReadOnlyList<HarmonyFunctionTool> tools = conversation.Developer?.Tools ?? [];
            if (tools.Count > 0)
            {
                // The names the model sees in a rendered prompt, so that its calls map back to the same tools.
                string[] names = HarmonyToolNames.Assign(tools);
                json.WriteStartArray("tools");
                for (int i = 0; i < tools.Count; i++)
                {
                    json.WriteStartObject();
                    json.WriteString("type", "function");
                    json.WriteStartObject("function");
                    json.WriteString("name", names[i]);
                    json.WriteString("description", tools[i].Description);
                    json.WritePropertyName("parameters");
                    if (tools[i].Parameters is { ValueKind: JsonValueKind.Object } schema)
                    {
                        schema.WriteTo(json);
                    }
                    else
                    {
                        json.WriteStartObject();
                        json.WriteString("type", "object");
                        json.WriteStartObject("properties");
                        json.WriteEndObject();
                        json.WriteEndObject();
                    }

                    json.WriteEndObject();
                    json.WriteEndObject();
                }

                json.WriteEndArray();
            }

            json.WriteString("reasoning_effort", conversation.System.ReasoningEffort switch
            {
                ReasoningEffort.Low => "low",
                ReasoningEffort.High => "high",
                _ => "medium",
            });
            json.WriteNumber("max_tokens", request.MaxTokens);
            json.WriteNumber("temperature", request.Temperature);
            json.WriteNumber("top_p", request.TopP);
            if (request.Seed is { } seed)
            {
                json.WriteNumber("seed", seed);
            }

            json.WriteEndObject();
        }

        return buffer.WrittenSpan.ToArray();
    }

    // The developer instructions as the system message, then the chat. Tool calls get ids of their own, call_1,
    // call_2, ... in order, and each result answers the oldest open call to its tool. Reasoning (only the current
    // turn's is rendered) goes with the assistant message it led to as "reasoning", which vLLM's gpt-oss chat turns
    // back into the analysis message; servers that do not know the field drop it.
    private static void WriteMessages(Utf8JsonWriter json, HarmonyConversation conversation)
    {
        json.WriteStartArray("messages");
        if (conversation.Developer?.Instructions is { Length: > 0 } instructions)
        {
            WriteText(json, "system", instructions, null);
        }

        var open = new List<(string Name, string Id)>();
        int calls = 0;
        string? reasoning = null;
        IReadOnlyList<HarmonyMessage> messages = conversation.Messages;
        for (int i = 0; i < messages.Count; i++)
        {
            HarmonyMessage message = messages[i];
            switch (message.Role)
            {
                case HarmonyRole.User:
                    reasoning = null;
                    WriteText(json, "user", message.Content, null);
                    break;
                case HarmonyRole.Assistant when message.Recipient is { } recipient:
                    open.Add((ToolName(recipient), $"call_{++calls}"));
                    WriteCall(json, null, reasoning, open[^1].Name, message.Content, open[^1].Id);
                    reasoning = null;
                    break;
                case HarmonyRole.Assistant when message.Channel == HarmonyChannel.Analysis:
                    reasoning = reasoning is null ? message.Content : reasoning + "\n" + message.Content;
                    break;
                case HarmonyRole.Assistant when i + 1 < messages.Count && messages[i + 1] is { Role: HarmonyRole.Assistant, Recipient: { } next } call:
                    // A preamble and the call that follows it are one chat message.
                    open.Add((ToolName(next), $"call_{++calls}"));
                    WriteCall(json, message.Content, reasoning, open[^1].Name, call.Content, open[^1].Id);
                    reasoning = null;
                    i++;
                    break;
                case HarmonyRole.Assistant:
                    WriteText(json, "assistant", message.Content, reasoning);
                    reasoning = null;
                    break;
                case HarmonyRole.Tool:
                    reasoning = null;
                    string name = ToolName(message.Author ?? "");
                    int match = open.FindIndex(c => c.Name == name);
                    string id = match >= 0 ? open[match].Id : calls > 0 ? $"call_{calls}" : "call_0";
                    if (match >= 0)
                    {
                        open.RemoveAt(match);
                    }

                    json.WriteStartObject();
                    json.WriteString("role", "tool");
                    json.WriteString("tool_call_id", id);
                    json.WriteString("content", message.Content);
                    json.WriteEndObject();
                    break;
            }
        }

        json.WriteEndArray();
    }

    private static void WriteCall(Utf8JsonWriter json, string? content, string? reasoning, string name, string arguments, string id)
    {
        json.WriteStartObject();
        json.WriteString("role", "assistant");
        if (content is null)
        {
            json.WriteNull("content");
        }
        else
        {
            json.WriteString("content", content);
        }

        if (reasoning is not null)
        {
            json.WriteString("reasoning", reasoning);
        }

        json.WriteStartArray("tool_calls");
        json.WriteStartObject();
        json.WriteString("id", id);
        json.WriteString("type", "function");
        json.WriteStartObject("function");
        json.WriteString("name", name);
        json.WriteString("arguments", arguments);
        json.WriteEndObject();
        json.WriteEndObject();
        json.WriteEndArray();
        json.WriteEndObject();
    }

    private static void WriteText(Utf8JsonWriter json, string role, string content, string? reasoning)
    {
        json.WriteStartObject();
        json.WriteString("role", role);
        json.WriteString("content", content);
        if (reasoning is not null)
        {
            json.WriteString("reasoning", reasoning);
        }

        json.WriteEndObject();
    }

    private static string ToolName(string recipient) =>
        recipient.StartsWith(FunctionsPrefix, StringComparison.Ordinal) ? recipient[FunctionsPrefix.Length..] : recipient;

    /// <summary>Writes the Harmony ids of a chat answer as its deltas come, text as it comes.</summary>
    private sealed class HarmonyWriter(IHarmonyTokenizer tokenizer)
    {
        private readonly HarmonySpecialTokens _special = tokenizer.SpecialTokens;
        private readonly List<int> _pending = [];
        private readonly StringBuilder _earlyArguments = new();
        private State _state;
        private int? _toolIndex;

        private enum State
        {
            Start,
            Analysis,
            Final,
            Tool,
            Done,
        }

        /// <summary>The ids written since the last call.</summary>
        public int[] Take()
        {
            int[] tokens = [.. _pending];
            _pending.Clear();
            return tokens;
        }

        public void Reasoning(string text)
        {
            if (_state == State.Start)
            {
                Header("analysis");
                _state = State.Analysis;
            }

            // Reasoning after the answer or the call began has no place in Harmony; it is dropped.
            if (_state == State.Analysis)
            {
                Text(text);
            }
        }

        public void Content(string text)
        {
            if (_state is State.Start or State.Analysis)
            {
                Next();
                Header("final");
                _state = State.Final;
            }

            if (_state == State.Final)
            {
                Text(text);
            }
        }

        public void ToolCall(int index, string? name, string? arguments)
        {
            _toolIndex ??= index;
            if (index != _toolIndex || _state == State.Done)
            {
                // Only the first call of an answer is taken: Harmony ends a completion at the first <|call|>.
                return;
            }

            if (_state != State.Tool)
            {
                if (name is null)
                {
                    _earlyArguments.Append(arguments);
                    return;
                }

                Next();
                _pending.Add(_special.Channel);
                Text($"commentary to={FunctionsPrefix}{name} ");
                _pending.Add(_special.Constrain);
                Text("json");
                _pending.Add(_special.Message);
                _state = State.Tool;
                if (_earlyArguments.Length > 0)
                {
                    Text(_earlyArguments.ToString());
                    _earlyArguments.Clear();
                }
            }

            if (arguments is not null)
            {
                Text(arguments);
            }
        }

        /// <summary>The answer ended: a call ends with <c>&lt;|call|&gt;</c>, an answer with <c>&lt;|return|&gt;</c>, a cut one with nothing.</summary>
        public void Finish(string reason)
        {
            if (reason is "length" or "content_filter")
            {
                // Cut short: no terminator, as when the model runs out of tokens.
            }
            else if (_state == State.Tool)
            {
                _pending.Add(_special.Call);
            }
            else
            {
                Content("");
                _pending.Add(_special.Return);
            }

            _state = State.Done;
        }

        // Ends the message in progress; the next one starts as the model starts it.
        private void Next()
        {
            if (_state is State.Analysis or State.Final)
            {
                _pending.Add(_special.End);
                _pending.Add(_special.Start);
                Text("assistant");
            }
        }

        private void Header(string channel)
        {
            _pending.Add(_special.Channel);
            Text(channel);
            _pending.Add(_special.Message);
        }

        private void Text(string text)
        {
            if (text.Length > 0)
            {
                tokenizer.EncodeOrdinary(Encoding.UTF8.GetBytes(text), _pending);
            }
        }
    }
}
