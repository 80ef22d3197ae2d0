using Acp.Protocol;

namespace Acp.GptOss.Tools;

/// <summary>
/// Where a session's workspace functions act: the editor (<see cref="Editor.EditorWorkspace"/>, through the client's
/// <c>fs/*</c> and <c>terminal/*</c> methods) or the local disk and shell (<see cref="Local.LocalWorkspace"/>). Chosen
/// once per session, by <see cref="SessionTools"/>.
/// </summary>
/// <remarks>
/// Paths are as the model wrote them (relative to the cwd, or absolute inside a root); every implementation resolves
/// them through <see cref="Roots"/>, so none reaches past the roots. Failures the model can act on throw
/// <see cref="ToolException"/> with a message for it; cancellation throws <see cref="OperationCanceledException"/>.
/// </remarks>
internal interface IWorkspace
{
    /// <summary>The folders the functions may touch.</summary>
    WorkspaceRoots Roots { get; }

    /// <summary>read_file: the text of a file, whole or <paramref name="limit"/> lines from line <paramref name="line"/> (1-based).</summary>
    Task<string> ReadFileAsync(string path, int? line, int? limit, CancellationToken cancellationToken);

    /// <summary>write_file: creates or replaces a file. Returns the result for the model.</summary>
    Task<string> WriteFileAsync(string path, string content, CancellationToken cancellationToken);

    /// <summary>edit_file, first half: works out the edit (the text now and after), without writing it.</summary>
    Task<PreparedEdit> PrepareEditAsync(string path, string oldText, string newText, CancellationToken cancellationToken);

    /// <summary>edit_file, second half: writes an edit <see cref="PrepareEditAsync"/> worked out.</summary>
    Task ApplyEditAsync(PreparedEdit edit, CancellationToken cancellationToken);

    /// <summary>list_files: the entries of a folder, one per line; folders end with '/'.</summary>
    Task<string> ListFilesAsync(string path, bool recursive, CancellationToken cancellationToken);

    /// <summary>search: the lines that contain <paramref name="pattern"/>, as <c>file:line: text</c>, under <paramref name="path"/> (the cwd when null).</summary>
    Task<string> SearchAsync(string pattern, string? path, CancellationToken cancellationToken);

    /// <summary>
    /// run_command: runs <c>sh -c <paramref name="command"/></c> in <paramref name="cwd"/>, killed after
    /// <paramref name="timeout"/>. The result for the model is JSON with the exit code and the output.
    /// </summary>
    /// <param name="command">The command line.</param>
    /// <param name="cwd">The folder to run it in, as the model wrote it; the cwd when null.</param>
    /// <param name="timeout">When to kill it.</param>
    /// <param name="show">Shows content in the tool call while the command runs (the editor's live terminal).</param>
    /// <param name="cancellationToken">Kills it, and throws <see cref="OperationCanceledException"/>.</param>
    Task<ToolOutput> RunCommandAsync(
        string command, string? cwd, TimeSpan timeout, Action<IReadOnlyList<ToolCallContent>> show, CancellationToken cancellationToken);
}
