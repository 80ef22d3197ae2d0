using System.Reflection;

namespace Protocol.Benchmarks;

internal sealed record BenchOptions(int Rounds, int RoundTrips, int Spawns, string Agent, IReadOnlyList<(string Name, string Path)> OtherAgents, string? Output)
{
    public static string RepositoryRoot { get; } = typeof(BenchOptions).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .First(a => a.Key == "RepositoryRoot").Value!;

    /// <summary>Where <c>./acp-gptoss</c> publishes the native executable for this machine.</summary>
    public static string NativeAgent => Path.Combine(
        RepositoryRoot, "artifacts/publish/Acp.GptOss", $"release_{System.Runtime.InteropServices.RuntimeInformation.RuntimeIdentifier}", "acp-gptoss");

    public static BenchOptions Parse(string[] args)
    {
        int rounds = 5;
        int roundTrips = 20_000;
        int spawns = 20;
        string agent = Path.Combine(RepositoryRoot, "artifacts/bin/Acp.GptOss/release/acp-gptoss.dll");
        var others = new List<(string Name, string Path)>();
        string? output = null;
        for (int i = 0; i < args.Length; i++)
        {
            string value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value.");
            switch (args[i++])
            {
                case "--rounds": rounds = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--round-trips": roundTrips = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--spawns": spawns = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture); break;
                case "--agent": others.Add(($"other{others.Count + 1}", value)); break;
                // The published NativeAOT executable (./acp-gptoss publishes it), spawned beside the JIT build.
                case "--native": others.Add(("native", value == "default" ? NativeAgent : value)); break;
                case "--output": output = value; break;
                default: throw new ArgumentException($"Unknown option {args[i - 1]}.");
            }
        }

        return new BenchOptions(rounds, roundTrips, spawns, agent, others, output);
    }
}
