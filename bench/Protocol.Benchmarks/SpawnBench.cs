using System.Diagnostics;

namespace Protocol.Benchmarks;

/// <summary>Spawn → initialize answered: from starting the process to reading the response line on its stdout.</summary>
internal static class SpawnBench
{
    private const string Initialize = """{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":1}}""";

    public static async Task<double> InitializeAsync(string agentDll)
    {
        var start = new ProcessStartInfo("dotnet")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add(agentDll);
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
