namespace Acp.Protocol.JsonRpc;

/// <summary>The error codes of JSON-RPC 2.0, and those ACP adds.</summary>
public static class JsonRpcErrorCodes
{
    /// <summary>The line is not valid JSON; answered with a null id.</summary>
    public const int ParseError = -32700;

    /// <summary>Valid JSON, but not a JSON-RPC message.</summary>
    public const int InvalidRequest = -32600;

    /// <summary>No such method.</summary>
    public const int MethodNotFound = -32601;

    /// <summary>The params do not fit the method.</summary>
    public const int InvalidParams = -32602;

    /// <summary>Something went wrong inside; details in the message.</summary>
    public const int InternalError = -32603;

    /// <summary>The request was cancelled with <c>$/cancel_request</c>.</summary>
    public const int RequestCancelled = -32800;

    /// <summary>ACP: authentication is needed first.</summary>
    public const int AuthenticationRequired = -32000;

    /// <summary>ACP: an unknown session (with <c>data.sessionId</c>) or a missing resource.</summary>
    public const int ResourceNotFound = -32002;
}
