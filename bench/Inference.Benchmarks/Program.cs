using Inference.Benchmarks;

// One run, one machine, one set of settings: our engine alone, the whole agent over stdio, node-llama-cpp and the
// raw C loop on the same model file, then cancel latency during decode and mid-prefill.
BenchSettings settings = BenchSettings.Parse(args);
using var report = new Report();
report.Line($"Inference benchmark: {settings}");
NodePackages.EnsureInstalled(report);
BenchModel model = BenchModel.Ensure(report);
report.Line($"model: {model.Path} ({model.Description})");

DecodeResult engine = await EngineBench.DecodeAsync(model, settings);
DecodeResult agent = await AgentBench.DecodeAsync(model, settings);
DecodeResult node = await NodeBench.DecodeAsync(model, settings);
RawLoopResult raw = await RawLoopBench.DecodeAsync(model, settings, agent.Runs[0].PromptTokens);
report.Decode(settings, engine, agent, node, raw);

CancelResult[] cancels =
[
    await EngineBench.CancelDuringDecodeAsync(model, settings),
    await EngineBench.CancelDuringPrefillAsync(model, settings),
    await AgentBench.CancelDuringDecodeAsync(model, settings),
    await AgentBench.CancelDuringPrefillAsync(model, settings),
];
report.Cancels(cancels);
report.Save(settings, model, [engine, agent, node], raw, cancels);
