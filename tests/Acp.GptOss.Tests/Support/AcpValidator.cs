namespace Acp.GptOss.Tests.Support;

/// <summary>tests/clients/validate-acp.mjs: checks ACP traffic, one JSON-RPC message a line, against the ACP SDK's schema.</summary>
internal static class AcpValidator
{
    /// <summary>Validates <paramref name="traffic"/>; it prints " 0 problems" and exits 0 when all is well.</summary>
    /// <param name="traffic">The messages, as a client or the agent wrote them.</param>
    /// <param name="options">The validator's options, such as <c>--assume-response session/prompt</c>.</param>
    public static Task<ProcessResult> RunAsync(string traffic, params string[] options) =>
        ChildProcess.RunAsync("node", [Repository.Validator, .. options], Repository.ClientsDirectory, input: traffic);
}
