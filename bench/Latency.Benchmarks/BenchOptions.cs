using System.Globalization;
using System.Reflection;

namespace Latency.Benchmarks;

/// <summary>What one run measures, and with which agent.</summary>
internal sealed record BenchOptions
{
    public static string RepositoryRoot { get; } = typeof(BenchOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>The agent: an executable (a NativeAOT build, say) or a .dll; the Release build beside the benchmark by default.</summary>
    public string Agent { get; init; } = Path.Combine(AppContext.BaseDirectory, "acp-gptoss.dll");

    /// <summary>Trials per cancel moment, and session/new requests.</summary>
    public int Trials { get; init; } = 20;

    public int Spawns { get; init; } = 10;

    public int Threads { get; init; } = 2;

    /// <summary>A model to use instead of the generated one.</summary>
    public string? Model { get; init; }

    /// <summary>The sections to run (spawn, session, preflight, cold, warm, tools, scripted); all when empty.</summary>
    public IReadOnlySet<string> Only { get; init; } = new HashSet<string>();

    public bool Runs(string section) => Only.Count == 0 || Only.Contains(section);

    /// <summary>Where the table goes besides stdout.</summary>
    public string Output { get; init; } = Path.Combine(RepositoryRoot, "bench", "results", $"latency-{DateTime.UtcNow:yyyyMMdd-HHmm}.txt");

    public static string WorkDirectory => Path.Combine(RepositoryRoot, "artifacts", "bench", "latency");

    /// <exception cref="ArgumentException">An unknown or malformed option.</exception>
    public static BenchOptions Parse(string[] args)
    {
        var options = new BenchOptions();
        for (int i = 0; i < args.Length; i += 2)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            options = args[i] switch
            {
                "--agent" => options with { Agent = Path.GetFullPath(value) },
                "--trials" => options with { Trials = Positive(args[i], value) },
                "--spawns" => options with { Spawns = Positive(args[i], value) },
                "--threads" => options with { Threads = Positive(args[i], value) },
                "--model" => options with { Model = Path.GetFullPath(value) },
                "--output" => options with { Output = Path.GetFullPath(value) },
                "--only" => options with { Only = value.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.Ordinal) },
                _ => throw new ArgumentException($"Unknown option {args[i]}: use --agent PATH, --trials N, --spawns N, --threads N, --model GGUF, --only SECTIONS or --output FILE."),
            };
        }

        return options;
    }

    private static int Positive(string option, string value) =>
        int.TryParse(value, CultureInfo.InvariantCulture, out int n) && n > 0 ? n : throw new ArgumentException($"{option} needs a positive number.");
}
