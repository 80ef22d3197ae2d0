using System.Text.Json.Serialization;

namespace Acp.GptOss.Inference;

/// <summary>A model's state, for <c>_gptoss/status</c>.</summary>
/// <param name="Role">What the model is for; on the wire, its wire name.</param>
/// <param name="State">Where it is in its life.</param>
/// <param name="Path">The model file.</param>
internal sealed record ModelStatus([property: JsonConverter(typeof(ModelRoleJsonConverter))] ModelRole Role, ModelState State, string Path)
{
    /// <summary>Why it failed to load, in the <see cref="ModelState.Error"/> state.</summary>
    public string? Error { get; init; }

    /// <summary>Its size on disk, if the file exists.</summary>
    public long? SizeBytes { get; init; }

    /// <summary>How far loading the weights is, 0 to 1.</summary>
    public double LoadProgress { get; init; }

    /// <summary>Memory for the weights and one session's KV cache.</summary>
    public long? RamNeededBytes { get; init; }

    /// <summary>Memory available to this process now.</summary>
    public long? RamAvailableBytes { get; init; }

    /// <summary>Free space on the model's file system.</summary>
    public long? DiskFreeBytes { get; init; }

    /// <summary>The context size of each session, once known.</summary>
    public int? ContextSize { get; init; }

    /// <summary>The server, for a model that runs on one (<c>--engine remote</c>); its health is <see cref="State"/> and <see cref="Error"/>.</summary>
    public Remote.RemoteStatus? Remote { get; init; }

    /// <summary>What the runtime says the model is, once loaded.</summary>
    public string? Description { get; init; }
}
