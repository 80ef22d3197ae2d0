using Inference.Benchmarks;

// One run, one machine, one set of settings: our engine alone, the whole agent over stdio, node-llama-cpp and the
// raw C loop on the same model file, then cancel latency during decode and mid-prefill, then warm resume (the engine
// alone, then through the agent), then many streams at once on one model.
BenchSettings settings = BenchSettings.Parse(args);
using var report = new Report();
report.Line($"Inference benchmark: {settings}");
if (settings.ResumeOnly || settings.AgentResumeOnly)
{
    BenchModel resumed = BenchModel.Ensure(report);
    ResumeResult? engineResume = settings.ResumeOnly ? await ResumeBench.RunAsync(resumed, settings, report) : null;
    AgentResumeResult? agentResume = settings.AgentResumeOnly ? await AgentResumeBench.RunAsync(resumed, settings, report) : null;
    report.SaveResume(settings, resumed, engineResume, agentResume);
    return;
}

if (!settings.SkipNode)
{
    NodePackages.EnsureInstalled(report);
}

if (settings.RemoteOnly)
{
    BenchModel served = BenchModel.Ensure(report);
    report.Remote(settings, served, await RemoteBench.RunAsync(served, settings, report));
    return;
}

if (settings.StepOnly)
{
    BenchModel stepped = BenchModel.Ensure(report);
    foreach (BatchStep step in await BatchStepBench.RunAsync(stepped, settings))
    {
        report.Line($"{step}");
    }

    return;
}

if (settings.ConcurrencyOnly)
{
    BenchModel shared = BenchModel.Ensure(report);
    report.Line($"model: {shared.Path} ({shared.Description})");
    report.SaveConcurrency(settings, shared, await ConcurrencyBench.RunAsync(shared, settings, report));
    return;
}

BenchModel model = BenchModel.Ensure(report);
report.Line($"model: {model.Path} ({model.Description})");

DecodeResult engine = await EngineBench.DecodeAsync(model, settings);
// Agent turns and raw loop runs alternate, so that the machine's load weighs on both alike.
(DecodeResult agent, RawLoopResult raw) = await AgentBench.DecodeAsync(model, settings, RawLoopBench.Build());
DecodeResult? node = settings.SkipNode ? null : await NodeBench.DecodeAsync(model, settings);
report.Decode(settings, engine, agent, node, raw);

CancelResult[] cancels = settings.SkipCancel ? [] :
[
    await EngineBench.CancelDuringDecodeAsync(model, settings),
    await EngineBench.CancelDuringPrefillAsync(model, settings),
    await AgentBench.CancelDuringDecodeAsync(model, settings),
    await AgentBench.CancelDuringPrefillAsync(model, settings),
];
report.Cancels(cancels);
ResumeResult resume = await ResumeBench.RunAsync(model, settings, report);
AgentResumeResult resumeThroughAgent = await AgentResumeBench.RunAsync(model, settings, report);
ConcurrencyResult? concurrency = settings.SkipConcurrency ? null : await ConcurrencyBench.RunAsync(model, settings, report);
report.Save(settings, model, node is null ? [engine, agent] : [engine, agent, node], raw, cancels, resume, resumeThroughAgent, concurrency);
