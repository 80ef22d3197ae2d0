using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.Protocol;

/// <summary><c>initialize</c> params.</summary>
/// <param name="ProtocolVersion">The latest version the client speaks.</param>
public sealed record InitializeRequest(int ProtocolVersion)
{
    /// <summary>What the client can do; absent means nothing.</summary>
    public ClientCapabilities? ClientCapabilities { get; init; }

    /// <summary>Who the client is.</summary>
    public Implementation? ClientInfo { get; init; }
}

/// <summary>What a client can do for the agent.</summary>
public sealed record ClientCapabilities
{
    /// <summary>File system methods the client serves.</summary>
    public FileSystemCapability? Fs { get; init; }

    /// <summary>Whether the client serves the <c>terminal/*</c> methods.</summary>
    public bool Terminal { get; init; }

    /// <summary>Session features the client supports (compaction updates, say).</summary>
    public ClientSessionCapabilities? Session { get; init; }

    /// <summary>Custom capabilities.</summary>
    [JsonPropertyName("_meta")]
    public JsonElement? Meta { get; init; }
}

/// <summary>The client's file system methods.</summary>
public sealed record FileSystemCapability
{
    /// <summary><c>fs/read_text_file</c>.</summary>
    public bool ReadTextFile { get; init; }

    /// <summary><c>fs/write_text_file</c>.</summary>
    public bool WriteTextFile { get; init; }
}

/// <summary>A program's name and version.</summary>
/// <param name="Name">Its programmatic name.</param>
/// <param name="Version">Its version.</param>
public sealed record Implementation(string Name, string Version)
{
    /// <summary>Its display name.</summary>
    public string? Title { get; init; }
}

/// <summary><c>initialize</c> result.</summary>
/// <param name="ProtocolVersion">The version both will speak.</param>
/// <param name="AgentCapabilities">What the agent can do; omitted features are unsupported.</param>
/// <param name="AuthMethods">How to authenticate; empty when no authentication is needed.</param>
/// <param name="AgentInfo">Who the agent is.</param>
public sealed record InitializeResponse(
    int ProtocolVersion, AgentCapabilities AgentCapabilities, IReadOnlyList<AuthMethod> AuthMethods, Implementation AgentInfo);

/// <summary>What an agent can do.</summary>
/// <param name="LoadSession">Whether <c>session/load</c> works.</param>
/// <param name="PromptCapabilities">Which content a prompt may hold.</param>
public sealed record AgentCapabilities(bool LoadSession, PromptCapabilities PromptCapabilities)
{
    /// <summary>Which MCP transports besides stdio the agent connects to.</summary>
    public McpCapabilities? McpCapabilities { get; init; }

    /// <summary>Optional session features.</summary>
    public SessionCapabilities? SessionCapabilities { get; init; }

    /// <summary>Custom capabilities: extension methods and notifications, say.</summary>
    [JsonPropertyName("_meta")]
    public JsonElement? Meta { get; init; }
}

/// <summary>MCP transports the agent supports besides stdio, which every agent supports.</summary>
/// <param name="Http">Streamable HTTP servers.</param>
/// <param name="Sse">Legacy SSE servers.</param>
public sealed record McpCapabilities(bool Http, bool Sse);

/// <summary>Optional session features; each present (as <c>{}</c>) when supported.</summary>
public sealed record SessionCapabilities
{
    /// <summary><c>additionalDirectories</c> in <c>session/new</c>.</summary>
    public EmptyCapability? AdditionalDirectories { get; init; }

    /// <summary><c>session/list</c>.</summary>
    public EmptyCapability? List { get; init; }

    /// <summary><c>session/resume</c>.</summary>
    public EmptyCapability? Resume { get; init; }

    /// <summary><c>session/close</c>.</summary>
    public EmptyCapability? Close { get; init; }

    /// <summary><c>session/delete</c>.</summary>
    public EmptyCapability? Delete { get; init; }
}

/// <summary>A capability with no settings: present means supported.</summary>
public sealed record EmptyCapability;

/// <summary>Which content blocks a prompt may hold beyond text and resource links.</summary>
/// <param name="Image">Image blocks.</param>
/// <param name="Audio">Audio blocks.</param>
/// <param name="EmbeddedContext">Resource blocks (embedded file contents).</param>
public sealed record PromptCapabilities(bool Image, bool Audio, bool EmbeddedContext);

/// <summary>An authentication method.</summary>
/// <param name="Id">Its id.</param>
/// <param name="Name">Its display name.</param>
public sealed record AuthMethod(string Id, string Name);
