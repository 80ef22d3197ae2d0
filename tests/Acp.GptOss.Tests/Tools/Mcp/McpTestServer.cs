using Acp.Protocol;

namespace Acp.GptOss.Tests.Tools.Mcp;

/// <summary>The Node.js MCP server of these tests (mcp-test-server.mjs, beside the test assembly).</summary>
internal static class McpTestServer
{
    public static string Script => Path.Combine(AppContext.BaseDirectory, "Tools", "Mcp", "mcp-test-server.mjs");

    /// <summary>Why the server cannot run here, or null when it can.</summary>
    public static string? NodeMissing { get; } = FindNodeMissing();

    /// <summary>The ACP config of a stdio server running the script.</summary>
    public static McpServer Stdio(string name, params NameValue[] env) =>
        new(name) { Command = "node", Args = [Script], Env = env };

    private static string? FindNodeMissing()
    {
        string? path = Environment.GetEnvironmentVariable("PATH");
        bool hasNode = path?.Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, "node"))) == true;
        return hasNode ? null : "Node.js is not on PATH: the MCP test server cannot run.";
    }
}

/// <summary>A fact that needs Node.js for the MCP test server; skipped, with the reason, without it.</summary>
internal sealed class NodeFactAttribute : FactAttribute
{
    public NodeFactAttribute()
    {
        Skip = McpTestServer.NodeMissing;
    }
}
