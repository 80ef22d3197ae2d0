using System.Text.Json;

namespace Acp.Protocol.JsonRpc;

/// <summary>
/// A JSON-RPC error. Thrown by a handler, it becomes the error response; thrown by
/// <see cref="JsonRpcPeer.RequestAsync"/>, it is the peer's error answer.
/// </summary>
public sealed class JsonRpcException : Exception
{
    /// <summary>Creates an error.</summary>
    public JsonRpcException(int code, string message, JsonElement? data = null)
        : base(message)
    {
        Code = code;
        Data = data;
    }

    /// <summary>Creates an internal error.</summary>
    public JsonRpcException()
        : this(JsonRpcErrorCodes.InternalError, "Internal error")
    {
    }

    /// <summary>Creates an internal error.</summary>
    public JsonRpcException(string message)
        : this(JsonRpcErrorCodes.InternalError, message)
    {
    }

    /// <summary>Creates an internal error.</summary>
    public JsonRpcException(string message, Exception innerException)
        : base(message, innerException)
    {
        Code = JsonRpcErrorCodes.InternalError;
    }

    /// <summary>The error code.</summary>
    public int Code { get; }

    /// <summary>Structured details, if any.</summary>
    public new JsonElement? Data { get; }
}
