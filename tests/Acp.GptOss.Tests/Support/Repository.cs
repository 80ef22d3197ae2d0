using System.Reflection;

namespace Acp.GptOss.Tests.Support;

/// <summary>Paths in the source tree and the test clients' availability.</summary>
internal static class Repository
{
    public static string Root { get; } = typeof(Repository).Assembly.GetCustomAttributes<AssemblyMetadataAttribute>()
        .Single(a => a.Key == "RepositoryRoot").Value!;

    public static string ClientsDirectory => Path.Combine(Root, "tests", "clients");

    public static string Acpx => Path.Combine(ClientsDirectory, "node_modules", "acpx", "dist", "cli.js");

    public static string Validator => Path.Combine(ClientsDirectory, "validate-acp.mjs");

    /// <summary>The built agent, beside the tests.</summary>
    public static string Agent => Path.Combine(AppContext.BaseDirectory, "acp-gptoss.dll");

    /// <summary>
    /// The published NativeAOT executable, which <c>./run-tests</c> publishes once per run (through <c>./acp-gptoss</c>)
    /// and names in <c>ACP_GPTOSS_NATIVE_AGENT</c>; null when it is not named.
    /// </summary>
    public static string? NativeAgent { get; } = Environment.GetEnvironmentVariable("ACP_GPTOSS_NATIVE_AGENT") is { Length: > 0 } path ? Path.GetFullPath(path) : null;

    /// <summary>Why the native executable cannot be tested here, or null when it can.</summary>
    public static string? NativeAgentMissing { get; } =
        NativeAgent is null ? "ACP_GPTOSS_NATIVE_AGENT names no published executable: ./run-tests publishes it and sets it."
        : !File.Exists(NativeAgent) ? $"ACP_GPTOSS_NATIVE_AGENT names {NativeAgent}, which does not exist."
        : null;

    /// <summary>Why the tests with real ACP clients cannot run here, or null when they can.</summary>
    public static string? ClientsMissing { get; } = FindClientsMissing();

    private static string? FindClientsMissing()
    {
        if (!File.Exists(Acpx) || !Directory.Exists(Path.Combine(ClientsDirectory, "node_modules", "@agentclientprotocol", "sdk")))
        {
            return "The ACP clients are not installed in tests/clients (npm install failed, or Node.js is missing).";
        }

        string? path = Environment.GetEnvironmentVariable("PATH");
        bool hasNode = path?.Split(Path.PathSeparator).Any(d => File.Exists(Path.Combine(d, "node"))) == true;
        return hasNode ? null : "Node.js is not on PATH.";
    }
}

/// <summary>A fact that needs Node.js and the ACP clients from tests/clients; skipped, with the reason, without them.</summary>
internal sealed class ClientsFactAttribute : FactAttribute
{
    public ClientsFactAttribute()
    {
        Skip = Repository.ClientsMissing;
    }
}

/// <summary>A theory that needs Node.js and the ACP clients; skipped, with the reason, without them.</summary>
internal sealed class ClientsTheoryAttribute : TheoryAttribute
{
    public ClientsTheoryAttribute()
    {
        Skip = Repository.ClientsMissing;
    }
}

/// <summary>
/// A fact about the published native executable, with generated models, the ACP clients and Node.js; skipped,
/// with the reason, when any is missing.
/// </summary>
internal sealed class NativeFactAttribute : FactAttribute
{
    public NativeFactAttribute()
    {
        Skip = Repository.NativeAgentMissing ?? TestModels.Missing ?? Repository.ClientsMissing ?? Tools.Mcp.McpTestServer.NodeMissing;
    }
}
