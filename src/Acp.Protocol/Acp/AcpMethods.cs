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

    /// <summary>Client to agent: run a prompt turn.</summary>
    public const string SessionPrompt = "session/prompt";

    /// <summary>Client to agent (notification): cancel the running turn.</summary>
    public const string SessionCancel = "session/cancel";

    /// <summary>Client to agent: change a session config option.</summary>
    public const string SessionSetConfigOption = "session/set_config_option";

    /// <summary>Agent to client (notification): progress of a session.</summary>
    public const string SessionUpdate = "session/update";
}
