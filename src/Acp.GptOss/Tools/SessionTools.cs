using System.Buffers;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using Acp.GptOss.Tools;
using Acp.GptOss.Tools.Mcp;
using Acp.Protocol;
using Harmony.Conversations;

namespace Acp.GptOss.Agent;

/// <summary>What a tool call needs before it runs.</summary>
internal enum Approval
{
    /// <summary>Nothing: it only reads the workspace.</summary>
    None,

    /// <summary>It changes files: allowed in <see cref="AgentMode.Code"/>, asked in <see cref="AgentMode.Ask"/>.</summary>
    Edit,

    /// <summary>It runs something (a command, an MCP tool): asked in every mode.</summary>
    Execute,
}

/// <summary>A resolved call with its arguments read, ready to be shown, allowed and run.</summary>
/// <param name="Kind">The ACP tool kind.</param>
/// <param name="Title">What the call does, for people.</param>
/// <param name="Locations">The files it reads or changes.</param>
/// <param name="Preview">What to show while it waits for permission (the diff of an edit), if anything.</param>
/// <param name="Approval">What it needs before it runs.</param>
/// <param name="ApprovalKey">What an "always" answer covers: every edit, one exact command, one MCP tool.</param>
/// <param name="AlwaysLabel">That, in words, for the permission options.</param>
/// <param name="RunAsync">Runs it; may show content (a live terminal) while it runs.</param>
internal sealed record PreparedCall(
    ToolKind Kind,
    string Title,
    IReadOnlyList<ToolCallLocation> Locations,
    IReadOnlyList<ToolCallContent>? Preview,
    Approval Approval,
    string ApprovalKey,
    string AlwaysLabel,
    Func<Action<IReadOnlyList<ToolCallContent>>, CancellationToken, Task<ToolOutput>> RunAsync);

/// <summary>What a call produced.</summary>
/// <param name="Result">The tool message for the model.</param>
/// <param name="Content">What the user sees in the tool call.</param>
/// <param name="IsError">Whether the tool reported a failure (the call ends <c>failed</c>).</param>
internal sealed record ToolOutput(string Result, IReadOnlyList<ToolCallContent> Content, bool IsError = false);

/// <summary>
/// A session's tools: the workspace functions and its MCP servers' tools. File access goes through the editor when it
/// offers <c>fs/*</c> (unsaved buffers, undo) and commands through its terminals when it offers <c>terminal/*</c>;
/// otherwise they act on the local disk. Either way every path must lie inside the session's roots.
/// </summary>
/// <remarks>Thread-safe after construction; one turn uses it at a time.</remarks>
internal sealed class SessionTools : IAsyncDisposable
{
    /// <summary>How long a command may run when the model does not say.</summary>
    public static readonly TimeSpan DefaultCommandTimeout = TimeSpan.FromSeconds(120);

    /// <summary>The most text of a file read through the editor that goes to the model, as for local reads.</summary>
    private const int MaxReadChars = LocalTools.MaxFileBytes;

    // One "always" answer covers every edit of the session, as editors' "accept edits" modes do.
    private const string EditsKey = "edits";

    // Released terminals and cancelled commands must not hold up the end of a cancelled turn for long.
    private static readonly TimeSpan s_cleanupTimeout = TimeSpan.FromSeconds(5);

    private static readonly JsonWriterOptions s_json = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    private readonly string _sessionId;
    private readonly IAcpClient _client;
    private readonly ClientCapabilities _capabilities;
    private readonly LocalTools _local;
    private readonly McpToolbox _mcp;
    private readonly TimeSpan _maxCommandTimeout;
    private readonly bool _localAllowed;
    private Dictionary<string, McpFunction> _mcpFunctions = new(StringComparer.Ordinal);
    private HashSet<string> _declared = [.. WorkspaceFunctions.All.Select(f => f.Name)];

    public SessionTools(
        string sessionId,
        WorkspaceRoots roots,
        IAcpClient client,
        ClientCapabilities? capabilities,
        McpToolbox mcp,
        TimeSpan maxCommandTimeout,
        bool localAllowed = true)
    {
        _sessionId = sessionId;
        _client = client;
        _capabilities = capabilities ?? new ClientCapabilities();
        _local = new LocalTools(roots);
        _mcp = mcp;
        _maxCommandTimeout = maxCommandTimeout;
        _localAllowed = localAllowed;
    }

    public WorkspaceRoots Roots => _local.Roots;

    /// <summary>The local implementation, unless local tools are off (the replay harness must not touch the disk).</summary>
    private LocalTools Local => _localAllowed
        ? _local
        : throw new ToolException("This tool is not available: the client offers no file system or terminal, and local tools are off.");

    private bool EditorReads => _capabilities.Fs?.ReadTextFile == true;

    private bool EditorWrites => _capabilities.Fs?.WriteTextFile == true;

    /// <summary>The functions to declare to the model: the workspace's, then the MCP servers' (once they have connected).</summary>
    public async Task<IReadOnlyList<HarmonyFunctionTool>> GetDeclarationsAsync(CancellationToken cancellationToken)
    {
        IReadOnlyList<McpFunction> mcp = await _mcp.GetFunctionsAsync(cancellationToken).ConfigureAwait(false);
        // MCP names carry their server's name and "__", so they never shadow a workspace function.
        _mcpFunctions = mcp.ToDictionary(f => f.Name, StringComparer.Ordinal);
        _declared = [.. WorkspaceFunctions.All.Select(f => f.Name), .. _mcpFunctions.Keys];
        return [.. WorkspaceFunctions.All, .. mcp.Select(f => new HarmonyFunctionTool(f.Name, f.Description, f.Parameters))];
    }

    /// <summary>Resolves a call's recipient against the functions declared last.</summary>
    public ResolvedTool Resolve(string recipient) => ToolResolver.Resolve(recipient, _declared);

    /// <summary>Reads a call's arguments and works out what it will do; nothing is changed yet.</summary>
    /// <exception cref="ToolException">The arguments are wrong, or the call cannot work (a path outside the workspace, an edit that does not apply).</exception>
    public async Task<PreparedCall> PrepareAsync(string name, ToolArguments arguments, CancellationToken cancellationToken)
    {
        switch (name)
        {
            case WorkspaceFunctions.ReadFile:
                return PrepareRead(arguments);
            case WorkspaceFunctions.WriteFile:
                return await PrepareWriteAsync(arguments, cancellationToken).ConfigureAwait(false);
            case WorkspaceFunctions.EditFile:
                return await PrepareEditAsync(arguments, cancellationToken).ConfigureAwait(false);
            case WorkspaceFunctions.ListFiles:
                return PrepareList(arguments);
            case WorkspaceFunctions.Search:
                return PrepareSearch(arguments);
            case WorkspaceFunctions.RunCommand:
                return PrepareCommand(arguments);
            default:
                return _mcpFunctions.TryGetValue(name, out McpFunction? function)
                    ? PrepareMcp(function, arguments)
                    : throw new ToolException($"There is no function {name}.");
        }
    }

    private PreparedCall PrepareRead(ToolArguments arguments)
    {
        string path = arguments.RequiredString("path");
        int? line = arguments.OptionalInt("line");
        int? limit = arguments.OptionalInt("limit");
        if (line < 1 || limit < 1)
        {
            throw new ToolException("line and limit must be 1 or more.");
        }

        string full = Roots.Resolve(path);
        string title = $"Read {Roots.DisplayPath(full)}" + (line is null && limit is null ? "" : $" (lines {line ?? 1}–{(limit is null ? "end" : (line ?? 1) + limit - 1)})");
        return new PreparedCall(
            ToolKind.Read, title, [new ToolCallLocation(full) { Line = line }], null, Approval.None, "", "",
            async (_, ct) =>
            {
                string text = EditorReads
                    ? await EditorReadAsync(full, line, limit, ct).ConfigureAwait(false)
                    : await Local.ReadFileAsync(path, line, limit, ct).ConfigureAwait(false);
                return new ToolOutput(text, [Text(Fenced(text))]);
            });
    }

    private async Task<PreparedCall> PrepareWriteAsync(ToolArguments arguments, CancellationToken cancellationToken)
    {
        string path = arguments.RequiredString("path");
        string content = arguments.RequiredString("content");
        string full = Roots.Resolve(path);
        if (Directory.Exists(full))
        {
            throw new ToolException($"'{path}' is a directory.");
        }

        string? before = File.Exists(full) ? await CurrentTextAsync(path, full, cancellationToken).ConfigureAwait(false) : null;
        ToolCallContent diff = new ToolCallDiff(full, before, content);
        return new PreparedCall(
            ToolKind.Edit, $"Write {Roots.DisplayPath(full)}", [new ToolCallLocation(full)], [diff], Approval.Edit, EditsKey, "edits in this session",
            async (_, ct) =>
            {
                string result;
                if (EditorWrites)
                {
                    await _client.WriteTextFileAsync(new WriteTextFileRequest(_sessionId, full, content), ct).ConfigureAwait(false);
                    result = $"Wrote {Encoding.UTF8.GetByteCount(content)} bytes to {Roots.DisplayPath(full)}.";
                }
                else
                {
                    result = await Local.WriteFileAsync(path, content, ct).ConfigureAwait(false);
                }

                return new ToolOutput(result, [diff]);
            });
    }

    private async Task<PreparedCall> PrepareEditAsync(ToolArguments arguments, CancellationToken cancellationToken)
    {
        string path = arguments.RequiredString("path");
        string oldText = arguments.RequiredString("old_text");
        string newText = arguments.RequiredString("new_text");
        PreparedEdit edit;
        if (EditorReads)
        {
            // The editor's copy, unsaved changes included, is what the user sees and what the edit must apply to.
            string full = Roots.Resolve(path);
            string before = await EditorReadAsync(full, null, null, cancellationToken).ConfigureAwait(false);
            (string after, int line) = LocalTools.ReplaceOnce(path, before, oldText, newText);
            edit = new PreparedEdit(full, before, after, line, HadBom: false);
        }
        else
        {
            edit = await Local.PrepareEditAsync(path, oldText, newText, cancellationToken).ConfigureAwait(false);
        }

        ToolCallContent diff = new ToolCallDiff(edit.Path, edit.OldText, edit.NewText);
        return new PreparedCall(
            ToolKind.Edit, $"Edit {Roots.DisplayPath(edit.Path)}", [new ToolCallLocation(edit.Path) { Line = edit.Line }], [diff], Approval.Edit, EditsKey,
            "edits in this session",
            async (_, ct) =>
            {
                if (EditorWrites)
                {
                    await _client.WriteTextFileAsync(new WriteTextFileRequest(_sessionId, edit.Path, edit.NewText), ct).ConfigureAwait(false);
                }
                else
                {
                    await Local.ApplyEditAsync(edit, ct).ConfigureAwait(false);
                }

                return new ToolOutput(_local.EditSummary(edit.Path, edit.Line), [diff]);
            });
    }

    private PreparedCall PrepareList(ToolArguments arguments)
    {
        string path = arguments.OptionalString("path") ?? ".";
        bool recursive = arguments.OptionalBool("recursive") ?? false;
        string full = Roots.Resolve(path);
        return new PreparedCall(
            ToolKind.Search, $"List {Roots.DisplayPath(full)}" + (recursive ? " (recursive)" : ""), [new ToolCallLocation(full)], null, Approval.None, "", "",
            async (_, ct) =>
            {
                string listing = await Local.ListFilesAsync(path, recursive, ct).ConfigureAwait(false);
                return new ToolOutput(listing, [Text(Fenced(listing))]);
            });
    }

    private PreparedCall PrepareSearch(ToolArguments arguments)
    {
        string pattern = arguments.RequiredString("pattern");
        string? path = arguments.OptionalString("path");
        string full = Roots.Resolve(path ?? ".");
        return new PreparedCall(
            ToolKind.Search, $"Search for \"{pattern}\"" + (path is null ? "" : $" in {Roots.DisplayPath(full)}"), [new ToolCallLocation(full)], null,
            Approval.None, "", "",
            async (_, ct) =>
            {
                string matches = await Local.SearchAsync(pattern, path, ct).ConfigureAwait(false);
                return new ToolOutput(matches, [Text(Fenced(matches))]);
            });
    }

    private PreparedCall PrepareCommand(ToolArguments arguments)
    {
        string command = arguments.RequiredString("command");
        if (string.IsNullOrWhiteSpace(command))
        {
            throw new ToolException("The command is empty.");
        }

        string? cwd = arguments.OptionalString("cwd");
        int? seconds = arguments.OptionalInt("timeout_seconds");
        if (seconds < 1)
        {
            throw new ToolException("timeout_seconds must be 1 or more.");
        }

        TimeSpan timeout = seconds is null ? DefaultCommandTimeout : TimeSpan.FromSeconds(seconds.Value);
        if (timeout > _maxCommandTimeout)
        {
            timeout = _maxCommandTimeout;
        }

        string directory = Roots.Resolve(cwd ?? ".");
        return new PreparedCall(
            ToolKind.Execute, Shorten(command), [], [Text(Fenced(command))], Approval.Execute, "command:" + command, $"`{Shorten(command)}`",
            (show, ct) => _capabilities.Terminal
                ? RunInTerminalAsync(command, directory, timeout, show, ct)
                : RunLocallyAsync(command, cwd, timeout, ct));
    }

    private PreparedCall PrepareMcp(McpFunction function, ToolArguments arguments) =>
        new(
            ToolKind.Other, $"{function.Server}: {function.Tool}", [], null, Approval.Execute, "mcp:" + function.Name, $"{function.Server}'s {function.Tool}",
            async (_, ct) =>
            {
                McpCallResult result = await _mcp.CallAsync(function, arguments.Json, ct).ConfigureAwait(false);
                return new ToolOutput(result.IsError ? ErrorJson(result.Text) : result.Text, [Text(result.Text)], result.IsError);
            });

    private async Task<ToolOutput> RunLocallyAsync(string command, string? cwd, TimeSpan timeout, CancellationToken cancellationToken)
    {
        string json = await Local.RunCommandAsync(command, cwd, timeout, cancellationToken).ConfigureAwait(false);
        using JsonDocument result = JsonDocument.Parse(json);
        JsonElement root = result.RootElement;
        int exitCode = root.GetProperty("exitCode").GetInt32();
        bool timedOut = root.GetProperty("timedOut").GetBoolean();
        string output = root.GetProperty("output").GetString() ?? "";
        string status = timedOut ? $"timed out after {timeout.TotalSeconds:0} s" : $"exit code {exitCode}";
        return new ToolOutput(json, [Text(Fenced($"$ {command}\n{output}".TrimEnd('\n')) + $"\n\n{status}")], IsError: timedOut || exitCode != 0);
    }

    /// <summary>Runs a command in a terminal of the editor: wait for it or the timeout, kill on timeout or cancel, always release.</summary>
    private async Task<ToolOutput> RunInTerminalAsync(
        string command, string directory, TimeSpan timeout, Action<IReadOnlyList<ToolCallContent>> show, CancellationToken cancellationToken)
    {
        CreateTerminalResponse created = await _client.CreateTerminalAsync(
            new CreateTerminalRequest(_sessionId, "/bin/sh")
            {
                Args = ["-c", command],
                Cwd = directory,
                OutputByteLimit = LocalTools.MaxCommandOutputBytes,
            },
            cancellationToken).ConfigureAwait(false);
        var terminal = new TerminalRequest(_sessionId, created.TerminalId);
        IReadOnlyList<ToolCallContent> content = [new ToolCallTerminal(created.TerminalId)];
        try
        {
            show(content);
            bool timedOut = false;
            using (var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken))
            {
                deadline.CancelAfter(timeout);
                try
                {
                    await _client.WaitForTerminalExitAsync(terminal, deadline.Token).ConfigureAwait(false);
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    timedOut = true;
                    await _client.KillTerminalAsync(terminal, cancellationToken).ConfigureAwait(false);
                }
            }

            TerminalOutputResponse output = await _client.TerminalOutputAsync(terminal, cancellationToken).ConfigureAwait(false);
            TerminalExitStatus exit = output.ExitStatus ?? new TerminalExitStatus();
            return new ToolOutput(CommandJson(exit, timedOut, timeout, output), content, IsError: timedOut || exit.ExitCode != 0);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Cancelled: the command stops now, not when the editor gets round to the release.
            await CleanUpAsync(() => _client.KillTerminalAsync(terminal, CancellationToken.None)).ConfigureAwait(false);
            throw;
        }
        finally
        {
            await CleanUpAsync(() => _client.ReleaseTerminalAsync(terminal, CancellationToken.None)).ConfigureAwait(false);
        }
    }

    private static async Task CleanUpAsync(Func<Task> request)
    {
        try
        {
            await request().WaitAsync(s_cleanupTimeout).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is Acp.Protocol.JsonRpc.JsonRpcException or IOException or TimeoutException)
        {
            // The editor gone or the terminal already gone: nothing is left to free.
        }
    }

    private static string CommandJson(TerminalExitStatus exit, bool timedOut, TimeSpan timeout, TerminalOutputResponse output)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, s_json))
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

    private async Task<string> EditorReadAsync(string full, int? line, int? limit, CancellationToken cancellationToken)
    {
        ReadTextFileResponse response = await _client.ReadTextFileAsync(
            new ReadTextFileRequest(_sessionId, full) { Line = line, Limit = limit }, cancellationToken).ConfigureAwait(false);
        return response.Content.Length <= MaxReadChars
            ? response.Content
            : throw new ToolException($"'{Roots.DisplayPath(full)}' is larger than {MaxReadChars} characters; read it in windows with line and limit.");
    }

    // The text a write replaces, for its diff; a file that cannot be read as text is shown as new.
    private async Task<string?> CurrentTextAsync(string path, string full, CancellationToken cancellationToken)
    {
        try
        {
            return EditorReads
                ? await EditorReadAsync(full, null, null, cancellationToken).ConfigureAwait(false)
                : await Local.ReadFileAsync(path, cancellationToken: cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ToolException or Acp.Protocol.JsonRpc.JsonRpcException)
        {
            return null;
        }
    }

    /// <summary>The tool message for a failure: JSON, so that the model tells it from output (harmony.md §5.3).</summary>
    public static string ErrorJson(string message)
    {
        var buffer = new ArrayBufferWriter<byte>();
        using (var json = new Utf8JsonWriter(buffer, s_json))
        {
            json.WriteStartObject();
            json.WriteString("error", message);
            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    public static ToolCallContent Text(string text) => new ToolCallContentBlock(new TextContent(text));

    private static string Fenced(string text)
    {
        string fence = PromptText.FenceFor(text);
        return $"{fence}\n{text.TrimEnd('\n')}\n{fence}";
    }

    private static string Shorten(string command)
    {
        string line = command.ReplaceLineEndings(" ").Trim();
        return line.Length <= 80 ? line : line[..79] + "…";
    }

    public ValueTask DisposeAsync() => _mcp.DisposeAsync();
}
