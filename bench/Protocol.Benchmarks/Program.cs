using Bench.Shared;
using Protocol.Benchmarks;

// One run: the peer's round trip and notification throughput in process, then spawn → initialize for the built
// agent. --agent PATH adds another build of the agent (an older commit, say) to the spawn rounds, alternating;
// --native default (or a path) adds the published NativeAOT executable; --rounds 0 measures the spawns alone.
var options = BenchOptions.Parse(args);
var report = new ReportLines();
void Line(string text) => report.Line(text);

Line($"Protocol benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}");
foreach (PeerKind kind in options.Rounds > 0 ? PeerKinds.All : [])
{
    // Warm up both before measuring either: JIT and tiering out of the figures.
    if (kind != PeerKind.SendOnly)
    {
        await PeerBench.RoundTripsAsync(kind, 2_000);
    }

    await PeerBench.NotificationsAsync(kind, 10_000);
}

for (int round = 1; round <= options.Rounds; round++)
{
    foreach (PeerKind kind in PeerKinds.All)
    {
        PeerFigures notes = await PeerBench.NotificationsAsync(kind, 10_000);
        if (kind == PeerKind.SendOnly)
        {
            Line($"round {round} {kind,-13} {"",34} | session/update {notes.PerSecond,9:N0}/s {notes.BytesEach,6:N0} B/msg {notes.CpuMicrosecondsEach,5:F2} µs CPU/msg (agent side only)");
            continue;
        }

        PeerFigures trip = await PeerBench.RoundTripsAsync(kind, options.RoundTrips);
        Line($"round {round} {kind,-13} round trip {trip.MicrosecondsEach,7:F1} µs {trip.BytesEach,7:N0} B | " +
             $"session/update {notes.PerSecond,9:N0}/s {notes.BytesEach,6:N0} B/msg {notes.CpuMicrosecondsEach,5:F2} µs CPU/msg");
    }
}

var agents = new List<(string Name, string Path)> { ("jit", options.Agent) };
agents.AddRange(options.OtherAgents);
Dictionary<string, List<double>> spawns = agents.ToDictionary(a => a.Name, _ => new List<double>());
for (int i = 0; i < options.Spawns; i++)
{
    foreach ((string name, string path) in agents)
    {
        spawns[name].Add(await SpawnBench.InitializeAsync(path));
    }
}

foreach ((string name, string path) in agents)
{
    List<double> times = spawns[name];
    if (times.Count == 0)
    {
        continue;
    }

    times.Sort();
    Line($"spawn → initialize {name} ({path}): median {Percentile(times, 0.5):F1} ms, p90 {Percentile(times, 0.9):F1}, "
         + $"min {times[0]:F1}, max {times[^1]:F1} ({times.Count} spawns)");
}

if (options.Output is { } output)
{
    report.Save(output);
}

// Nearest rank on sorted figures.
static double Percentile(List<double> sorted, double p) => sorted[Math.Clamp((int)Math.Ceiling(p * sorted.Count) - 1, 0, sorted.Count - 1)];
