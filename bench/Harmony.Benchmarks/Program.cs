using BenchmarkDotNet.Running;

BenchmarkSwitcher.FromAssembly(typeof(Harmony.Benchmarks.ParserBenchmarks).Assembly).Run(args);
