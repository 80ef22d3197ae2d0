using Harmony.Parsing;

namespace Acp.GptOss.Agent;

/// <summary>A completed Harmony message.</summary>
internal sealed record ParsedMessage(HarmonyHeader Header, string Text, HarmonyTerminator Terminator);
