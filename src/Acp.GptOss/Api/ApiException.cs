using Microsoft.AspNetCore.Http;

namespace Acp.GptOss.Api;

/// <summary>A request the API answers with an error in OpenAI's shape: <c>{"error": {message, type, param, code}}</c>.</summary>
internal sealed class ApiException : Exception
{
    public ApiException()
    {
    }

    public ApiException(string message)
        : this(StatusCodes.Status400BadRequest, message)
    {
    }

    public ApiException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    public ApiException(int status, string message, string? param = null, string? code = null, string? type = null)
        : base(message)
    {
        Status = status;
        Param = param;
        Code = code;
        Type = type ?? (status >= 500 ? "server_error" : "invalid_request_error");
    }

    public int Status { get; } = StatusCodes.Status400BadRequest;

    /// <summary>OpenAI's error type: <c>invalid_request_error</c>, <c>server_error</c>, ...</summary>
    public string Type { get; } = "invalid_request_error";

    /// <summary>The request field at fault, as a path (<c>messages[2].content</c>).</summary>
    public string? Param { get; }

    /// <summary>A stable code for programs (<c>model_not_found</c>, <c>model_loading</c>, ...).</summary>
    public string? Code { get; }

    /// <summary>Seconds after which the client may try again (a <c>Retry-After</c> header), if any.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>A field of the request is wrong: 400 naming it.</summary>
    public static ApiException Field(string param, string message) => new(StatusCodes.Status400BadRequest, message, param);
}
