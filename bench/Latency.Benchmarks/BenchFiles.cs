using System.Diagnostics;
using Bench.Shared;

namespace Latency.Benchmarks;

/// <summary>The files the measurements need: a random gpt-oss GGUF of the shape, and scripts for the scripted engine.</summary>
internal static class BenchFiles
{
    /// <summary>What the model answers, greedily, to anything: a final message that never ends, so every token is a chunk.</summary>
    public const string Completion = "<|channel|>final<|message|>Counting: one two three four five six seven eight nine ten, again";

    /// <summary>
    /// A random model of 4 layers, n_embd 512 (the shape issue 13 measured) whose embeddings also carry a chain, made
    /// by the Release build's <c>dev make-model</c> unless made already.
    /// </summary>
    public static async Task<string> EnsureModelAsync(Action<string> log)
    {
        string path = Path.Combine(BenchOptions.WorkDirectory, "latency-random-chain-4x512.gguf");
        if (File.Exists(path))
        {
            return path;
        }

        string vocabulary = new[] { "bench/node", "tests/clients" }
            .Select(d => Path.Combine(BenchOptions.RepositoryRoot, d, "node_modules", "@lenml", "tokenizer-gptoss", "models", "tokenizer.json"))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("No GPT-OSS tokenizer.json: run `npm ci` in tests/clients (or bench/node) first.");
        log($"writing {path} ...");
        ProcessStartInfo start = AgentProcess.Command(Path.Combine(AppContext.BaseDirectory, "acp-gptoss.dll"),
            ["dev", "make-model", "--random", "--chain", Completion, "--vocabulary", vocabulary, "--out", path + ".tmp"]);
        start.RedirectStandardInput = false;
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not run dev make-model.");
        Task<string> errors = process.StandardError.ReadToEndAsync();
        Task output = process.StandardOutput.BaseStream.CopyToAsync(Stream.Null);
        await process.WaitForExitAsync();
        await output;
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"dev make-model failed: {await errors}");
        }

        File.Move(path + ".tmp", path, overwrite: true);
        return path;
    }

    /// <summary>A tool call that waits (after a permission request), and a slow final answer.</summary>
    public static string EnsureScripts()
    {
        string root = Path.Combine(BenchOptions.WorkDirectory, "scripts");
        string tool = Path.Combine(root, "tool");
        Directory.CreateDirectory(tool);
        File.WriteAllText(Path.Combine(tool, "1.txt"),
            "<|channel|>commentary to=functions.run_command <|constrain|>json<|message|>{\"command\":\"sleep 30\"}<|call|>");
        File.WriteAllText(Path.Combine(tool, "2.txt"), "<|channel|>final<|message|>Done.<|return|>");
        File.WriteAllText(Path.Combine(root, "slow.txt"), "<|channel|>final<|message|>" + string.Concat(Enumerable.Repeat("Counting slowly. ", 40)) + "<|return|>");
        return root;
    }
}
