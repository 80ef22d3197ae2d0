using Harmony.Parsing;

namespace Acp.GptOss.Cli;

/// <summary>How the parser's enums are spelled in JSON (schemas/harmony-parse-event.schema.json).</summary>
internal static class WireNames
{
    public static string Route(HarmonyRoute route) => route switch
    {
        HarmonyRoute.Final => "final",
        HarmonyRoute.Commentary => "commentary",
        HarmonyRoute.Analysis => "analysis",
        HarmonyRoute.Tool => "tool",
        HarmonyRoute.Foreign => "foreign",
        _ => "unknown",
    };

    public static string Terminator(HarmonyTerminator terminator) => terminator switch
    {
        HarmonyTerminator.End => "end",
        HarmonyTerminator.Return => "return",
        HarmonyTerminator.Call => "call",
        HarmonyTerminator.EndOfText => "endoftext",
        HarmonyTerminator.Implicit => "implicit",
        _ => "truncated",
    };

    public static string StopReason(HarmonyStopReason reason) => reason switch
    {
        HarmonyStopReason.EndTurn => "end_turn",
        HarmonyStopReason.ToolCall => "tool_call",
        HarmonyStopReason.MaxTokens => "max_tokens",
        _ => "cancelled",
    };
}
