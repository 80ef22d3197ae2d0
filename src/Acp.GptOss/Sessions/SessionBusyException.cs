namespace Acp.GptOss.Sessions;

/// <summary>The session is open in another agent process, which holds its journal's lock.</summary>
internal sealed class SessionBusyException(string sessionId, Exception inner)
    : IOException($"Session {sessionId} is open in another acp-gptoss process; close it there first.", inner)
{
    public string SessionId { get; } = sessionId;
}
