using System.Text.Json;
using System.Text.Json.Serialization;

namespace Acp.Protocol;

/// <summary>
/// A context compaction, created or updated (<c>compaction_update</c>). Sent only to a client that advertised
/// <c>clientCapabilities.session.compaction</c>; later updates with the same id patch the same compaction.
/// </summary>
/// <param name="CompactionId">The agent's id for it, unique within the session.</param>
/// <param name="Status">Where it stands.</param>
public sealed record CompactionUpdate(string CompactionId, CompactionStatus Status) : SessionUpdate
{
    /// <summary>What the user may read of it; replaces any summary sent before.</summary>
    public IReadOnlyList<ContentBlock>? Summary { get; init; }

    /// <summary>Why it failed.</summary>
    public string? Error { get; init; }
}

/// <summary>Where a context compaction stands.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<CompactionStatus>))]
public enum CompactionStatus
{
    /// <summary>Started, not finished.</summary>
    [JsonStringEnumMemberName("in_progress")]
    InProgress,

    /// <summary>Finished.</summary>
    [JsonStringEnumMemberName("completed")]
    Completed,

    /// <summary>Finished without making room.</summary>
    [JsonStringEnumMemberName("failed")]
    Failed,

    /// <summary>Cancelled before it finished.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,
}

/// <summary>The session features a client supports (<c>clientCapabilities.session</c>); each present (as <c>{}</c>) when supported.</summary>
public sealed record ClientSessionCapabilities
{
    /// <summary><c>compaction_update</c> session updates.</summary>
    public EmptyCapability? Compaction { get; init; }

    /// <summary><c>notice</c> session updates.</summary>
    public EmptyCapability? Notices { get; init; }

    /// <summary>Custom capabilities.</summary>
    [JsonPropertyName("_meta")]
    public JsonElement? Meta { get; init; }
}
