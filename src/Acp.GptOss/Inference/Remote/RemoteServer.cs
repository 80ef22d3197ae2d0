using System.Net;
using System.Net.Http.Headers;
using System.Net.ServerSentEvents;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;

namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// One remote server over HTTP: JSON requests, server-sent event streams, and every failure (unreachable, an error
/// status, a stall, a cut stream) turned into an <see cref="InferenceException"/> that names the server and says why.
/// </summary>
/// <remarks>Thread-safe. A stream whose reader stops early is closed at once, not drained: that is how the server learns the
/// client left and drops the request.</remarks>
internal sealed class RemoteServer : IDisposable
{
    private const int MaxErrorBody = 64 * 1024;

    private readonly HttpClient _http;
    private readonly TimeProvider _time;

    /// <summary>A server at the options' endpoint.</summary>
    /// <param name="options">Where and how.</param>
    /// <param name="handler">The HTTP handler; by default one that closes abandoned streams at once.</param>
    /// <param name="time">The clock of the stall timeout.</param>
    public RemoteServer(RemoteEngineOptions options, HttpMessageHandler? handler = null, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        _time = time ?? TimeProvider.System;
        Endpoint = options.Endpoint.AbsoluteUri.EndsWith('/') ? options.Endpoint : new Uri(options.Endpoint.AbsoluteUri + "/");
        StallTimeout = options.StallTimeout;
        // Closing a response early must close its connection: draining it (the default, up to 1 MB) would let the
        // server go on generating for a client that has left.
        handler ??= new SocketsHttpHandler { ConnectTimeout = options.ConnectTimeout, MaxResponseDrainSize = 0, PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) };
        _http = new HttpClient(handler) { BaseAddress = Endpoint, Timeout = Timeout.InfiniteTimeSpan };
        if (options.ApiKey is { Length: > 0 } key)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
    }

    /// <summary>The server's base address, ending in a slash.</summary>
    public Uri Endpoint { get; }

    /// <summary>How long a request may go without receiving a byte.</summary>
    public TimeSpan StallTimeout { get; }

    /// <summary>GETs <paramref name="path"/> as JSON; null when the server has no such path (404, 405), for probes.</summary>
    /// <exception cref="InferenceException">Unreachable, another error status, a stall, or not JSON.</exception>
    public async Task<JsonDocument?> TryGetJsonAsync(string path, CancellationToken cancellationToken)
    {
        using CancellationTokenSource stall = StallTimer(cancellationToken, out CancellationTokenRegistration link);
        using CancellationTokenRegistration linked = link;
        stall.CancelAfter(StallTimeout);
        try
        {
            using HttpResponseMessage response = await _http.GetAsync(path, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.MethodNotAllowed)
            {
                return null;
            }

            await ThrowIfFailedAsync(response, path, stall.Token).ConfigureAwait(false);
            using Stream body = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
            return await JsonDocument.ParseAsync(body, default, stall.Token).ConfigureAwait(false);
        }
        catch (JsonException e)
        {
            throw new InferenceException($"The server at {Endpoint} answered GET /{path} with something that is not JSON: {e.Message}", e);
        }
        catch (Exception e) when (Translate(e, path, cancellationToken) is { } translated)
        {
            throw translated;
        }
    }

    /// <summary>
    /// POSTs <paramref name="body"/> (JSON) to <paramref name="path"/> and streams the data of each server-sent event
    /// as it arrives. Ends when the server ends the stream; the caller decides whether it ended too early.
    /// </summary>
    /// <exception cref="InferenceException">Unreachable, an error status, or no byte for <see cref="StallTimeout"/>.</exception>
    public async IAsyncEnumerable<ReadOnlyMemory<byte>> PostEventsAsync(string path, byte[] body, [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        using CancellationTokenSource stall = StallTimer(cancellationToken, out CancellationTokenRegistration link);
        using CancellationTokenRegistration linked = link;
        using var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        request.Headers.Accept.Add(new MediaTypeWithQualityHeaderValue("text/event-stream"));
        HttpResponseMessage response;
        Stream stream;
        stall.CancelAfter(StallTimeout);
        try
        {
            response = await _http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, stall.Token).ConfigureAwait(false);
            await ThrowIfFailedAsync(response, path, stall.Token).ConfigureAwait(false);
            stream = await response.Content.ReadAsStreamAsync(stall.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (Translate(e, path, cancellationToken) is { } translated)
        {
            throw translated;
        }

        using (response)
        await using (var guarded = new StallGuardStream(stream, stall, StallTimeout))
        {
            IAsyncEnumerator<SseItem<ReadOnlyMemory<byte>>> events = SseParser.Create(guarded, static (_, data) => (ReadOnlyMemory<byte>)data.ToArray())
                .EnumerateAsync(stall.Token).GetAsyncEnumerator(stall.Token);
            await using (events.ConfigureAwait(false))
            {
                while (true)
                {
                    try
                    {
                        if (!await events.MoveNextAsync().ConfigureAwait(false))
                        {
                            yield break;
                        }
                    }
                    catch (Exception e) when (Translate(e, path, cancellationToken) is { } translated)
                    {
                        throw translated;
                    }

                    yield return events.Current.Data;
                }
            }
        }
    }

    public void Dispose() => _http.Dispose();

    /// <summary>The message of an OpenAI-style, FastAPI-style or plain error body.</summary>
    internal static string ErrorMessage(ReadOnlySpan<byte> body)
    {
        try
        {
            using JsonDocument document = JsonDocument.Parse(body.ToArray());
            JsonElement root = document.RootElement;
            if (root.ValueKind == JsonValueKind.Object)
            {
                foreach (string key in (string[])["error", "detail", "message"])
                {
                    if (root.TryGetProperty(key, out JsonElement value))
                    {
                        return value.ValueKind switch
                        {
                            JsonValueKind.String => value.GetString()!,
                            JsonValueKind.Object when value.TryGetProperty("message", out JsonElement message) && message.ValueKind == JsonValueKind.String => message.GetString()!,
                            _ => value.GetRawText(),
                        };
                    }
                }
            }
        }
        catch (JsonException)
        {
            // Not JSON: the text itself says it.
        }

        string text = Encoding.UTF8.GetString(body).Trim();
        return text.Length == 0 ? "(no message)" : text;
    }

    // A source that the caller's token cancels and the stall timer, on this server's clock, cancels too.
    private CancellationTokenSource StallTimer(CancellationToken cancellationToken, out CancellationTokenRegistration link)
    {
        var stall = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        link = cancellationToken.UnsafeRegister(static s => ((CancellationTokenSource)s!).Cancel(), stall);
        return stall;
    }

    private async Task ThrowIfFailedAsync(HttpResponseMessage response, string path, CancellationToken cancellationToken)
    {
        if (response.IsSuccessStatusCode)
        {
            return;
        }

        byte[] bytes = new byte[MaxErrorBody];
        int length = 0;
        using (Stream body = await response.Content.ReadAsStreamAsync(cancellationToken).ConfigureAwait(false))
        {
            int read;
            while (length < bytes.Length && (read = await body.ReadAsync(bytes.AsMemory(length), cancellationToken).ConfigureAwait(false)) > 0)
            {
                length += read;
            }
        }

        string hint = response.StatusCode switch
        {
            HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => " (check --api-key-file)",
            HttpStatusCode.NotFound => " (is this the right --remote-kind?)",
            _ => "",
        };
        string message = $"The server at {Endpoint} answered /{path} with {(int)response.StatusCode} {response.ReasonPhrase}{hint}: {ErrorMessage(bytes.AsSpan(0, length))}";
        // A refusal of this request says nothing of the server's health; a wrong key, path or kind, or a 5xx, does.
        throw response.StatusCode is HttpStatusCode.BadRequest or HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.UnprocessableEntity or HttpStatusCode.TooManyRequests
            ? new RemoteRequestException(message)
            : new InferenceException(message);
    }

    // The caller's own cancel stays a cancel; everything else names the server.
    private InferenceException? Translate(Exception e, string path, CancellationToken cancellationToken) => e switch
    {
        InferenceException => null,
        OperationCanceledException when cancellationToken.IsCancellationRequested => null,
        OperationCanceledException or TimeoutException =>
            new InferenceException($"The server at {Endpoint} sent nothing for {StallTimeout.TotalSeconds:0.#} s on /{path}: it may be stalled or overloaded.", e),
        HttpRequestException =>
            new InferenceException($"Cannot reach the server at {Endpoint} (/{path}): {e.Message}", e),
        IOException =>
            new InferenceException($"Lost the connection to the server at {Endpoint} (/{path}): {e.Message}", e),
        _ => null,
    };

    // Restarts the stall timer around every read, so that a stream fails when no byte comes for the stall timeout,
    // however long the whole completion takes.
    private sealed class StallGuardStream(Stream inner, CancellationTokenSource stall, TimeSpan timeout) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            stall.CancelAfter(timeout);
            int read = await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            stall.CancelAfter(Timeout.InfiniteTimeSpan);
            return read;
        }

        public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
