using System.Text.Json;

namespace Acp.GptOss.Tools.Mcp;

/// <summary>A tool of an MCP server as offered to the model.</summary>
/// <param name="Name">
/// The function name the model sees: <c>{server}__{tool}</c> with every character outside [A-Za-z0-9_] replaced by
/// <c>_</c>, a leading digit prefixed with <c>_</c>, made unique within the toolbox by appending <c>_2</c>, <c>_3</c>, ...
/// </param>
/// <param name="Server">The server's name, as the ACP client gave it.</param>
/// <param name="Tool">The tool's own name on that server, unchanged: what a call sends.</param>
/// <param name="Description">The tool's description, else its title, else a line naming the tool and its server.</param>
/// <param name="Parameters">The tool's input JSON Schema, or null when it has no properties (Harmony renders <c>() => any</c> then).</param>
internal sealed record McpFunction(string Name, string Server, string Tool, string Description, JsonElement? Parameters);
