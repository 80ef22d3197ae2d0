using System.Buffers;
using System.Text;
using System.Text.Json;
using Acp.Protocol;
using Acp.Protocol.JsonRpc;

namespace Acp.GptOss.Tools.Editor;

/// <summary>Runs a command in a terminal of the editor: wait for it or the timeout, kill on timeout or cancel, always release.</summary>
/// <remarks>Thread-safe: each command has its own terminal.</remarks>
/// <param name="sessionId">The session the terminals belong to.</param>
/// <param name="client">The editor.</param>
/// <param name="time">The clock of the timeouts.</param>
internal sealed class EditorTerminal(string sessionId, IAcpClient client, TimeProvider time)
{
    // Released terminals and cancelled commands must not hold up the end of a cancelled turn for long.
    private static readonly TimeSpan s_cleanupTimeout = TimeSpan.FromSeconds(5);

    /// <param name="command">The command line, for <c>sh -c</c>.</param>
    /// <param name="directory">The folder to run it in, resolved inside the roots.</param>
    /// <param name="timeout">When to kill it.</param>
    /// <param name="show">Shows the live terminal in the tool call.</param>
    /// <param name="cancellationToken">Kills it.</param>
    /// <returns>JSON for the model (exit code, signal, output), the terminal for the user.</returns>
    public async Task<ToolOutput> RunAsync(
        string command, string directory, TimeSpan timeout, Action<IReadOnlyList<ToolCallContent>> show, CancellationToken cancellationToken)
    {
        CreateTerminalResponse created = await client.CreateTerminalAsync(
            new CreateTerminalRequest(sessionId, "/bin/sh")
            {
                Args = ["-c", command],
                Cwd = directory,
                OutputByteLimit = Local.LocalCommands.MaxCommandOutputBytes,
            },
            cancellationToken).ConfigureAwait(false);
        var terminal = new TerminalRequest(sessionId, created.TerminalId);
        IReadOnlyList<ToolCallContent> content = [new ToolCallTerminal(created.TerminalId)];
        try
        {
            show(content);
            bool timedOut = false;
            using (var timer = new CancellationTokenSource(timeout, time))
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timer.Token))
            {
                try
                {
                    await client.WaitForTerminalExitAsync(terminal, deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    timedOut = true;
                    await client.KillTerminalAsync(terminal, cancellationToken).ConfigureAwait(false);
                }
            }

            TerminalOutputResponse output = await client.TerminalOutputAsync(terminal, cancellationToken).ConfigureAwait(false);
            TerminalExitStatus exit = output.ExitStatus ?? new TerminalExitStatus();
            return new ToolOutput(CommandJson(exit, timedOut, timeout, output), content, IsError: timedOut || exit.ExitCode != 0);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled: the command stops now, not when the editor gets round to the release.
            await CleanUpAsync(() => client.KillTerminalAsync(terminal, CancellationToken.None)).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await CleanUpAsync(() => client.ReleaseTerminalAsync(terminal, CancellationToken.None)).ConfigureAwait(false);
        }
    }

    private async Task CleanUpAsync(Func<Task> request)
    {
        try
        {
            await request().WaitAsync(s_cleanupTimeout, time).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is JsonRpcException or IOException or TimeoutException)
        {
            // The editor gone or the terminal already gone: nothing is left to free.
        }
    }

    private static string CommandJson(TerminalExitStatus exit, bool timedOut, TimeSpan timeout, TerminalOutputResponse output)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, ToolContent.JsonOptions))
        {
            json.WriteStartObject();
            if (exit.ExitCode is int code)
            {
                json.WriteNumber("exitCode", code);
            }
            else
            {
                json.WriteNull("exitCode");
            }

            if (exit.Signal is not null)
            {
                json.WriteString("signal", exit.Signal);
            }

            json.WriteBoolean("timedOut", timedOut);
            json.WriteString("output", output.Output);
            json.WriteBoolean("outputTruncated", output.Truncated);
            if (timedOut)
            {
                json.WriteString("note", $"Timed out after {timeout.TotalSeconds:0.###} s; the command was killed.");
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }
}
