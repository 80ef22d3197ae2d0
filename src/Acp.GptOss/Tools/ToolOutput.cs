using Acp.Protocol;

namespace Acp.GptOss.Tools;

/// <summary>What a call produced.</summary>
/// <param name="Result">The tool message for the model.</param>
/// <param name="Content">What the user sees in the tool call.</param>
/// <param name="IsError">Whether the tool reported a failure (the call ends <c>failed</c>).</param>
internal sealed record ToolOutput(string Result, IReadOnlyList<ToolCallContent> Content, bool IsError = false);
