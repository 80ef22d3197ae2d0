namespace Acp.Protocol;

/// <summary>ACP v1 method names.</summary>
public static class AcpMethods
{
    /// <summary>The protocol version this library speaks.</summary>
    public const int ProtocolVersion = 1;

    /// <summary>Client to agent: negotiate version and capabilities.</summary>
    public const string Initialize = "initialize";

    /// <summary>Client to agent: authenticate with one of the advertised methods.</summary>
    public const string Authenticate = "authenticate";

    /// <summary>Client to agent: create a session.</summary>
    public const string SessionNew = "session/new";

    /// <summary>Client to agent: list the stored sessions.</summary>
    public const string SessionList = "session/list";

    /// <summary>Client to agent: reopen a stored session, replaying its conversation.</summary>
    public const string SessionLoad = "session/load";

    /// <summary>Client to agent: reopen a stored session without replay.</summary>
    public const string SessionResume = "session/resume";

    /// <summary>Client to agent: free a session's resources; it stays stored.</summary>
    public const string SessionClose = "session/close";

    /// <summary>Client to agent: remove a stored session.</summary>
    public const string SessionDelete = "session/delete";

    /// <summary>Client to agent: run a prompt turn.</summary>
    public const string SessionPrompt = "session/prompt";

    /// <summary>Client to agent (notification): cancel the running turn.</summary>
    public const string SessionCancel = "session/cancel";

    /// <summary>Client to agent: change a session config option.</summary>
    public const string SessionSetConfigOption = "session/set_config_option";

    /// <summary>Client to agent: switch a session's mode.</summary>
    public const string SessionSetMode = "session/set_mode";

    /// <summary>Agent to client (notification): progress of a session.</summary>
    public const string SessionUpdate = "session/update";

    /// <summary>Agent to client: ask the user to allow a tool call.</summary>
    public const string SessionRequestPermission = "session/request_permission";

    /// <summary>Agent to client: read a text file, as the editor has it (unsaved changes included).</summary>
    public const string FsReadTextFile = "fs/read_text_file";

    /// <summary>Agent to client: write a text file through the editor.</summary>
    public const string FsWriteTextFile = "fs/write_text_file";

    /// <summary>Agent to client: start a command in a terminal the editor shows.</summary>
    public const string TerminalCreate = "terminal/create";

    /// <summary>Agent to client: a terminal's output so far.</summary>
    public const string TerminalOutput = "terminal/output";

    /// <summary>Agent to client: wait for a terminal's command to exit.</summary>
    public const string TerminalWaitForExit = "terminal/wait_for_exit";

    /// <summary>Agent to client: kill a terminal's command; the terminal stays.</summary>
    public const string TerminalKill = "terminal/kill";

    /// <summary>Agent to client: kill a terminal's command if it runs, and free the terminal.</summary>
    public const string TerminalRelease = "terminal/release";
}
