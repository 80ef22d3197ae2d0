using System.Text;
using Acp.Protocol;

namespace Acp.GptOss.Tools.Editor;

/// <summary>
/// The workspace as the editor holds it: files through its <c>fs/read_text_file</c> and <c>fs/write_text_file</c>
/// (unsaved buffers, undo), commands in its terminals (<c>terminal/*</c>). What the editor does not offer, and listing
/// and search, which ACP has no methods for, go to <paramref name="fallback"/>: the local workspace, or one that
/// refuses when local tools are off.
/// </summary>
/// <remarks>Thread-safe: no state besides the client.</remarks>
/// <param name="sessionId">The session the requests are made for.</param>
/// <param name="client">The editor.</param>
/// <param name="capabilities">What the editor offers, from its <c>initialize</c>.</param>
/// <param name="fallback">Where what the editor does not offer goes.</param>
/// <param name="time">The clock of the command timeouts.</param>
internal sealed class EditorWorkspace(
    string sessionId, IAcpClient client, ClientCapabilities capabilities, IWorkspace fallback, TimeProvider? time = null) : IWorkspace
{
    /// <summary>The most text of a file read through the editor that goes to the model, as for local reads.</summary>
    private const int MaxReadChars = Local.LocalFiles.MaxFileBytes;

    private readonly EditorTerminal _terminal = new(sessionId, client, time ?? TimeProvider.System);

    public WorkspaceRoots Roots => fallback.Roots;

    private bool Reads => capabilities.Fs?.ReadTextFile == true;

    private bool Writes => capabilities.Fs?.WriteTextFile == true;

    /// <summary>Whether the editor offers any of the methods this workspace uses; if not, the fallback alone will do.</summary>
    public static bool Offers(ClientCapabilities capabilities) =>
        capabilities.Fs?.ReadTextFile == true || capabilities.Fs?.WriteTextFile == true || capabilities.Terminal;

    public Task<string> ReadFileAsync(string path, int? line, int? limit, CancellationToken cancellationToken) =>
        Reads ? ReadAsync(Roots.Resolve(path), line, limit, cancellationToken) : fallback.ReadFileAsync(path, line, limit, cancellationToken);

    public async Task<string> WriteFileAsync(string path, string content, CancellationToken cancellationToken)
    {
        if (!Writes)
        {
            return await fallback.WriteFileAsync(path, content, cancellationToken).ConfigureAwait(false);
        }

        string full = Roots.Resolve(path);
        await client.WriteTextFileAsync(new WriteTextFileRequest(sessionId, full, content), cancellationToken).ConfigureAwait(false);
        return $"Wrote {Encoding.UTF8.GetByteCount(content)} bytes to {Roots.DisplayPath(full)}.";
    }

    public async Task<PreparedEdit> PrepareEditAsync(string path, string oldText, string newText, CancellationToken cancellationToken)
    {
        if (!Reads)
        {
            return await fallback.PrepareEditAsync(path, oldText, newText, cancellationToken).ConfigureAwait(false);
        }

        // The editor's copy, unsaved changes included, is what the user sees and what the edit must apply to.
        string full = Roots.Resolve(path);
        string before = await ReadAsync(full, null, null, cancellationToken).ConfigureAwait(false);
        (string after, int line) = TextEdit.ReplaceOnce(path, before, oldText, newText);
        return new PreparedEdit(full, before, after, line, HadBom: false);
    }

    public Task ApplyEditAsync(PreparedEdit edit, CancellationToken cancellationToken) =>
        Writes
            ? client.WriteTextFileAsync(new WriteTextFileRequest(sessionId, edit.Path, edit.NewText), cancellationToken)
            : fallback.ApplyEditAsync(edit, cancellationToken);

    public Task<string> ListFilesAsync(string path, bool recursive, CancellationToken cancellationToken) =>
        fallback.ListFilesAsync(path, recursive, cancellationToken);

    public Task<string> SearchAsync(string pattern, string? path, CancellationToken cancellationToken) =>
        fallback.SearchAsync(pattern, path, cancellationToken);

    public Task<ToolOutput> RunCommandAsync(
        string command, string? cwd, TimeSpan timeout, Action<IReadOnlyList<ToolCallContent>> show, CancellationToken cancellationToken) =>
        capabilities.Terminal
            ? _terminal.RunAsync(command, Roots.Resolve(cwd ?? "."), timeout, show, cancellationToken)
            : fallback.RunCommandAsync(command, cwd, timeout, show, cancellationToken);

    private async Task<string> ReadAsync(string full, int? line, int? limit, CancellationToken cancellationToken)
    {
        ReadTextFileResponse response = await client.ReadTextFileAsync(
            new ReadTextFileRequest(sessionId, full) { Line = line, Limit = limit }, cancellationToken).ConfigureAwait(false);
        return response.Content.Length <= MaxReadChars
            ? response.Content
            : throw new ToolException($"'{Roots.DisplayPath(full)}' is larger than {MaxReadChars} characters; read it in windows with line and limit.");
    }
}
