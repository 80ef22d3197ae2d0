using System.Text;
using System.Text.Json;
using Acp.GptOss.Completions;
using Acp.GptOss.Inference;
using Microsoft.AspNetCore.Http;
using Microsoft.Net.Http.Headers;

namespace Acp.GptOss.Api;

internal sealed partial class OpenAiApi
{
    /// <summary>
    /// One request's generation, from the completion core's events to OpenAI's answer: one JSON body, or server-sent
    /// events (<c>data: {chunk}</c> each, then <c>data: [DONE]</c>) written and flushed as the model decodes.
    /// </summary>
    private sealed class GenerationRun(OpenAiApi api, HttpContext context, CompletionRequest request, bool chat, CancellationTokenSource generation, long started)
    {
        private static readonly byte[] s_data = "data: "u8.ToArray();
        private static readonly byte[] s_end = "\n\n"u8.ToArray();
        private static readonly byte[] s_done = "data: [DONE]\n\n"u8.ToArray();

        private readonly string _id = NewId(chat ? "chatcmpl-" : "cmpl-");
        private readonly long _created = api._time.GetUtcNow().ToUnixTimeSeconds();
        private readonly StringBuilder _content = new();
        private readonly StringBuilder _reasoning = new();
        private readonly List<ToolCallBody> _toolCalls = [];
        private long? _firstAt;
        private bool _clientGone;

        /// <exception cref="ApiException">The prompt does not fit; nothing was written.</exception>
        /// <exception cref="InferenceException">The engine failed; the stream may have begun.</exception>
        public async Task RunAsync(IInferenceSession session)
        {
            IAsyncEnumerable<CompletionEvent> events = chat
                ? CompletionRunner.StreamChatAsync(session, request.Conversation!, request.Options, generation.Token)
                : CompletionRunner.StreamRawAsync(session, request.RawPrompt!, request.Options, generation.Token);
            IAsyncEnumerator<CompletionEvent> stream = events.GetAsyncEnumerator(generation.Token);
            await using (stream.ConfigureAwait(false))
            {
                // The first event before any header, so that a prompt too long still gets its status.
                try
                {
                    if (!await stream.MoveNextAsync().ConfigureAwait(false))
                    {
                        return;
                    }
                }
                catch (PromptTooLongException e)
                {
                    throw new ApiException(StatusCodes.Status400BadRequest, e.Message, chat ? "messages" : "prompt", "context_length_exceeded");
                }

                if (request.Stream)
                {
                    await BeginStreamAsync().ConfigureAwait(false);
                }

                do
                {
                    await OnEventAsync(stream.Current).ConfigureAwait(false);
                }
                while (await stream.MoveNextAsync().ConfigureAwait(false));
            }
        }

        /// <summary>An engine failure after the stream began: an error event in OpenAI's shape, and no <c>[DONE]</c>.</summary>
        public Task WriteStreamErrorAsync(ApiException error) => WriteEventAsync(JsonSerializer.SerializeToUtf8Bytes(
            new ApiErrorBody(new ApiErrorDetail(error.Message, error.Type, error.Param, error.Code)), ApiJsonContext.Wire.ApiErrorBody));

        private async Task BeginStreamAsync()
        {
            HttpResponse response = context.Response;
            response.ContentType = EventStream;
            response.Headers[HeaderNames.CacheControl] = "no-cache";
            // Proxies that buffer (nginx) would hold the tokens back.
            response.Headers["X-Accel-Buffering"] = "no";
            if (chat)
            {
                await ChunkAsync(new ChunkDelta { Role = "assistant", Content = "" }, null).ConfigureAwait(false);
            }
            else
            {
                await WriteBodyAsync(Text("", null)).ConfigureAwait(false);
            }
        }

        private async Task OnEventAsync(CompletionEvent e)
        {
            if (e is not CompletionEnded)
            {
                _firstAt ??= api._time.GetTimestamp();
            }

            switch (e)
            {
                case ContentDelta content when request.Stream:
                    await (chat ? ChunkAsync(new ChunkDelta { Content = content.Text }, null) : WriteBodyAsync(Text(content.Text, null))).ConfigureAwait(false);
                    break;
                case ContentDelta content:
                    _content.Append(content.Text);
                    break;
                case ReasoningDelta reasoning when request.Stream:
                    await ChunkAsync(new ChunkDelta { ReasoningContent = reasoning.Text }, null).ConfigureAwait(false);
                    break;
                case ReasoningDelta reasoning:
                    _reasoning.Append(reasoning.Text);
                    break;
                case ToolCallDelta call:
                    var body = new ToolCallBody(call.Id, new FunctionCallBody(call.Name, call.Arguments)) { Index = _toolCalls.Count };
                    _toolCalls.Add(body);
                    if (request.Stream)
                    {
                        await ChunkAsync(new ChunkDelta { ToolCalls = [body] }, null).ConfigureAwait(false);
                    }

                    break;
                case CompletionEnded end:
                    await EndAsync(end).ConfigureAwait(false);
                    break;
            }
        }

        private async Task EndAsync(CompletionEnded end)
        {
            long now = api._time.GetTimestamp();
            TimeSpan? firstToken = _firstAt is { } first ? api._time.GetElapsedTime(started, first) : null;
            TimeSpan decode = _firstAt is { } f ? api._time.GetElapsedTime(f, now) : TimeSpan.Zero;
            string reason = ApiNames.FinishReason(end.FinishReason);
            api._metrics.RecordGeneration(end.FinishReason, end.Usage, firstToken, decode);
            LogGeneration(api._logger, context.Request.Path.Value!, end.Usage.PromptTokens, end.Usage.CompletionTokens, reason);
            try
            {
                if (end.FinishReason == CompletionFinishReason.Cancelled)
                {
                    // The client went away, or the server is stopping: nobody reads an answer.
                    return;
                }

                var usage = new UsageBody(end.Usage.PromptTokens, end.Usage.CompletionTokens, end.Usage.TotalTokens);
                if (!request.Stream)
                {
                    await WriteAnswerAsync(reason, usage).ConfigureAwait(false);
                    return;
                }

                if (chat)
                {
                    await ChunkAsync(new ChunkDelta(), reason).ConfigureAwait(false);
                    if (request.IncludeUsage)
                    {
                        await WriteEventAsync(JsonSerializer.SerializeToUtf8Bytes(
                            new ChatCompletionChunk(_id, _created, request.Model, []) { Usage = usage }, ApiJsonContext.Wire.ChatCompletionChunk)).ConfigureAwait(false);
                    }
                }
                else
                {
                    await WriteBodyAsync(Text("", reason) with { Usage = request.IncludeUsage ? usage : null }).ConfigureAwait(false);
                }

                await WriteAsync(s_done).ConfigureAwait(false);
            }
            finally
            {
                api._options.GenerationEnded?.Invoke(end.FinishReason);
            }
        }

        private Task WriteAnswerAsync(string reason, UsageBody usage)
        {
            byte[] json;
            if (chat)
            {
                var message = new ChatMessageBody(_content.Length > 0 || _toolCalls.Count == 0 ? _content.ToString() : null)
                {
                    ReasoningContent = _reasoning.Length > 0 ? _reasoning.ToString() : null,
                    ToolCalls = _toolCalls.Count > 0 ? [.. _toolCalls.Select(c => c with { Index = null })] : null,
                };
                json = JsonSerializer.SerializeToUtf8Bytes(
                    new ChatCompletionBody(_id, _created, request.Model, [new ChatChoice(0, message, reason)], usage), ApiJsonContext.Wire.ChatCompletionBody);
            }
            else
            {
                json = JsonSerializer.SerializeToUtf8Bytes(
                    new TextCompletionBody(_id, _created, request.Model, [new TextChoice(_content.ToString(), 0, reason)]) { Usage = usage },
                    ApiJsonContext.Wire.TextCompletionBody);
            }

            return Guarded(() => WriteJsonAsync(context, json, generation.Token));
        }

        private TextCompletionBody Text(string text, string? reason) => new(_id, _created, request.Model, [new TextChoice(text, 0, reason)]);

        private Task ChunkAsync(ChunkDelta delta, string? reason) => WriteEventAsync(JsonSerializer.SerializeToUtf8Bytes(
            new ChatCompletionChunk(_id, _created, request.Model, [new ChunkChoice(0, delta, reason)]), ApiJsonContext.Wire.ChatCompletionChunk));

        private Task WriteBodyAsync(TextCompletionBody body) =>
            WriteEventAsync(JsonSerializer.SerializeToUtf8Bytes(body, ApiJsonContext.Wire.TextCompletionBody));

        private Task WriteEventAsync(byte[] json) => Guarded(async () =>
        {
            Stream body = context.Response.Body;
            await body.WriteAsync(s_data, generation.Token).ConfigureAwait(false);
            await body.WriteAsync(json, generation.Token).ConfigureAwait(false);
            await body.WriteAsync(s_end, generation.Token).ConfigureAwait(false);
            await body.FlushAsync(generation.Token).ConfigureAwait(false);
        });

        private Task WriteAsync(byte[] bytes) => Guarded(async () =>
        {
            await context.Response.Body.WriteAsync(bytes, generation.Token).ConfigureAwait(false);
            await context.Response.Body.FlushAsync(generation.Token).ConfigureAwait(false);
        });

        /// <summary>A write that fails means the client is gone: the generation is cancelled, and nothing more is written.</summary>
        private async Task Guarded(Func<Task> write)
        {
            if (_clientGone)
            {
                return;
            }

            try
            {
                await write().ConfigureAwait(false);
            }
            catch (Exception e) when (e is IOException or OperationCanceledException or ObjectDisposedException)
            {
                _clientGone = true;
                await generation.CancelAsync().ConfigureAwait(false);
            }
        }
    }
}
