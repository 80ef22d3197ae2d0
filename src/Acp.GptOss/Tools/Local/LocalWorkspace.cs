using System.Text.Json;
using Acp.Protocol;

namespace Acp.GptOss.Tools.Local;

/// <summary>The workspace on this machine's disk and shell: <see cref="LocalFiles"/>, <see cref="LocalSearch"/> and <see cref="LocalCommands"/>.</summary>
/// <remarks>Thread-safe: no state besides the roots.</remarks>
internal sealed class LocalWorkspace : IWorkspace
{
    private readonly LocalFiles _files;
    private readonly LocalSearch _search;
    private readonly LocalCommands _commands;

    /// <param name="roots">The folders the functions may touch.</param>
    /// <param name="time">The clock of the command timeouts.</param>
    public LocalWorkspace(WorkspaceRoots roots, TimeProvider? time = null)
    {
        ArgumentNullException.ThrowIfNull(roots);
        Roots = roots;
        _files = new LocalFiles(roots);
        _search = new LocalSearch(roots);
        _commands = new LocalCommands(roots, time);
    }

    public WorkspaceRoots Roots { get; }

    public Task<string> ReadFileAsync(string path, int? line, int? limit, CancellationToken cancellationToken) =>
        _files.ReadFileAsync(path, line, limit, cancellationToken);

    public Task<string> WriteFileAsync(string path, string content, CancellationToken cancellationToken) =>
        _files.WriteFileAsync(path, content, cancellationToken);

    public Task<PreparedEdit> PrepareEditAsync(string path, string oldText, string newText, CancellationToken cancellationToken) =>
        _files.PrepareEditAsync(path, oldText, newText, cancellationToken);

    public Task ApplyEditAsync(PreparedEdit edit, CancellationToken cancellationToken) => _files.ApplyEditAsync(edit, cancellationToken);

    public Task<string> ListFilesAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        _search.ListFilesAsync(path, recursive, cancellationToken);

    public Task<string> SearchAsync(string pattern, string? path, CancellationToken cancellationToken) =>
        _search.SearchAsync(pattern, path, cancellationToken);

    /// <summary>Runs the command in a local shell; the user sees the command, its output and how it ended.</summary>
    public async Task<ToolOutput> RunCommandAsync(
        string command, string? cwd, TimeSpan timeout, Action<IReadOnlyList<ToolCallContent>> show, CancellationToken cancellationToken)
    {
        string json = await _commands.RunCommandAsync(command, cwd, timeout, cancellationToken).ConfigureAwait(false);
        using JsonDocument result = JsonDocument.Parse(json);
        JsonElement root = result.RootElement;
        int exitCode = root.GetProperty("exitCode").GetInt32();
        bool timedOut = root.GetProperty("timedOut").GetBoolean();
        string output = root.GetProperty("output").GetString() ?? "";
        string status = timedOut ? $"timed out after {timeout.TotalSeconds:0} s" : $"exit code {exitCode}";
        return new ToolOutput(
            json, [ToolContent.Text(ToolContent.Fenced($"$ {command}\n{output}".TrimEnd('\n')) + $"\n\n{status}")], IsError: timedOut || exitCode != 0);
    }
}
