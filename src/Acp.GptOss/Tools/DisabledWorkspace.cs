using Acp.Protocol;

namespace Acp.GptOss.Tools;

/// <summary>
/// The workspace when local tools are off (the relay and the replay harness must not touch this machine's disk) and
/// the editor does not offer the method: every function fails with a message for the model.
/// </summary>
internal sealed class DisabledWorkspace(WorkspaceRoots roots) : IWorkspace
{
    public WorkspaceRoots Roots { get; } = roots;

    public Task<string> ReadFileAsync(string path, int? line, int? limit, CancellationToken cancellationToken) => Unavailable<string>();

    public Task<string> WriteFileAsync(string path, string content, CancellationToken cancellationToken) => Unavailable<string>();

    public Task<PreparedEdit> PrepareEditAsync(string path, string oldText, string newText, CancellationToken cancellationToken) => Unavailable<PreparedEdit>();

    public Task ApplyEditAsync(PreparedEdit edit, CancellationToken cancellationToken) => Unavailable<bool>();

    public Task<string> ListFilesAsync(string path, bool recursive, CancellationToken cancellationToken) => Unavailable<string>();

    public Task<string> SearchAsync(string pattern, string? path, CancellationToken cancellationToken) => Unavailable<string>();

    public Task<ToolOutput> RunCommandAsync(
        string command, string? cwd, TimeSpan timeout, Action<IReadOnlyList<ToolCallContent>> show, CancellationToken cancellationToken) =>
        Unavailable<ToolOutput>();

    private static Task<T> Unavailable<T>() =>
        Task.FromException<T>(new ToolException("This tool is not available: the client offers no file system or terminal, and local tools are off."));
}
