using System.Diagnostics;
using System.Globalization;
using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Harmony.Rendering;
using LlamaCpp;
using Microsoft.Extensions.Logging.Abstractions;

namespace Inference.Benchmarks;

/// <summary>
/// One engine setup of the concurrency measurement: an engine with <c>Parallel</c> = <see cref="Parallel"/> and
/// <see cref="StreamCount"/> sessions on it, kept between rounds (as an editor's sessions are), each round's prompts
/// new, so that only the system prompt's first tokens are found in the cache.
/// </summary>
internal sealed class EngineStreams : IAsyncDisposable
{
    private readonly LlamaInferenceEngine _engine;
    private readonly IInferenceSession[] _sessions;
    private readonly HarmonyEncoding _encoding;
    private readonly int[] _stops;
    private readonly List<double> _reused = [];
    private readonly List<ConcurrencyRound> _rounds = [];
    private string? _context;
    private bool _measuring;
    private double _loadAverage = double.NaN;

    private EngineStreams(int streams, int parallel, LlamaInferenceEngine engine, IInferenceSession[] sessions)
    {
        StreamCount = streams;
        Parallel = parallel;
        _engine = engine;
        _sessions = sessions;
        _encoding = new HarmonyEncoding(sessions[0].Tokenizer);
        _stops = _encoding.SamplingStops.ToArray();
    }

    public int StreamCount { get; }

    public int Parallel { get; }

    public string Runner => (StreamCount, Parallel) switch
    {
        (1, 1) => "engine, 1 stream, its own context",
        (1, _) => $"engine, 1 stream, batched loop (parallel {Parallel})",
        (_, 1) => $"engine, {StreamCount} contexts racing (parallel 1)",
        _ => $"engine, batched (parallel {Parallel})",
    };

    public static async Task<EngineStreams> StartAsync(BenchModel model, BenchSettings settings, int streams, int parallel)
    {
        var telemetry = new Telemetry(NullLogger.Instance);
        LlamaInferenceEngine engine = StartEngine(model, settings, parallel, telemetry);
        IInferenceSession[] sessions = await SessionsAsync(engine, streams);
        var setup = new EngineStreams(streams, parallel, engine, sessions);
        telemetry.Subscribe(setup.Observe);
        return setup;
    }

    /// <summary>The engine every concurrency measurement runs: the benchmark model, greedy, <paramref name="parallel"/> sequences at once.</summary>
    public static LlamaInferenceEngine StartEngine(BenchModel model, BenchSettings settings, int parallel, Telemetry telemetry) =>
        LlamaInferenceEngine.Start(
            new LlamaEngineOptions
            {
                ModelPath = model.Path,
                ContextSize = settings.ContextSize,
                Threads = settings.Threads,
                Parallel = parallel,
                Sampling = new LlamaSamplingOptions { Temperature = 0 },
            },
            telemetry,
            NullLoggerFactory.Instance);

    /// <summary>Sessions <c>stream0</c>, <c>stream1</c>, ... of <paramref name="engine"/>, made at once.</summary>
    public static Task<IInferenceSession[]> SessionsAsync(LlamaInferenceEngine engine, int streams) =>
        Task.WhenAll(Enumerable.Range(0, streams)
            .Select(i => engine.CreateSessionAsync(string.Create(CultureInfo.InvariantCulture, $"stream{i}"), CancellationToken.None).AsTask()));

    /// <summary>Every stream answers its prompt of round <paramref name="round"/> at once; round 0, a short warm-up, is not kept.</summary>
    public async Task RoundAsync(int round, int tokens)
    {
        Volatile.Write(ref _measuring, round > 0);
        var options = new GenerationOptions(tokens, _stops);
        int[][] prompts = [.. Enumerable.Range(0, StreamCount).Select(i => _encoding.RenderForCompletion(ConcurrencyBench.Conversation(round, i)))];
        long started = Stopwatch.GetTimestamp();
        StreamRun[] results = await Task.WhenAll(_sessions.Select((session, i) => Task.Run(() => StreamAsync(session, prompts[i], options, started))));
        if (round > 0)
        {
            _rounds.Add(new ConcurrencyRound(results));
            _loadAverage = ConcurrencyBench.LoadAverage();
        }
    }

    public ConcurrencyRun Result()
    {
        lock (_reused)
        {
            return new ConcurrencyRun(Runner, StreamCount, _rounds, _loadAverage, _reused.Count > 0 ? Stats.Median(_reused) : null, Volatile.Read(ref _context));
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (IInferenceSession session in _sessions)
        {
            await session.DisposeAsync();
        }

        await _engine.DisposeAsync();
    }

    private void Observe(TelemetryEvent e)
    {
        switch (e)
        {
            case InferenceEvent generation when Volatile.Read(ref _measuring):
                lock (_reused)
                {
                    _reused.Add(generation.ReusedTokens);
                }

                break;
            case LoadStageEvent { Stage: LoadStageEvent.ContextCreated, Detail: { } detail }:
                Volatile.Write(ref _context, detail);
                break;
        }
    }

    private static async Task<StreamRun> StreamAsync(IInferenceSession session, int[] prompt, GenerationOptions options, long started)
    {
        long first = 0;
        long last = 0;
        int generated = 0;
        await foreach (int token in session.GenerateAsync(prompt, options, CancellationToken.None))
        {
            last = Stopwatch.GetTimestamp();
            first = generated == 0 ? last : first;
            generated++;
        }

        return new StreamRun(prompt.Length, generated, Milliseconds(started, first), Milliseconds(started, last));
    }

    private static double Milliseconds(long from, long to) => Stopwatch.GetElapsedTime(from, to).TotalMilliseconds;
}
