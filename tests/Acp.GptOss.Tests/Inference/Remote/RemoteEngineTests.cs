using System.IO.Pipelines;
using System.Net;
using System.Text;
using System.Text.Json;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Remote;
using Harmony;
using Harmony.Tokenizers;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;
using static Acp.GptOss.Tests.Support.RawPrompts;

namespace Acp.GptOss.Tests.Inference.Remote;

/// <summary>
/// The remote engine on the llama-server dialect against an in-process server that answers as llama-server does
/// (the fields of its /props, /v1/models and streamed /completion events: docs/remote.md §2): token ids through,
/// immediate cancel, and every failure a clear error that leaves the engine usable.
/// </summary>
public sealed class RemoteEngineTests
{
    private const string Answer = "<|channel|>final<|message|>Hello from afar<|return|>";
    private static readonly int[] s_stops = [.. HarmonySpecialTokens.O200kHarmony.SamplingStops];

    [Fact]
    public async Task The_token_ids_llama_server_streams_reach_the_caller_up_to_the_stop_token()
    {
        int[] answer = Tokenize(Answer);
        var server = new FakeLlamaServer { Events = [.. answer.Select((t, i) => FakeLlamaServer.Token(t, i + 1)), FakeLlamaServer.Final(answer.Length, cached: 3)] };
        var telemetry = new RecordedInference();
        await using RemoteInferenceEngine engine = Start(server, telemetry.Telemetry);
        await using IInferenceSession session = await engine.CreateSessionAsync("s1", CancellationToken.None);

        int[] received = await CollectAsync(session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops) { Temperature = 0 }, CancellationToken.None));

        Assert.Equal(answer, received);
        Assert.Equal(4096, session.ContextSize);
        using JsonDocument body = JsonDocument.Parse(server.CompletionBodies.Single());
        Assert.Equal(Prompt("Hi"), body.RootElement.GetProperty("prompt").EnumerateArray().Select(e => e.GetInt32()));
        Assert.True(body.RootElement.GetProperty("return_tokens").GetBoolean());
        Assert.True(body.RootElement.GetProperty("stream").GetBoolean());
        Assert.True(body.RootElement.GetProperty("timings_per_token").GetBoolean());
        Assert.Equal(64, body.RootElement.GetProperty("n_predict").GetInt32());
        Assert.Equal(0, body.RootElement.GetProperty("temperature").GetDouble());
        InferenceEvent done = telemetry.Events.Single();
        Assert.Equal(("s1", "done", Prompt("Hi").Length, 3, answer.Length), (done.SessionId, done.Outcome, done.PromptTokens, done.ReusedTokens, done.GeneratedTokens));
        Assert.Equal(ModelState.Ready, engine.Models.Single().State);
    }

    [Fact]
    public async Task Tokens_held_back_mid_character_are_recovered_from_the_next_events_text()
    {
        // "é" is two bytes; were it split over two tokens, llama-server would send no event for the first.
        O200kHarmonyTokenizer tokenizer = await O200kHarmonyTokenizer.LoadSharedAsync(CancellationToken.None);
        int[] head = Tokenize("<|channel|>final<|message|>Caf");
        int e = Tokenize("é")[0];
        int[] tail = Tokenize("!<|return|>");
        var events = new List<string>();
        events.AddRange(head.Select((t, i) => FakeLlamaServer.Token(t, i + 1)));
        // The first byte of "é" held back (no event), the second arrives with the count and text of both.
        int heldBack = ByteToken(tokenizer, 0xC3);
        int second = ByteToken(tokenizer, 0xA9);
        events.Add(FakeLlamaServer.Token(second, head.Length + 2, content: "é"));
        events.AddRange(tail.Select((t, i) => FakeLlamaServer.Token(t, head.Length + 3 + i)));
        events.Add(FakeLlamaServer.Final(head.Length + 2 + tail.Length));
        var server = new FakeLlamaServer { Events = events };
        await using RemoteInferenceEngine engine = Start(server);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);

        int[] received = await CollectAsync(session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops), CancellationToken.None));

        Assert.NotEqual(e, heldBack);
        Assert.Equal([.. head, heldBack, second, .. tail], received);
    }

    [Fact]
    public async Task Cancelling_mid_stream_throws_at_once_and_closes_the_servers_stream()
    {
        int[] answer = Tokenize(Answer);
        var server = new FakeLlamaServer { Events = [FakeLlamaServer.Token(answer[0], 1)], HoldOpen = true };
        await using RemoteInferenceEngine engine = Start(server);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);
        using var cancel = new CancellationTokenSource();
        var received = new List<int>();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (int token in session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops), cancel.Token))
            {
                received.Add(token);
                await cancel.CancelAsync();
            }
        });

        Assert.Equal([answer[0]], received);
        await server.StreamAbandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task An_error_status_is_a_clear_error_the_status_shows_until_a_completion_succeeds()
    {
        int[] answer = Tokenize(Answer);
        var server = new FakeLlamaServer
        {
            CompletionStatus = HttpStatusCode.InternalServerError,
            ErrorBody = """{"error":{"code":500,"message":"the slot ran out of memory","type":"server_error"}}""",
            Events = [.. answer.Select((t, i) => FakeLlamaServer.Token(t, i + 1)), FakeLlamaServer.Final(answer.Length)],
        };
        await using RemoteInferenceEngine engine = Start(server);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);

        InferenceException e = await Assert.ThrowsAsync<InferenceException>(() => CollectAsync(session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops), CancellationToken.None)));
        ModelStatus failed = engine.Models.Single().GetStatus();
        server.CompletionStatus = HttpStatusCode.OK;
        int[] again = await CollectAsync(session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops), CancellationToken.None));

        Assert.Contains("500", e.Message, StringComparison.Ordinal);
        Assert.Contains("the slot ran out of memory", e.Message, StringComparison.Ordinal);
        Assert.Contains(server.BaseAddress.AbsoluteUri, e.Message, StringComparison.Ordinal);
        Assert.Equal((ModelState.Error, e.Message), (failed.State, failed.Error));
        Assert.Equal(answer, again);
        Assert.Equal(ModelState.Ready, engine.Models.Single().State);
    }

    [Fact]
    public async Task A_request_the_server_refuses_is_an_error_for_that_request_and_leaves_the_status_ready()
    {
        var server = new FakeLlamaServer
        {
            CompletionStatus = HttpStatusCode.BadRequest,
            ErrorBody = """{"error":{"code":400,"message":"request (300 tokens) exceeds the available context size (256 tokens), try increasing it","type":"exceed_context_size_error","n_prompt_tokens":300,"n_ctx":256}}""",
        };
        await using RemoteInferenceEngine engine = Start(server);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);

        RemoteRequestException e = await Assert.ThrowsAsync<RemoteRequestException>(() => CollectAsync(session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops), CancellationToken.None)));

        Assert.Contains("400", e.Message, StringComparison.Ordinal);
        Assert.Contains("exceeds the available context size", e.Message, StringComparison.Ordinal);
        Assert.Equal(ModelState.Ready, engine.Models.Single().State);
    }

    [Fact]
    public async Task A_stream_that_ends_before_the_completion_does_is_an_error()
    {
        int[] answer = Tokenize(Answer);
        var server = new FakeLlamaServer { Events = [.. answer.Take(3).Select((t, i) => FakeLlamaServer.Token(t, i + 1))] };
        await using RemoteInferenceEngine engine = Start(server);
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);
        var received = new List<int>();

        InferenceException e = await Assert.ThrowsAsync<InferenceException>(async () =>
        {
            await foreach (int token in session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops), CancellationToken.None))
            {
                received.Add(token);
            }
        });

        Assert.Equal(answer.Take(3), received);
        Assert.Contains("closed the stream before the completion ended", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_that_goes_quiet_fails_the_completion_after_the_stall_timeout()
    {
        var time = new FakeTimeProvider();
        var server = new FakeLlamaServer { Events = [], HoldOpen = true };
        await using RemoteInferenceEngine engine = Start(server, time: time, stall: TimeSpan.FromSeconds(30));
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);

        Task<int[]> completion = CollectAsync(session.GenerateAsync(Prompt("Hi"), new GenerationOptions(64, s_stops), CancellationToken.None));
        await server.StreamReading.Task.WaitAsync(TimeSpan.FromSeconds(30));
        time.Advance(TimeSpan.FromSeconds(29));
        Assert.False(completion.IsCompleted);
        time.Advance(TimeSpan.FromSeconds(1));

        InferenceException e = await Assert.ThrowsAsync<InferenceException>(() => completion.WaitAsync(TimeSpan.FromSeconds(30)));
        Assert.Contains("sent nothing for 30 s", e.Message, StringComparison.Ordinal);
        await server.StreamAbandoned.Task.WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task An_unreachable_server_fails_the_session_with_its_address_and_the_next_try_probes_again()
    {
        var server = new FakeLlamaServer { Unreachable = true };
        await using RemoteInferenceEngine engine = Start(server);

        InferenceException e = await Assert.ThrowsAsync<InferenceException>(async () => await engine.CreateSessionAsync(CancellationToken.None));
        ModelStatus status = engine.Models.Single().GetStatus();
        server.Unreachable = false;
        await using IInferenceSession session = await engine.CreateSessionAsync(CancellationToken.None);

        Assert.Contains($"Cannot reach the server at {server.BaseAddress}", e.Message, StringComparison.Ordinal);
        Assert.Equal(ModelState.Error, status.State);
        Assert.Equal(server.BaseAddress.AbsoluteUri, status.Remote?.Endpoint);
        Assert.Equal(ModelState.Ready, engine.Models.Single().State);
        Assert.Equal(("llama-server", "gpt-oss-test.gguf"), (engine.Models.Single().GetStatus().Remote?.Kind, engine.Models.Single().GetStatus().Remote?.Model));
    }

    [Fact]
    public async Task A_model_the_server_does_not_serve_is_refused_by_name()
    {
        var server = new FakeLlamaServer();
        await using RemoteInferenceEngine engine = Start(server, model: "gpt-oss-120b");

        InferenceException e = await Assert.ThrowsAsync<InferenceException>(async () => await engine.CreateSessionAsync(CancellationToken.None));

        Assert.Contains("serves gpt-oss-test.gguf, not gpt-oss-120b", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_server_of_no_known_kind_is_refused_with_what_to_do()
    {
        var server = new FakeLlamaServer { NoProps = true };
        await using RemoteInferenceEngine engine = Start(server, dialects: [new LlamaServerDialect()], detect: true);

        InferenceException e = await Assert.ThrowsAsync<InferenceException>(async () => await engine.CreateSessionAsync(CancellationToken.None));

        Assert.Contains("--remote-kind", e.Message, StringComparison.Ordinal);
    }

    private static RemoteInferenceEngine Start(
        FakeLlamaServer server, Telemetry? telemetry = null, FakeTimeProvider? time = null, TimeSpan? stall = null, string? model = null,
        IReadOnlyList<IRemoteDialect>? dialects = null, bool detect = false) =>
        RemoteInferenceEngine.Start(
            new RemoteEngineOptions
            {
                Endpoint = server.BaseAddress,
                Model = model,
                Kind = detect ? null : RemoteKind.LlamaServer,
                StallTimeout = stall ?? TimeSpan.FromMinutes(5),
            },
            telemetry ?? new Telemetry(NullLogger.Instance), NullLoggerFactory.Instance, server, dialects, time);

    private static async Task<int[]> CollectAsync(IAsyncEnumerable<int> tokens)
    {
        var list = new List<int>();
        await foreach (int token in tokens)
        {
            list.Add(token);
        }

        return [.. list];
    }

    // The id whose bytes are this one byte alone.
    private static int ByteToken(O200kHarmonyTokenizer tokenizer, byte value)
    {
        var ids = new List<int>();
        tokenizer.EncodeOrdinary([value], ids);
        return Assert.Single(ids);
    }

    private sealed class RecordedInference
    {
        public RecordedInference()
        {
            Telemetry = new Telemetry(NullLogger.Instance);
            Telemetry.Subscribe(e =>
            {
                if (e is InferenceEvent inference)
                {
                    lock (Events)
                    {
                        Events.Add(inference);
                    }
                }
            });
        }

        public Telemetry Telemetry { get; }

        public List<InferenceEvent> Events { get; } = [];
    }
}

/// <summary>
/// Answers as llama-server does (tools/server in the llama.cpp release node-llama-cpp 3.22.1 ships): <c>/props</c>,
/// <c>/v1/models</c>, and <c>/completion</c> streamed as <c>data: {json}</c> events, each with the sampled id in
/// <c>tokens</c> and the count so far in <c>tokens_predicted</c>, the last with <c>stop: true</c>.
/// </summary>
internal sealed class FakeLlamaServer : HttpMessageHandler
{
    public Uri BaseAddress { get; } = new("http://fake-llama-server:8080/");

    public IReadOnlyList<string> Events { get; set; } = [];

    /// <summary>Keep the stream open after the events, as a server still generating.</summary>
    public bool HoldOpen { get; init; }

    public bool Unreachable { get; set; }

    public bool NoProps { get; init; }

    public HttpStatusCode CompletionStatus { get; set; } = HttpStatusCode.OK;

    public string ErrorBody { get; init; } = "";

    public List<string> CompletionBodies { get; } = [];

    public TaskCompletionSource StreamAbandoned { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public TaskCompletionSource StreamReading { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A token's event, with the timings <c>timings_per_token</c> asks for.</summary>
    public static string Token(int token, int predicted, string? content = null, int cached = 3) =>
        JsonSerializer.Serialize(new Dictionary<string, object>
        {
            ["index"] = 0, ["content"] = content ?? "", ["tokens"] = new[] { token }, ["stop"] = false, ["id_slot"] = 0, ["tokens_predicted"] = predicted,
            ["tokens_evaluated"] = 20, ["timings"] = new Dictionary<string, object> { ["cache_n"] = cached, ["prompt_n"] = 20 - cached, ["prompt_ms"] = 12.5 },
        });

    public static string Final(int predicted, int cached = 0) =>
        "{\"index\":0,\"content\":\"\",\"tokens\":[],\"id_slot\":0,\"stop\":true,\"model\":\"gpt-oss-test.gguf\","
        + $"\"tokens_predicted\":{predicted},\"tokens_evaluated\":20,\"stop_type\":\"eos\",\"stopping_word\":\"\",\"tokens_cached\":{predicted + 20},"
        + $"\"timings\":{{\"cache_n\":{cached},\"prompt_n\":{20 - cached},\"prompt_ms\":12.5,\"predicted_n\":{predicted},\"predicted_ms\":40.1}}}}";

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        if (Unreachable)
        {
            throw new HttpRequestException("Connection refused (fake-llama-server:8080)");
        }

        string path = request.RequestUri!.AbsolutePath;
        switch (path)
        {
            case "/props" when !NoProps:
                return Json("""{"default_generation_settings":{"params":{},"n_ctx":4096},"total_slots":1,"model_alias":"gpt-oss-test","model_path":"/models/gpt-oss-test.gguf","build_info":"b1-test"}""");
            case "/v1/models" when !NoProps:
                return Json("""{"object":"list","data":[{"id":"gpt-oss-test.gguf","object":"model","owned_by":"llamacpp"}]}""");
            case "/completion":
                CompletionBodies.Add(await request.Content!.ReadAsStringAsync(cancellationToken));
                if (CompletionStatus != HttpStatusCode.OK)
                {
                    return new HttpResponseMessage(CompletionStatus) { Content = new StringContent(ErrorBody, Encoding.UTF8, "application/json") };
                }

                var pipe = new Pipe();
                _ = WriteEventsAsync(pipe.Writer);
                return new HttpResponseMessage(HttpStatusCode.OK) { Content = new StreamContent(new WatchedStream(pipe.Reader.AsStream(), this)) };
            default:
                return new HttpResponseMessage(HttpStatusCode.NotFound) { Content = new StringContent("""{"error":{"code":404,"message":"File Not Found","type":"not_found_error"}}""") };
        }
    }

    private static HttpResponseMessage Json(string json) => new(HttpStatusCode.OK) { Content = new StringContent(json, Encoding.UTF8, "application/json") };

    private async Task WriteEventsAsync(PipeWriter writer)
    {
        foreach (string e in Events)
        {
            await writer.WriteAsync(Encoding.UTF8.GetBytes($"data: {e}\n\n"));
        }

        if (!HoldOpen)
        {
            await writer.CompleteAsync();
        }
    }

    // Tells the test when the client reads and when it lets go of the stream.
    private sealed class WatchedStream(Stream inner, FakeLlamaServer server) : Stream
    {
        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            server.StreamReading.TrySetResult();
            return await inner.ReadAsync(buffer, cancellationToken);
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

        protected override void Dispose(bool disposing)
        {
            server.StreamAbandoned.TrySetResult();
            inner.Dispose();
            base.Dispose(disposing);
        }
    }
}
