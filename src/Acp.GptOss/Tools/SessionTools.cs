using Acp.GptOss.Tools.Editor;
using Acp.GptOss.Tools.Local;
using Acp.GptOss.Tools.Mcp;
using Acp.Protocol;
using Harmony.Conversations;

namespace Acp.GptOss.Tools;

/// <summary>
/// A session's tools: the workspace functions and its MCP servers' tools. It declares them to the model, resolves the
/// calls the model makes and prepares them (arguments read, what the call will do worked out) for the tool-call runner.
/// </summary>
/// <remarks>
/// The workspace functions act on one <see cref="IWorkspace"/>, chosen when the session is made: the editor's when it
/// offers <c>fs/*</c> or <c>terminal/*</c> (what it lacks falls to the local one), else the local disk and shell; with
/// local tools off, what the editor lacks fails instead. Either way every path must lie inside the session's roots.
/// Thread-safe after construction; one turn uses it at a time.
/// </remarks>
internal sealed class SessionTools : IAsyncDisposable
{
    // One "always" answer covers every edit of the session, as editors' "accept edits" modes do.
    private const string EditsKey = "edits";

    // How long a command may run when the model does not say.
    private static readonly TimeSpan s_defaultCommandTimeout = TimeSpan.FromSeconds(120);

    private readonly IWorkspace _workspace;
    private readonly McpToolbox _mcp;
    private readonly TimeSpan _maxCommandTimeout;
    private Dictionary<string, McpFunction> _mcpFunctions = new(StringComparer.Ordinal);
    private HashSet<string> _declared = [.. WorkspaceFunctions.All.Select(f => f.Name)];

    /// <param name="sessionId">The session, for the requests to the editor.</param>
    /// <param name="roots">The folders the workspace functions may touch.</param>
    /// <param name="client">The editor.</param>
    /// <param name="capabilities">What the editor offers: <c>fs/*</c> and <c>terminal/*</c> decide the workspace.</param>
    /// <param name="mcp">The session's MCP servers; disposed with the tools.</param>
    /// <param name="maxCommandTimeout">The longest a command may run, whatever the model asks.</param>
    /// <param name="localAllowed">Whether the functions may act on this machine's disk and shell when the editor does not offer them.</param>
    /// <param name="time">The clock of the command timeouts: the system's unless a test brings its own.</param>
    public SessionTools(
        string sessionId,
        WorkspaceRoots roots,
        IAcpClient client,
        ClientCapabilities? capabilities,
        McpToolbox mcp,
        TimeSpan maxCommandTimeout,
        bool localAllowed = true,
        TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(roots);
        capabilities ??= new ClientCapabilities();
        IWorkspace local = localAllowed ? new LocalWorkspace(roots, time) : new DisabledWorkspace(roots);
        _workspace = EditorWorkspace.Offers(capabilities) ? new EditorWorkspace(sessionId, client, capabilities, local, time) : local;
        _mcp = mcp;
        _maxCommandTimeout = maxCommandTimeout;
    }

    private WorkspaceRoots Roots => _workspace.Roots;

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
    /// <param name="recipient">The recipient as the model wrote it.</param>
    /// <param name="arguments">The arguments as the model wrote them.</param>
    public ToolCallRequest Resolve(string recipient, string arguments) =>
        new(recipient, ToolResolver.Resolve(recipient, _declared), arguments);

    /// <summary>Reads a call's arguments and works out what it will do; nothing is changed yet.</summary>
    /// <param name="request">A call that names a declared function (no <see cref="ToolCallRequest.Refusal"/>).</param>
    /// <param name="cancellationToken">Cancels the reads this may need (the file an edit changes).</param>
    /// <exception cref="ToolException">The arguments are wrong, or the call cannot work (a path outside the workspace, an edit that does not apply).</exception>
    public async Task<PreparedCall> PrepareAsync(ToolCallRequest request, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(request);
        string name = request.Name;
        ToolArguments arguments = ToolArguments.Parse(name, request.Arguments);
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
            arguments.Json, ToolKind.Read, title, [new ToolCallLocation(full) { Line = line }], null, Approval.None, "", "",
            async (_, ct) =>
            {
                string text = await _workspace.ReadFileAsync(path, line, limit, ct).ConfigureAwait(false);
                return new ToolOutput(text, [ToolContent.Text(ToolContent.Fenced(text))]);
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

        string? before = File.Exists(full) ? await CurrentTextAsync(path, cancellationToken).ConfigureAwait(false) : null;
        ToolCallContent diff = new ToolCallDiff(full, before, content);
        return new PreparedCall(
            arguments.Json, ToolKind.Edit, $"Write {Roots.DisplayPath(full)}", [new ToolCallLocation(full)], [diff], Approval.Edit, EditsKey,
            "edits in this session",
            async (_, ct) => new ToolOutput(await _workspace.WriteFileAsync(path, content, ct).ConfigureAwait(false), [diff]));
    }

    private async Task<PreparedCall> PrepareEditAsync(ToolArguments arguments, CancellationToken cancellationToken)
    {
        string path = arguments.RequiredString("path");
        string oldText = arguments.RequiredString("old_text");
        string newText = arguments.RequiredString("new_text");
        PreparedEdit edit = await _workspace.PrepareEditAsync(path, oldText, newText, cancellationToken).ConfigureAwait(false);
        ToolCallContent diff = new ToolCallDiff(edit.Path, edit.OldText, edit.NewText);
        return new PreparedCall(
            arguments.Json, ToolKind.Edit, $"Edit {Roots.DisplayPath(edit.Path)}", [new ToolCallLocation(edit.Path) { Line = edit.Line }], [diff],
            Approval.Edit, EditsKey, "edits in this session",
            async (_, ct) =>
            {
                await _workspace.ApplyEditAsync(edit, ct).ConfigureAwait(false);
                return new ToolOutput(TextEdit.Summary(Roots, edit.Path, edit.Line), [diff]);
            });
    }

    private PreparedCall PrepareList(ToolArguments arguments)
    {
        string path = arguments.OptionalString("path") ?? ".";
        bool recursive = arguments.OptionalBool("recursive") ?? false;
        string full = Roots.Resolve(path);
        return new PreparedCall(
            arguments.Json, ToolKind.Search, $"List {Roots.DisplayPath(full)}" + (recursive ? " (recursive)" : ""), [new ToolCallLocation(full)], null,
            Approval.None, "", "",
            async (_, ct) =>
            {
                string listing = await _workspace.ListFilesAsync(path, recursive, ct).ConfigureAwait(false);
                return new ToolOutput(listing, [ToolContent.Text(ToolContent.Fenced(listing))]);
            });
    }

    private PreparedCall PrepareSearch(ToolArguments arguments)
    {
        string pattern = arguments.RequiredString("pattern");
        string? path = arguments.OptionalString("path");
        string full = Roots.Resolve(path ?? ".");
        return new PreparedCall(
            arguments.Json, ToolKind.Search, $"Search for \"{pattern}\"" + (path is null ? "" : $" in {Roots.DisplayPath(full)}"),
            [new ToolCallLocation(full)], null, Approval.None, "", "",
            async (_, ct) =>
            {
                string matches = await _workspace.SearchAsync(pattern, path, ct).ConfigureAwait(false);
                return new ToolOutput(matches, [ToolContent.Text(ToolContent.Fenced(matches))]);
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

        TimeSpan timeout = seconds is null ? s_defaultCommandTimeout : TimeSpan.FromSeconds(seconds.Value);
        if (timeout > _maxCommandTimeout)
        {
            timeout = _maxCommandTimeout;
        }

        // Resolved now so that a folder outside the workspace fails the call before anyone is asked to allow it.
        _ = Roots.Resolve(cwd ?? ".");
        return new PreparedCall(
            arguments.Json, ToolKind.Execute, Shorten(command), [], [ToolContent.Text(ToolContent.Fenced(command))], Approval.Execute,
            "command:" + command, $"`{Shorten(command)}`",
            (show, ct) => _workspace.RunCommandAsync(command, cwd, timeout, show, ct));
    }

    private PreparedCall PrepareMcp(McpFunction function, ToolArguments arguments) =>
        new(
            arguments.Json, ToolKind.Other, $"{function.Server}: {function.Tool}", [], null, Approval.Execute, "mcp:" + function.Name,
            $"{function.Server}'s {function.Tool}",
            async (_, ct) =>
            {
                McpCallResult result = await _mcp.CallAsync(function, arguments.Json, ct).ConfigureAwait(false);
                return new ToolOutput(result.IsError ? ToolContent.ErrorJson(result.Text) : result.Text, [ToolContent.Text(result.Text)], result.IsError);
            });

    // The text a write replaces, for its diff; a file that cannot be read as text is shown as new.
    private async Task<string?> CurrentTextAsync(string path, CancellationToken cancellationToken)
    {
        try
        {
            return await _workspace.ReadFileAsync(path, null, null, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is ToolException or Acp.Protocol.JsonRpc.JsonRpcException)
        {
            return null;
        }
    }

    private static string Shorten(string command)
    {
        string line = command.ReplaceLineEndings(" ").Trim();
        return line.Length <= 80 ? line : line[..79] + "…";
    }

    public ValueTask DisposeAsync() => _mcp.DisposeAsync();
}
