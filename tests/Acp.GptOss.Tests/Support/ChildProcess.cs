using System.Diagnostics;
using System.Text;
using System.Threading.Channels;

namespace Acp.GptOss.Tests.Support;

/// <summary>A process under test, with its output read line by line as it comes.</summary>
internal sealed class ChildProcess : IAsyncDisposable
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly StringBuilder _error = new();
    private readonly Channel<string> _lines = Channel.CreateUnbounded<string>();
    private readonly Channel<string> _errorLines = Channel.CreateUnbounded<string>();
    private readonly Task _readers;

    private ChildProcess(Process process)
    {
        _process = process;
        _readers = Task.WhenAll(ReadAsync(process.StandardOutput, _output, _lines.Writer), ReadAsync(process.StandardError, _error, _errorLines.Writer));
    }

    public StreamWriter Input => _process.StandardInput;

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            StandardOutputEncoding = Encoding.UTF8,
            StandardErrorEncoding = Encoding.UTF8,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };
        foreach (string argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach ((string name, string value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[name] = value;
        }

        return new ChildProcess(Process.Start(start)!);
    }

    /// <summary>Runs a process to its end.</summary>
    public static async Task<ProcessResult> RunAsync(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string>? environment = null, string? input = null)
    {
        await using ChildProcess process = Start(fileName, arguments, workingDirectory, environment);
        if (input is not null)
        {
            await process.Input.WriteAsync(input);
        }

        process.Input.Close();
        return await process.WaitAsync();
    }

    /// <summary>Runs a process to its end with its input left open (a pseudo-terminal under <c>script</c> ends with its input).</summary>
    public static async Task<ProcessResult> RunWithOpenInputAsync(
        string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string>? environment = null)
    {
        await using ChildProcess process = Start(fileName, arguments, workingDirectory, environment);
        return await process.WaitAsync();
    }

    /// <summary>Waits for a line of stdout that satisfies <paramref name="match"/>.</summary>
    public async Task<string> WaitForLineAsync(Func<string, bool> match)
    {
        while (true)
        {
            string line = await _lines.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            if (match(line))
            {
                return line;
            }
        }
    }

    /// <summary>Waits for a line of stderr (a log event) that satisfies <paramref name="match"/>.</summary>
    public async Task<string> WaitForErrorLineAsync(Func<string, bool> match)
    {
        while (true)
        {
            string line = await _errorLines.Reader.ReadAsync().AsTask().WaitAsync(Timeout);
            if (match(line))
            {
                return line;
            }
        }
    }

    public async Task<ProcessResult> WaitAsync()
    {
        await _process.WaitForExitAsync().WaitAsync(Timeout);
        await _readers.WaitAsync(Timeout);
        return new ProcessResult(_process.ExitCode, _output.ToString(), _error.ToString());
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
    }

    private static async Task ReadAsync(StreamReader reader, StringBuilder all, ChannelWriter<string>? lines)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (all)
            {
                all.Append(line).Append('\n');
            }

            lines?.TryWrite(line);
        }

        lines?.TryComplete();
    }
}

internal sealed record ProcessResult(int ExitCode, string Output, string Error)
{
    public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
