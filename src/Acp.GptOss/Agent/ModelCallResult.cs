using Harmony.Parsing;

namespace Acp.GptOss.Agent;

/// <summary>What one GPT-OSS model call produced, once its stream has ended.</summary>
/// <param name="Completed">The messages completed, in order.</param>
/// <param name="ToolCall">The tool call the model made, if it did.</param>
/// <param name="StopReason">Why the call stopped.</param>
/// <param name="ShownText">The visible text of a message cut off before it completed (by a cancel).</param>
/// <param name="GeneratedTokens">The tokens the model generated.</param>
internal sealed record ModelCallResult(
    IReadOnlyList<ParsedMessage> Completed, ParsedToolCall? ToolCall, HarmonyStopReason StopReason, string ShownText, int GeneratedTokens);
