using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Threading.Channels;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// A process under test (the built agent, acpx, node, the native executable), with its stdout and stderr read line
/// by line as they come: the one way the tests start a process and read what it writes.
/// </summary>
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

    /// <summary>What it wrote to stderr so far.</summary>
    public string Error
    {
        get
        {
            lock (_error)
            {
                return _error.ToString();
            }
        }
    }

    /// <summary>How a child process of the tests is started: every stream redirected, UTF-8, <paramref name="environment"/> over the test's own.</summary>
    public static ProcessStartInfo StartInfo(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string>? environment = null)
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

        return start;
    }

    public static ChildProcess Start(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, IDictionary<string, string>? environment = null) =>
        new(Process.Start(StartInfo(fileName, arguments, workingDirectory, environment))!);

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
    public Task<string> WaitForLineAsync(Func<string, bool> match) => WaitForAsync(_lines.Reader, match, "stdout");

    /// <summary>Waits for a line of stderr (a log event) that satisfies <paramref name="match"/>.</summary>
    public Task<string> WaitForErrorLineAsync(Func<string, bool> match) => WaitForAsync(_errorLines.Reader, match, "stderr");

    /// <summary>Kills it and everything it started, as SIGKILL does.</summary>
    public void Kill() => _process.Kill(entireProcessTree: true);

    /// <summary>Sends SIGINT, as Ctrl-C in a terminal does.</summary>
    public async Task InterruptAsync()
    {
        using var kill = Process.Start("kill", ["-INT", _process.Id.ToString(CultureInfo.InvariantCulture)])!;
        await kill.WaitForExitAsync();
        if (kill.ExitCode != 0)
        {
            throw new InvalidOperationException($"kill -INT {_process.Id} failed with exit code {kill.ExitCode}.");
        }
    }

    /// <summary>Waits for its end; the result holds everything it wrote.</summary>
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

    private async Task<string> WaitForAsync(ChannelReader<string> lines, Func<string, bool> match, string stream)
    {
        try
        {
            while (true)
            {
                string line = await lines.ReadAsync().AsTask().WaitAsync(Timeout);
                if (match(line))
                {
                    return line;
                }
            }
        }
        catch (Exception e) when (e is ChannelClosedException or TimeoutException)
        {
            throw new InvalidOperationException($"{_process.StartInfo.FileName} wrote no such line on {stream} ({e.Message}). Its stderr:\n{Error}", e);
        }
    }

    private static async Task ReadAsync(StreamReader reader, StringBuilder all, ChannelWriter<string> lines)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (all)
            {
                all.Append(line).Append('\n');
            }

            lines.TryWrite(line);
        }

        lines.TryComplete();
    }
}

internal sealed record ProcessResult(int ExitCode, string Output, string Error)
{
    public string[] Lines => Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
