using System.ComponentModel;
using System.Diagnostics;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace Acp.GptOss.Tools.Local;

/// <summary>run_command on the local shell, for when the editor offers no <c>terminal/*</c> methods.</summary>
/// <remarks>Thread-safe: no state besides the roots and the clock.</remarks>
internal sealed class LocalCommands
{
    /// <summary>The tail of a command's output kept for the model.</summary>
    public const int MaxCommandOutputBytes = 64 * 1024;

    // A background process the command left behind may hold the output pipe open forever: read no longer than this
    // once the shell has exited.
    private static readonly TimeSpan s_outputDrainTimeout = TimeSpan.FromSeconds(2);

    private readonly WorkspaceRoots _roots;
    private readonly TimeProvider _time;

    /// <param name="roots">The folders a command may run in.</param>
    /// <param name="time">The clock of the timeouts: the system's, or a fake one that a test advances.</param>
    public LocalCommands(WorkspaceRoots roots, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(roots);
        _roots = roots;
        _time = time ?? TimeProvider.System;
    }

    /// <summary>
    /// run_command: runs <c>/bin/sh -c <paramref name="command"/></c> in <paramref name="cwd"/> (the session's cwd
    /// when null) with stdin closed, stdout and stderr interleaved in one stream. On timeout the whole process tree
    /// is killed and reported; on cancellation <see cref="OperationCanceledException"/> is thrown at once and the
    /// tree is killed in the background.
    /// </summary>
    /// <returns>
    /// JSON: <c>{"exitCode":int,"timedOut":bool,"output":string,"outputTruncatedBytes":int}</c>, plus <c>"note"</c>
    /// when the process tree was killed or the output was left unread. The output keeps the last 64 KiB.
    /// </returns>
    public async Task<string> RunCommandAsync(string command, string? cwd, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        if (string.IsNullOrWhiteSpace(command))
        {
            throw new ToolException("The command is empty.");
        }

        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(timeout, TimeSpan.Zero);
        string directory = _roots.Resolve(cwd ?? ".");
        if (!Directory.Exists(directory))
        {
            throw new ToolException($"The working directory '{cwd}' does not exist.");
        }

        cancellationToken.ThrowIfCancellationRequested();
        var startInfo = new ProcessStartInfo("/bin/sh")
        {
            WorkingDirectory = directory,
            UseShellExecute = false,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        startInfo.ArgumentList.Add("-c");
        // One pipe for both streams keeps their true order, which two pipes read apart cannot. stderr is still read,
        // for what the shell itself says before this line runs (a syntax error in the command).
        startInfo.ArgumentList.Add("exec 2>&1\n" + command);

        // Armed before the start: once the command can be seen running, its deadline exists.
        using var deadline = new CancellationTokenSource(timeout, _time);
        var process = new Process { StartInfo = startInfo };
        try
        {
            process.Start();
        }
        catch (Win32Exception ex)
        {
            process.Dispose();
            throw new ToolException($"Could not start /bin/sh: {ex.Message}", ex);
        }

        try
        {
            return await RunStartedAsync(process, timeout, deadline.Token, cancellationToken).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The turn answers its cancel at once; the tree is killed and reaped in the background.
            _ = Task.Run(() => ReapAsync(process), CancellationToken.None);
            throw;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    private static async Task ReapAsync(Process process)
    {
        using (process)
        {
            KillTree(process);
            await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private async Task<string> RunStartedAsync(Process process, TimeSpan timeout, CancellationToken deadline, CancellationToken cancellationToken)
    {
        // A command that reads stdin gets end-of-file instead of waiting for input that never comes.
        process.StandardInput.Close();
        var output = new OutputTail(MaxCommandOutputBytes);
        Task reading = Task.WhenAll(
            PumpAsync(process.StandardOutput.BaseStream, output),
            PumpAsync(process.StandardError.BaseStream, output));

        bool killed = false;
        using (var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, deadline))
        {
            try
            {
                await process.WaitForExitAsync(linked.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (linked.IsCancellationRequested)
            {
                // Cancelled: the caller kills the tree in the background (finding it reads all of /proc, which takes
                // a while on a busy machine) and the turn answers at once.
                cancellationToken.ThrowIfCancellationRequested();
                KillTree(process);
                killed = true;
                await process.WaitForExitAsync(CancellationToken.None).ConfigureAwait(false);
            }
        }

        bool drained = await Task.WhenAny(reading, Task.Delay(s_outputDrainTimeout, _time, CancellationToken.None)).ConfigureAwait(false) == reading;
        cancellationToken.ThrowIfCancellationRequested();

        (string text, long dropped) = output.Snapshot();
        var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            json.WriteStartObject();
            json.WriteNumber("exitCode", process.ExitCode);
            json.WriteBoolean("timedOut", killed);
            json.WriteString("output", text);
            json.WriteNumber("outputTruncatedBytes", dropped);
            if (killed)
            {
                json.WriteString("note", $"Timed out after {timeout.TotalSeconds:0.###} s; the command and every process it started were killed.");
            }
            else if (!drained)
            {
                json.WriteString("note", "The command exited, but a background process it started still holds its output open; output after its exit was not read.");
            }

            json.WriteEndObject();
        }

        process.Dispose();
        return Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length);
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (InvalidOperationException)
        {
            // It exited on its own in the meantime.
        }
        catch (AggregateException)
        {
            // Some descendant could not be killed (it exited, or is not ours to signal); the rest were.
        }
    }

    private static async Task PumpAsync(Stream stream, OutputTail output)
    {
        byte[] buffer = new byte[8192];
        try
        {
            int read;
            while ((read = await stream.ReadAsync(buffer, CancellationToken.None).ConfigureAwait(false)) > 0)
            {
                output.Append(buffer.AsSpan(0, read));
            }
        }
        catch (Exception ex) when (ex is IOException or ObjectDisposedException)
        {
            // The process is gone and its pipe closed under us: what was read is the output.
        }
    }
}
