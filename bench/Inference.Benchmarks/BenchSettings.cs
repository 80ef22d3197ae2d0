using System.Globalization;
using System.Reflection;

namespace Inference.Benchmarks;

/// <summary>What every measurement of one run shares.</summary>
internal sealed record BenchSettings
{
    public int Threads { get; init; } = 2;

    public int Tokens { get; init; } = 256;

    public int ContextSize { get; init; } = 8192;

    /// <summary>Measured repetitions of each decode run, after one warm-up.</summary>
    public int Repetitions { get; init; } = 5;

    /// <summary>Cancels per kind of cancel measurement.</summary>
    public int CancelTrials { get; init; } = 20;

    /// <summary>
    /// Whether each decode turn's prompt goes right after session/new, while the session's context is still being
    /// made; by default it waits for the telemetry that says the context is made, as a user takes a moment to
    /// write, and as the raw loop's clock starts once its own context is made.
    /// </summary>
    public bool PromptAtOnce { get; init; }

    /// <summary>Skip node-llama-cpp.</summary>
    public bool SkipNode { get; init; }

    /// <summary>Skip the cancel measurements.</summary>
    public bool SkipCancel { get; init; }

    /// <summary>The words of the long prompt whose prefill is cancelled (about 2.5 tokens each).</summary>
    public int LongPromptWords { get; init; } = 1600;

    /// <summary>Run only the warm-resume measurement.</summary>
    public bool ResumeOnly { get; init; }

    /// <summary>Pairs of warm and cold resume trials, after one pair of warm-up.</summary>
    public int ResumeTrials { get; init; } = 5;

    /// <summary>Run only the warm-resume measurement through the agent (with <c>--resume-only</c>, both resume measurements).</summary>
    public bool AgentResumeOnly { get; init; }

    /// <summary>Pairs of warm and cold resumes through the agent, each in a fresh agent process.</summary>
    public int AgentResumeTrials { get; init; } = 3;

    /// <summary>The words of the resumed conversation's question: about 4,000 tokens rendered.</summary>
    public int ResumeWords { get; init; } = 1660;

    /// <summary>Run only the concurrency measurement (many streams at once on one model).</summary>
    public bool ConcurrencyOnly { get; init; }

    /// <summary>Run only the remote engine's overhead: the agent on llama-server against a plain client of it.</summary>
    public bool RemoteOnly { get; init; }

    /// <summary>Run only the batch decoder's step alone (where a batched step's time goes), printed, not saved.</summary>
    public bool StepOnly { get; init; }

    /// <summary>Leave the concurrency measurement out of the full run.</summary>
    public bool SkipConcurrency { get; init; }

    /// <summary>The numbers of streams decoded at once, each measured in its turn.</summary>
    public IReadOnlyList<int> Streams { get; init; } = [1, 2, 4, 8];

    /// <summary>The tokens each concurrent stream generates.</summary>
    public int ConcurrencyTokens { get; init; } = 128;

    /// <summary>Measured rounds of each number of streams, after a short warm-up round.</summary>
    public int ConcurrencyRounds { get; init; } = 3;

    /// <summary>Cancels of one stream among four batched ones.</summary>
    public int ConcurrentCancelTrials { get; init; } = 30;

    public static string RepositoryRoot { get; } = typeof(BenchSettings).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static string OutputDirectory => Path.Combine(RepositoryRoot, "artifacts", "bench");

    /// <summary>The built agent, beside the benchmark.</summary>
    public static string Agent => Path.Combine(AppContext.BaseDirectory, "acp-gptoss.dll");

    public static string NodeDirectory => Path.Combine(RepositoryRoot, "bench", "node");

    /// <summary>Reads <c>--repetitions N</c>, <c>--cancel-trials N</c>, <c>--tokens N</c>, <c>--threads N</c>, <c>--resume-trials N</c>, <c>--agent-resume-trials N</c> and the switches.</summary>
    /// <exception cref="ArgumentException">An unknown or malformed option.</exception>
    public static BenchSettings Parse(string[] args)
    {
        var settings = new BenchSettings();
        for (int i = 0; i < args.Length; i += 2)
        {
            switch (args[i])
            {
                case "--prompt-at-once":
                    settings = settings with { PromptAtOnce = true };
                    i--;
                    continue;
                case "--skip-node":
                    settings = settings with { SkipNode = true };
                    i--;
                    continue;
                case "--resume-only":
                    settings = settings with { ResumeOnly = true };
                    i--;
                    continue;
                case "--agent-resume-only":
                    settings = settings with { AgentResumeOnly = true };
                    i--;
                    continue;
                case "--skip-cancel":
                    settings = settings with { SkipCancel = true };
                    i--;
                    continue;
                case "--concurrency-only":
                    settings = settings with { ConcurrencyOnly = true };
                    i--;
                    continue;
                case "--remote-only":
                    settings = settings with { RemoteOnly = true, SkipNode = true };
                    i--;
                    continue;
                case "--step-only":
                    settings = settings with { StepOnly = true, SkipNode = true };
                    i--;
                    continue;
                case "--skip-concurrency":
                    settings = settings with { SkipConcurrency = true };
                    i--;
                    continue;
                case "--streams":
                    settings = settings with { Streams = ParseStreams(i + 1 < args.Length ? args[i + 1] : "") };
                    continue;
            }

            if (i + 1 >= args.Length || !int.TryParse(args[i + 1], CultureInfo.InvariantCulture, out int value) || value < 1)
            {
                throw new ArgumentException($"{args[i]} needs a positive number.");
            }

            settings = args[i] switch
            {
                "--repetitions" => settings with { Repetitions = value },
                "--cancel-trials" => settings with { CancelTrials = value },
                "--tokens" => settings with { Tokens = value },
                "--threads" => settings with { Threads = value },
                "--resume-trials" => settings with { ResumeTrials = value },
                "--agent-resume-trials" => settings with { AgentResumeTrials = value },
                "--concurrency-tokens" => settings with { ConcurrencyTokens = value },
                "--concurrency-rounds" => settings with { ConcurrencyRounds = value },
                "--concurrent-cancel-trials" => settings with { ConcurrentCancelTrials = value },
                _ => throw new ArgumentException(
                    $"Unknown option {args[i]}: use --repetitions, --cancel-trials, --tokens, --threads, --resume-trials, --agent-resume-trials, --streams 1,2,4,8, "
                    + "--concurrency-tokens, --concurrency-rounds, --concurrent-cancel-trials, --prompt-at-once, --skip-node, --skip-cancel, --skip-concurrency, "
                    + "--resume-only, --agent-resume-only, --concurrency-only, --step-only or --remote-only."),
            };
        }

        if (settings.Tokens < 32)
        {
            // Bytes per token are counted after the first 16, and cancels land between token 8 and the eighth-last.
            throw new ArgumentException("--tokens needs at least 32.");
        }

        if (settings.ConcurrencyTokens < 32)
        {
            // Cancels under load land between token 8 and the eighth-last.
            throw new ArgumentException("--concurrency-tokens needs at least 32.");
        }

        return settings;
    }

    private static int[] ParseStreams(string text)
    {
        string[] parts = text.Split(',');
        var streams = new int[parts.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            if (!int.TryParse(parts[i], CultureInfo.InvariantCulture, out streams[i]) || streams[i] < 1 || streams[i] > 64)
            {
                throw new ArgumentException($"--streams needs stream counts from 1 to 64, separated by commas (1,2,4,8); got '{text}'.");
            }
        }

        return [.. streams.Distinct().Order()];
    }

    public override string ToString() => string.Create(CultureInfo.InvariantCulture,
        $"{Threads} threads, greedy, {Tokens} generated tokens, {ContextSize}-token context, median of {Repetitions} runs after a warm-up; {CancelTrials} cancels of each kind; ")
        + (PromptAtOnce ? "each agent turn's prompt sent right after session/new" : "each agent turn's prompt sent once its session's context is made");
}
