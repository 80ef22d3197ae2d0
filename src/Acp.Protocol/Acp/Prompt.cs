using System.Text.Json.Serialization;

namespace Acp.Protocol;

/// <summary><c>session/prompt</c> params.</summary>
/// <param name="SessionId">The session.</param>
/// <param name="Prompt">The user's message.</param>
public sealed record PromptRequest(string SessionId, IReadOnlyList<ContentBlock> Prompt);

/// <summary><c>session/prompt</c> result.</summary>
/// <param name="StopReason">Why the turn ended.</param>
public sealed record PromptResponse(StopReason StopReason)
{
    /// <summary>Custom information about the turn.</summary>
    [JsonPropertyName("_meta")]
    public System.Text.Json.JsonElement? Meta { get; init; }
}

/// <summary>Why a prompt turn ended.</summary>
[JsonConverter(typeof(JsonStringEnumConverter<StopReason>))]
public enum StopReason
{
    /// <summary>The model finished.</summary>
    [JsonStringEnumMemberName("end_turn")]
    EndTurn,

    /// <summary>The token budget or the context ran out.</summary>
    [JsonStringEnumMemberName("max_tokens")]
    MaxTokens,

    /// <summary>The agent's cap on model calls in one turn was reached.</summary>
    [JsonStringEnumMemberName("max_turn_requests")]
    MaxTurnRequests,

    /// <summary>The agent refused to go on.</summary>
    [JsonStringEnumMemberName("refusal")]
    Refusal,

    /// <summary>The client cancelled the turn.</summary>
    [JsonStringEnumMemberName("cancelled")]
    Cancelled,
}

/// <summary>Content of a prompt or an update: text, a resource link, an embedded resource, an image or audio.</summary>
[JsonPolymorphic(TypeDiscriminatorPropertyName = "type")]
[JsonDerivedType(typeof(TextContent), "text")]
[JsonDerivedType(typeof(ResourceLinkContent), "resource_link")]
[JsonDerivedType(typeof(EmbeddedResourceContent), "resource")]
[JsonDerivedType(typeof(ImageContent), "image")]
[JsonDerivedType(typeof(AudioContent), "audio")]
public abstract record ContentBlock;

/// <summary>Text.</summary>
/// <param name="Text">The text.</param>
public sealed record TextContent(string Text) : ContentBlock;

/// <summary>A reference to a resource the agent may read itself.</summary>
/// <param name="Uri">Where it is.</param>
/// <param name="Name">Its name.</param>
public sealed record ResourceLinkContent(string Uri, string Name) : ContentBlock
{
    /// <summary>Its display title.</summary>
    public string? Title { get; init; }

    /// <summary>What it is.</summary>
    public string? Description { get; init; }

    /// <summary>Its media type.</summary>
    public string? MimeType { get; init; }

    /// <summary>Its size in bytes.</summary>
    public long? Size { get; init; }
}

/// <summary>A resource's contents, embedded in the prompt (an @-mentioned file, say).</summary>
/// <param name="Resource">The contents.</param>
public sealed record EmbeddedResourceContent(EmbeddedResource Resource) : ContentBlock;

/// <summary>Embedded contents: text or base64 data.</summary>
/// <param name="Uri">Where they came from.</param>
public sealed record EmbeddedResource(string Uri)
{
    /// <summary>Their media type.</summary>
    public string? MimeType { get; init; }

    /// <summary>Text contents.</summary>
    public string? Text { get; init; }

    /// <summary>Binary contents, base64.</summary>
    public string? Blob { get; init; }
}

/// <summary>An image, base64.</summary>
/// <param name="Data">The data.</param>
/// <param name="MimeType">Its media type.</param>
public sealed record ImageContent(string Data, string MimeType) : ContentBlock;

/// <summary>Audio, base64.</summary>
/// <param name="Data">The data.</param>
/// <param name="MimeType">Its media type.</param>
public sealed record AudioContent(string Data, string MimeType) : ContentBlock;
