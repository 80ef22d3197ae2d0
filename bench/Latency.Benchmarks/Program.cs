using System.Diagnostics;
using System.Globalization;
using Bench.Shared;
using Latency.Benchmarks;

// One run: every wait a user feels, as an editor sees it, for one build of the agent (--agent PATH: an executable
// or a .dll; the Release build beside this benchmark by default). The table goes to stdout and bench/results/.
BenchOptions options = BenchOptions.Parse(args);
var report = new ReportLines();
void Line(string text) => report.Line(text);

Directory.CreateDirectory(BenchOptions.WorkDirectory);
string model = options.Model ?? await BenchFiles.EnsureModelAsync(Line);
string scripts = BenchFiles.EnsureScripts();
Line(string.Create(CultureInfo.InvariantCulture,
    $"Latency benchmark, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {options.Threads} model threads, {options.Trials} trials per cancel moment"));
Line($"agent: {options.Agent}");
Line($"model: {model} ({new FileInfo(model).Length / 1e6:F0} MB)");

var bench = new LatencyBench(options, model, scripts);
var rows = new List<Row>();
async Task Measure(string what, Func<Task<Row[]>> measure)
{
    if (!options.Runs(what))
    {
        return;
    }

    long started = Stopwatch.GetTimestamp();
    Row[] measured = await measure();
    rows.AddRange(measured);
    Line($"  {what}: {Stopwatch.GetElapsedTime(started).TotalSeconds:F0} s");
}

await Measure("spawn", async () => [await bench.SpawnAsync()]);
await Measure("session", bench.SessionNewAsync);
await Measure("preflight", () => Task.FromResult<Row[]>([bench.Preflight()]));
await Measure("cold", bench.ColdAsync);
await Measure("warm", bench.WarmAsync);
await Measure("tools", bench.ToolsAsync);
await Measure("scripted", async () => [await bench.ScriptedDelayAsync()]);

Line("");
Line($"{"measure",-40} {"p50",10} {"p99",10} {"min",10} {"max",10} {"n",4}  note");
foreach (Row row in rows)
{
    string F(double p) => row.Values.Count == 0 ? "-" : string.Create(CultureInfo.InvariantCulture, $"{p:F2} {row.Unit}");
    string missed = row.Missed > 0 ? $" ({row.Missed} not cancelled)" : "";
    Line($"{row.Measure,-40} {F(Stats.Percentile(row.Values, 50)),10} {F(Stats.Percentile(row.Values, 99)),10} {F(row.Values.DefaultIfEmpty(double.NaN).Min()),10} "
        + $"{F(row.Values.DefaultIfEmpty(double.NaN).Max()),10} {row.Values.Count,4}  {row.Note}{missed}");
}

Line("goals: spawn → initialize ≤ 20 ms median; session/new ≤ 10 ms median; every cancel ≤ 10 ms p99; preflight ≤ 50 ms; cold first chunk ≤ 1.10 × (load + prefill)");
report.Save(options.Output);
Line($"saved {options.Output}");
