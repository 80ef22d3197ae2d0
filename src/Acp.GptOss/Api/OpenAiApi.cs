using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Inference;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Net.Http.Headers;

namespace Acp.GptOss.Api;

/// <summary>
/// The OpenAI-compatible HTTP API (docs/api.md): <c>/v1/models</c>, <c>/v1/chat/completions</c>,
/// <c>/v1/completions</c> and <c>/metrics</c>, on GPT-OSS through the completion core. The relay's server mounts it
/// behind its own token, origin and address checks; this class sees only admitted requests.
/// </summary>
/// <remarks>Thread-safe. A request's generation runs under its token: a client that goes away cancels it at once.</remarks>
internal sealed partial class OpenAiApi : IAsyncDisposable
{
    public const string ServedModelId = "gpt-oss";

    /// <summary>Seconds a client told 503 (the model is loading) should wait before it asks again.</summary>
    public const int LoadingRetryAfterSeconds = 5;

    private const string EventStream = "text/event-stream";

    private readonly ApiOptions _options;
    private readonly IInferenceEngine _engine;
    private readonly Func<IEnumerable<IModel>> _models;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly IGenerationSlots _slots;
    private readonly ApiMetrics _metrics;

    /// <param name="options">Defaults and limits.</param>
    /// <param name="engine">GPT-OSS.</param>
    /// <param name="models">Every model of the process, for <c>/metrics</c>.</param>
    /// <param name="telemetry">The engines' telemetry, for <c>/metrics</c>.</param>
    /// <param name="time">The clock the figures are measured with.</param>
    /// <param name="logger">The API's log.</param>
    /// <param name="slots">Where generations get a session; a <see cref="SessionPool"/> when null.</param>
    public OpenAiApi(
        ApiOptions options, IInferenceEngine engine, Func<IEnumerable<IModel>> models, Telemetry telemetry, TimeProvider time, ILogger logger,
        IGenerationSlots? slots = null)
    {
        _options = options;
        _engine = engine;
        _models = models;
        _time = time;
        _logger = logger;
        _slots = slots ?? new SessionPool(engine, Math.Max(1, options.MaxConcurrentGenerations), Math.Max(0, options.MaxQueuedRequests));
        _metrics = new ApiMetrics(telemetry);
    }

    /// <summary>Whether <paramref name="path"/> is the API's.</summary>
    public static bool Handles(string? path) => path is not null && (path == "/v1" || path.StartsWith("/v1/", StringComparison.Ordinal) || path == "/metrics");

    public async ValueTask DisposeAsync()
    {
        _metrics.Dispose();
        await _slots.DisposeAsync().ConfigureAwait(false);
    }

    /// <summary>Answers an admitted request.</summary>
    /// <param name="context">The request.</param>
    /// <param name="cancellationToken">The client's going away, or the server's stopping.</param>
    public async Task HandleAsync(HttpContext context, CancellationToken cancellationToken)
    {
        string path = context.Request.Path.Value!;
        string method = context.Request.Method;
        string endpoint = path is "/v1/models" or "/v1/chat/completions" or "/v1/completions" or "/metrics" ? path : "other";
        try
        {
            switch (path)
            {
                case "/v1/models" when HttpMethods.IsGet(method):
                    await ModelsAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/metrics" when HttpMethods.IsGet(method):
                    await MetricsAsync(context, cancellationToken).ConfigureAwait(false);
                    break;
                case "/v1/chat/completions" when HttpMethods.IsPost(method):
                    await CompleteAsync(context, chat: true, cancellationToken).ConfigureAwait(false);
                    break;
                case "/v1/completions" when HttpMethods.IsPost(method):
                    await CompleteAsync(context, chat: false, cancellationToken).ConfigureAwait(false);
                    break;
                case "/v1/models" or "/metrics":
                    throw new ApiException(StatusCodes.Status405MethodNotAllowed, $"{path} takes GET.", code: "method_not_allowed");
                case "/v1/chat/completions" or "/v1/completions":
                    throw new ApiException(StatusCodes.Status405MethodNotAllowed, $"{path} takes POST.", code: "method_not_allowed");
                default:
                    throw new ApiException(StatusCodes.Status404NotFound, $"Unknown endpoint {method} {path}: this server has /v1/models, /v1/chat/completions and /v1/completions.",
                        code: "unknown_url");
            }
        }
        catch (ApiException e) when (!context.Response.HasStarted)
        {
            await WriteErrorAsync(context, e).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The client went away, or the server is stopping: nobody to answer.
        }
        finally
        {
            _metrics.RecordRequest(endpoint, context.Response.StatusCode);
        }
    }

    /// <summary>Writes <paramref name="error"/> as OpenAI does: its status, and <c>{"error": {...}}</c>.</summary>
    public static Task WriteErrorAsync(HttpContext context, ApiException error)
    {
        context.Response.StatusCode = error.Status;
        if (error.RetryAfterSeconds is { } seconds)
        {
            context.Response.Headers[HeaderNames.RetryAfter] = seconds.ToString(CultureInfo.InvariantCulture);
        }

        byte[] body = JsonSerializer.SerializeToUtf8Bytes(
            new ApiErrorBody(new ApiErrorDetail(error.Message, error.Type, error.Param, error.Code)), ApiJsonContext.Wire.ApiErrorBody);
        return WriteJsonAsync(context, body, CancellationToken.None);
    }

    private async Task ModelsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var entries = new List<ModelEntry>();
        IModel? served = ServedModel();
        string? servedPath = null;
        if (served is null)
        {
            entries.Add(new ModelEntry(ServedModelId, 0, ApiNames.State(ModelState.Ready), null));
        }
        else
        {
            ModelStatus status = served.GetStatus();
            servedPath = status.Path;
            entries.Add(new ModelEntry(ServedModelId, Created(status.Path), ApiNames.State(status.State), status.Path)
            {
                Aliases = [Alias(status.Path)],
                Error = status.Error,
                LoadProgress = status.State == ModelState.Loading ? status.LoadProgress : null,
            });
        }

        foreach (string path in _options.DiscoverModels?.Invoke() ?? [])
        {
            if (!string.Equals(Path.GetFullPath(path), servedPath is null ? null : Path.GetFullPath(servedPath), StringComparison.Ordinal))
            {
                entries.Add(new ModelEntry(Alias(path), Created(path), "available", path));
            }
        }

        await WriteJsonAsync(context, JsonSerializer.SerializeToUtf8Bytes(new ModelList(entries), ApiJsonContext.Wire.ModelList), cancellationToken)
            .ConfigureAwait(false);
    }

    private async Task MetricsAsync(HttpContext context, CancellationToken cancellationToken)
    {
        var text = new StringBuilder();
        _metrics.WriteTo(text, _models(), _slots);
        byte[] body = Encoding.UTF8.GetBytes(text.ToString());
        context.Response.ContentType = "text/plain; version=0.0.4; charset=utf-8";
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    private async Task CompleteAsync(HttpContext context, bool chat, CancellationToken cancellationToken)
    {
        long started = _time.GetTimestamp();
        ReadOnlyMemory<byte> body = await ReadBodyAsync(context.Request, cancellationToken).ConfigureAwait(false);
        CompletionRequest request = chat ? CompletionRequestReader.ReadChat(body, _options) : CompletionRequestReader.ReadText(body, _options);
        CheckModelName(request.Model);
        await WaitForModelAsync(context.Request, cancellationToken).ConfigureAwait(false);

        GenerationLease lease;
        try
        {
            lease = await _slots.AcquireAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException e)
        {
            throw Unavailable(e);
        }

        await using (lease.ConfigureAwait(false))
        {
            using var generation = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            var run = new GenerationRun(this, context, request, chat, generation, started);
            try
            {
                await run.RunAsync(lease.Session).ConfigureAwait(false);
            }
            catch (InferenceException e)
            {
                lease.Failed = true;
                LogEngineFailed(_logger, e.Message);
                _metrics.RecordGeneration(null, null, null, TimeSpan.Zero);
                _options.GenerationEnded?.Invoke(null);
                if (context.Response.HasStarted)
                {
                    await run.WriteStreamErrorAsync(Unavailable(e)).ConfigureAwait(false);
                    return;
                }

                throw Unavailable(e);
            }
        }
    }

    private static ApiException Unavailable(InferenceException e) =>
        new(StatusCodes.Status503ServiceUnavailable, e.Message, code: "model_unavailable");

    private void CheckModelName(string name)
    {
        if (name == ServedModelId || (ServedModel()?.GetStatus().Path is { } path && (name == Alias(path) || name == Path.GetFileName(path))))
        {
            return;
        }

        string served = ServedModel()?.GetStatus().Path is { } p ? $"{ServedModelId} (or {Alias(p)})" : ServedModelId;
        throw new ApiException(StatusCodes.Status404NotFound, $"The model \"{name}\" does not exist here: this server runs {served}; GET /v1/models lists it.",
            "model", "model_not_found");
    }

    /// <summary>
    /// A client that sends <c>Prefer: wait=N</c> (RFC 7240) waits at most N seconds for the model to load, and gets
    /// 503 with <c>Retry-After</c> after that (at once with <c>wait=0</c>); the load goes on. Without it the request
    /// waits for the load as long as it takes, as a prompt does.
    /// </summary>
    private async Task WaitForModelAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (ServedModel() is not { } model || model.State == ModelState.Ready || PreferredWait(request) is not { } wait)
        {
            return;
        }

        model.StartLoading();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (wait > TimeSpan.Zero)
        {
            timeout.CancelAfter(wait);
            try
            {
                await model.LoadAsync(timeout.Token).ConfigureAwait(false);
                return;
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                // Waited as long as the client would.
            }
            catch (InferenceException e)
            {
                throw Unavailable(e);
            }
        }

        ModelStatus status = model.GetStatus();
        if (status.State == ModelState.Error)
        {
            throw new ApiException(StatusCodes.Status503ServiceUnavailable, $"The model failed to load: {status.Error}", code: "model_unavailable");
        }

        throw new ApiException(
            StatusCodes.Status503ServiceUnavailable,
            string.Create(CultureInfo.InvariantCulture, $"The model is loading ({status.LoadProgress:P0}); try again shortly, or send the request without Prefer: wait to wait for it."),
            code: "model_loading")
        {
            RetryAfterSeconds = LoadingRetryAfterSeconds,
        };
    }

    /// <summary>The seconds of <c>Prefer: wait=N</c>, or null when the client did not say.</summary>
    private static TimeSpan? PreferredWait(HttpRequest request)
    {
        foreach (string? header in request.Headers["Prefer"])
        {
            foreach (string preference in (header ?? "").Split([',', ';'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
            {
                if (preference.StartsWith("wait=", StringComparison.OrdinalIgnoreCase)
                    && int.TryParse(preference.AsSpan(5), NumberStyles.None, CultureInfo.InvariantCulture, out int seconds))
                {
                    return TimeSpan.FromSeconds(seconds);
                }
            }
        }

        return null;
    }

    private IModel? ServedModel() => _engine.Models.FirstOrDefault(m => m.Role == ModelRole.GptOss);

    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        int max = _options.MaxRequestBytes;
        if (request.ContentLength > max)
        {
            throw TooLarge(max);
        }

        using var buffer = new MemoryStream();
        byte[] chunk = new byte[16 * 1024];
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, cancellationToken).ConfigureAwait(false)) > 0)
            {
                if (buffer.Length + read > max)
                {
                    throw TooLarge(max);
                }

                buffer.Write(chunk, 0, read);
            }
        }
        catch (BadHttpRequestException e)
        {
            // Kestrel's own refusals of a body (a broken chunked encoding, say).
            throw new ApiException(e.StatusCode, $"The request body could not be read: {e.Message}");
        }

        return buffer.ToArray();
    }

    private static ApiException TooLarge(int max) => new(
        StatusCodes.Status413PayloadTooLarge, $"The request body is over {max} bytes (--max-message-bytes).", code: "request_too_large");

    private static string Alias(string path) => Path.GetFileNameWithoutExtension(path);

    private static long Created(string path)
    {
        try
        {
            return new DateTimeOffset(File.GetLastWriteTimeUtc(path)).ToUnixTimeSeconds();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return 0;
        }
    }

    private static async Task WriteJsonAsync(HttpContext context, byte[] body, CancellationToken cancellationToken)
    {
        context.Response.ContentType = "application/json";
        context.Response.Headers[HeaderNames.CacheControl] = "no-store";
        context.Response.ContentLength = body.Length;
        await context.Response.Body.WriteAsync(body, cancellationToken).ConfigureAwait(false);
    }

    private static string NewId(string prefix) => prefix + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(12));

    [LoggerMessage(Level = LogLevel.Warning, Message = "API generation failed: {Reason}")]
    private static partial void LogEngineFailed(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "API {Endpoint}: {PromptTokens} prompt tokens, {CompletionTokens} generated, finish {FinishReason}")]
    private static partial void LogGeneration(ILogger logger, string endpoint, int promptTokens, int completionTokens, string finishReason);
}
