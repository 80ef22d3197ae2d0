using System.Diagnostics;
using System.Runtime.CompilerServices;
using Harmony;
using Harmony.Tokenizers;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// GPT-OSS on a serving engine elsewhere (llama-server, vLLM, SGLang, or any OpenAI-compatible server), with
/// everything above the seam unchanged: the agent renders Harmony with the built-in o200k_harmony vocabulary, sends
/// token ids where the server takes them, and parses the token ids it streams back (docs/remote.md).
/// </summary>
internal sealed partial class RemoteInferenceEngine : IInferenceEngine
{
    private readonly RemoteServer _server;
    private readonly RemoteEngineOptions _options;
    private readonly RemoteModel _model;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;

    private RemoteInferenceEngine(RemoteEngineOptions options, RemoteServer server, IReadOnlyList<IRemoteDialect> dialects, Telemetry telemetry, ILogger logger)
    {
        _options = options;
        _server = server;
        _telemetry = telemetry;
        _logger = logger;
        _model = new RemoteModel(server, options, dialects, telemetry, logger);
    }

    public string Description => _model.Info is { } info
        ? $"remote {RemoteModel.WireName(info.Kind)} at {_server.Endpoint} ({info.Model})"
        : $"remote server at {_server.Endpoint}";

    public IReadOnlyList<IModel> Models => [_model];

    /// <summary>The dialects the engine knows, in the order detection tries them.</summary>
    public static IReadOnlyList<IRemoteDialect> Dialects { get; } = [new LlamaServerDialect(), new SglangDialect(), new VllmDialect(), new OpenAiChatDialect()];

    /// <summary>Creates the engine and starts checking the server in the background, as a local model starts loading.</summary>
    public static RemoteInferenceEngine Start(
        RemoteEngineOptions options, Telemetry telemetry, ILoggerFactory loggers, HttpMessageHandler? handler = null, IReadOnlyList<IRemoteDialect>? dialects = null,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(loggers);
        O200kHarmonyTokenizer.StartLoadingShared();
        var engine = new RemoteInferenceEngine(
            options, new RemoteServer(options, handler, time), dialects ?? Dialects, telemetry, loggers.CreateLogger("Acp.GptOss.Inference.Remote"));
        engine._model.StartLoading();
        return engine;
    }

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => CreateSessionAsync("", cancellationToken);

    public async ValueTask<IInferenceSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken)
    {
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(cancellationToken).ConfigureAwait(false);
        (IRemoteDialect _, RemoteModelInfo info) = await _model.ReadyAsync(cancellationToken).ConfigureAwait(false);
        return new Session(this, sessionId, tokenizer, info.ContextSize ?? _options.ContextSize);
    }

    public async ValueTask<int> CountTokensAsync(string text, CancellationToken cancellationToken)
    {
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(cancellationToken).ConfigureAwait(false);
        var tokens = new List<int>();
        tokenizer.EncodeOrdinary(System.Text.Encoding.UTF8.GetBytes(text), tokens);
        return tokens.Count;
    }

    public ValueTask DisposeAsync()
    {
        _server.Dispose();
        return ValueTask.CompletedTask;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Remote completion failed: {Reason}")]
    private static partial void LogCompletionFailed(ILogger logger, string reason);

    private sealed class Session(RemoteInferenceEngine engine, string sessionId, IHarmonyTokenizer tokenizer, int contextSize) : IInferenceSession
    {
        public IHarmonyTokenizer Tokenizer => tokenizer;

        public int ContextSize => contextSize;

        public async IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            (IRemoteDialect dialect, RemoteModelInfo info) = await engine._model.ReadyAsync(cancellationToken).ConfigureAwait(false);
            RemoteEngineOptions defaults = engine._options;
            var request = new RemoteRequest(
                prompt, options.Conversation, options.MaxTokens, options.StopTokens, options.Temperature ?? defaults.Temperature, options.TopP ?? defaults.TopP,
                options.Seed ?? defaults.Seed, tokenizer);
            long started = Stopwatch.GetTimestamp();
            long firstToken = 0;
            int generated = 0;
            string outcome = "failed";
            IAsyncEnumerator<int> tokens = dialect.GenerateAsync(engine._server, info, request, cancellationToken).GetAsyncEnumerator(cancellationToken);
            try
            {
                while (true)
                {
                    try
                    {
                        if (!await tokens.MoveNextAsync().ConfigureAwait(false))
                        {
                            break;
                        }
                    }
                    catch (InferenceException e)
                    {
                        LogCompletionFailed(engine._logger, e.Message);
                        if (e is not RemoteRequestException)
                        {
                            engine._model.ReportFailure(e.Message);
                        }

                        throw;
                    }

                    int token = tokens.Current;
                    generated++;
                    firstToken = firstToken == 0 ? Stopwatch.GetTimestamp() : firstToken;
                    yield return token;
                    if (options.StopTokens.Span.Contains(token))
                    {
                        // Ours to stop: leaving closes the stream, and the server drops the request.
                        break;
                    }
                }

                outcome = "done";
                engine._model.ReportSuccess();
            }
            finally
            {
                outcome = cancellationToken.IsCancellationRequested ? "cancelled" : outcome;
                await tokens.DisposeAsync().ConfigureAwait(false);
                Publish(prompt.Length, request.Usage, started, firstToken, generated, outcome);
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;

        private void Publish(int promptTokens, RemoteUsage usage, long started, long firstToken, int generated, string outcome)
        {
            double? firstMs = firstToken == 0 ? null : Stopwatch.GetElapsedTime(started, firstToken).TotalMilliseconds;
            double totalMs = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
            double? rate = generated > 1 && firstMs is { } first && totalMs > first ? (generated - 1) / ((totalMs - first) / 1000) : null;
            int cached = Math.Min(usage.CachedTokens ?? 0, promptTokens);
            engine._telemetry.Publish(new InferenceEvent(
                ModelRole.GptOss, sessionId, outcome, promptTokens, cached, firstMs is null ? 0 : promptTokens - cached, usage.PromptMs ?? firstMs ?? 0, firstMs,
                generated, rate, GenerationMs: totalMs));
        }
    }
}
