using System.Diagnostics;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;
using LLama.Native;
using LlamaCpp;

namespace Inference.Benchmarks;

/// <summary>One run of the raw C loop: its whole time for the prompt and the generated tokens, its decode speed, and where the time went.</summary>
internal sealed record RawLoopRun(int Tokens, double FirstMs, double TokensPerSecond, double TotalMs, double PrefillMs, double SampleMs, double DecodeMs);

/// <summary>The raw C loop's runs, summarised by medians.</summary>
internal sealed record RawLoopResult(string Library, int PromptTokens, IReadOnlyList<RawLoopRun> Runs)
{
    public double TotalMs => Stats.Median(Runs.Select(r => r.TotalMs));

    public double TokensPerSecond => Stats.Median(Runs.Select(r => r.TokensPerSecond));
}

/// <summary>
/// raw-loop.c, compiled with gcc at bench time against the libllama the agent loads (the same AVX build), decoding
/// the same model with the agent's prompt length, generated tokens, threads and context size: the ceiling.
/// </summary>
internal static class RawLoopBench
{
    /// <summary>Builds the loop against the libllama the agent loads; returns the program.</summary>
    public static string Build() => Compile(LlamaBackend.Initialize().LibraryPath);

    public static string Library => LlamaBackend.Initialize().LibraryPath;

    /// <summary>One run of the loop, in a process of its own.</summary>
    public static async Task<RawLoopRun> RunAsync(string program, BenchModel model, BenchSettings settings, int promptTokens)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        // The agent's OpenMP settings: libgomp's workers spin as long as the agent's do (it bounds their spin unless
        // the environment says otherwise, and the loop would otherwise run at libgomp's default).
        if (Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null && Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is null)
        {
            start.Environment["GOMP_SPINCOUNT"] = LlamaBackend.OpenMpSpinCount;
        }

        start.ArgumentList.Add(model.Path);
        foreach (int value in (int[])[promptTokens, settings.Tokens, settings.Threads, settings.ContextSize])
        {
            start.ArgumentList.Add(value.ToString(CultureInfo.InvariantCulture));
        }

        using Process process = Process.Start(start) ?? throw new InvalidOperationException($"Could not start {program}.");
        Task<string> errors = process.StandardError.ReadToEndAsync();
        string output = await process.StandardOutput.ReadToEndAsync();
        await process.WaitForExitAsync();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{program} failed ({process.ExitCode}): {await errors}");
        }

        using JsonDocument document = JsonDocument.Parse(output);
        JsonElement run = document.RootElement;
        return new RawLoopRun(run.GetProperty("tokens").GetInt32(), run.GetProperty("ttft_ms").GetDouble(), run.GetProperty("tok_s").GetDouble(),
            run.GetProperty("total_ms").GetDouble(), run.GetProperty("prefill_ms").GetDouble(), run.GetProperty("sample_ms").GetDouble(), run.GetProperty("decode_ms").GetDouble());
    }

    // The struct sizes and the offset the C file declares come from LLamaSharp's definitions of the same release.
    private static string Compile(string library)
    {
        string source = Path.Combine(BenchSettings.RepositoryRoot, "bench", "Inference.Benchmarks", "raw-loop.c");
        string output = Path.Combine(BenchSettings.OutputDirectory, "raw-loop");
        string directory = Path.GetDirectoryName(library)!;
        var gcc = new ProcessStartInfo("gcc") { UseShellExecute = false, RedirectStandardError = true };
        foreach (string argument in (string[])[
            "-O2", "-std=c11",
            $"-DMODEL_PARAMS_SIZE={Marshal.SizeOf<LLamaModelParams>()}",
            $"-DCONTEXT_PARAMS_SIZE={Marshal.SizeOf<LLamaContextParams>()}",
            $"-DCONTEXT_THREADS_OFFSET={Marshal.OffsetOf<LLamaContextParams>(nameof(LLamaContextParams.n_threads))}",
            $"-DBATCH_SIZE={Marshal.SizeOf<LLamaNativeBatch>()}",
            source, "-o", output, $"-L{directory}", "-l:libllama.so", "-l:libggml.so", "-l:libggml-base.so", $"-Wl,-rpath,{directory}"])
        {
            gcc.ArgumentList.Add(argument);
        }

        using Process process = Process.Start(gcc) ?? throw new InvalidOperationException("Could not start gcc: install a C compiler.");
        string errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        return process.ExitCode == 0 ? output : throw new InvalidOperationException($"gcc could not build {source}: {errors}");
    }
}
