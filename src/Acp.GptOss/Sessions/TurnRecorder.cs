using System.Text.Json;
using Acp.Protocol;

namespace Acp.GptOss.Sessions;

/// <summary>
/// The client a turn talks to when its session is stored: passes everything on, and keeps what the user was shown
/// (answers, thoughts, tool calls and their updates) for the journal, chunks of one message joined into one record.
/// </summary>
/// <remarks>Thread-safe: a tool call's updates may come from another thread.</remarks>
internal sealed class TurnRecorder(IAcpClient client) : IAcpClient
{
    private readonly Lock _gate = new();
    private readonly List<SessionUpdate> _shown = [];

    /// <summary>The latest <c>usage_update</c> of the turn.</summary>
    public UsageUpdate? Usage { get; private set; }

    /// <summary>What was shown, as journal records.</summary>
    public List<JournalRecord> TakeRecords(DateTimeOffset now)
    {
        lock (_gate)
        {
            List<JournalRecord> records = _shown
                .Select(u => new JournalRecord(JournalKinds.Update) { At = now, Update = JsonSerializer.SerializeToElement(u, AcpJsonContext.Default.SessionUpdate) })
                .ToList();
            _shown.Clear();
            return records;
        }
    }

    public void SessionUpdate(SessionNotification notification)
    {
        client.SessionUpdate(notification);
        lock (_gate)
        {
            switch (notification.Update)
            {
                case AgentMessageChunk { Content: TextContent text } chunk when _shown.Count > 0 && _shown[^1] is AgentMessageChunk { Content: TextContent before } last && last.MessageId == chunk.MessageId:
                    _shown[^1] = last with { Content = new TextContent(before.Text + text.Text) };
                    break;
                case AgentThoughtChunk { Content: TextContent text } chunk when _shown.Count > 0 && _shown[^1] is AgentThoughtChunk { Content: TextContent before } last && last.MessageId == chunk.MessageId:
                    _shown[^1] = last with { Content = new TextContent(before.Text + text.Text) };
                    break;
                case AgentMessageChunk or AgentThoughtChunk or ToolCallStart or ToolCallProgress:
                    _shown.Add(notification.Update);
                    break;
                case UsageUpdate usage:
                    Usage = usage;
                    break;
                default:
                    break;
            }
        }
    }

    public void ExtensionNotification(string method, JsonElement parameters) => client.ExtensionNotification(method, parameters);

    public Task<RequestPermissionResponse> RequestPermissionAsync(RequestPermissionRequest request, CancellationToken cancellationToken) =>
        client.RequestPermissionAsync(request, cancellationToken);

    public Task<ReadTextFileResponse> ReadTextFileAsync(ReadTextFileRequest request, CancellationToken cancellationToken) =>
        client.ReadTextFileAsync(request, cancellationToken);

    public Task WriteTextFileAsync(WriteTextFileRequest request, CancellationToken cancellationToken) => client.WriteTextFileAsync(request, cancellationToken);

    public Task<CreateTerminalResponse> CreateTerminalAsync(CreateTerminalRequest request, CancellationToken cancellationToken) =>
        client.CreateTerminalAsync(request, cancellationToken);

    public Task<TerminalOutputResponse> TerminalOutputAsync(TerminalRequest request, CancellationToken cancellationToken) =>
        client.TerminalOutputAsync(request, cancellationToken);

    public Task<TerminalExitStatus> WaitForTerminalExitAsync(TerminalRequest request, CancellationToken cancellationToken) =>
        client.WaitForTerminalExitAsync(request, cancellationToken);

    public Task KillTerminalAsync(TerminalRequest request, CancellationToken cancellationToken) => client.KillTerminalAsync(request, cancellationToken);

    public Task ReleaseTerminalAsync(TerminalRequest request, CancellationToken cancellationToken) => client.ReleaseTerminalAsync(request, cancellationToken);
}
