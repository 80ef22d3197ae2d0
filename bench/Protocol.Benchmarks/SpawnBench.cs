using System.Diagnostics;
using Bench.Shared;

namespace Protocol.Benchmarks;

/// <summary>Spawn → initialize answered: from starting the process to reading the response line on its stdout.</summary>
internal static class SpawnBench
{
    private const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}""";

    /// <param name="agent">A build's acp-gptoss.dll (run by <c>dotnet</c>, JIT with ReadyToRun images) or an executable
    /// (the published NativeAOT one), run as it is.</param>
    public static async Task<double> InitializeAsync(string agent)
    {
        ProcessStartInfo start = AgentProcess.Command(agent, []);
        long started = Stopwatch.GetTimestamp();
        using Process process = Process.Start(start) ?? throw new InvalidOperationException("Could not start the agent.");
        Task errors = process.StandardError.BaseStream.CopyToAsync(Stream.Null);
        await process.StandardInput.WriteLineAsync(Initialize);
        await process.StandardInput.FlushAsync();
        string? line = await process.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
        double elapsed = Stopwatch.GetElapsedTime(started).TotalMilliseconds;
        if (line is null || !line.Contains("\"result\"", StringComparison.Ordinal))
        {
            throw new InvalidOperationException($"The agent answered: {line}");
        }

        process.StandardInput.Close();
        await process.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        await errors;
        return elapsed;
    }
}
