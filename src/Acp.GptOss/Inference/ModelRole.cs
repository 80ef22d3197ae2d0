namespace Acp.GptOss.Inference;

/// <summary>What a model is for: the agent runs at most one of each.</summary>
internal enum ModelRole
{
    /// <summary>GPT-OSS through Harmony, with reasoning and tools.</summary>
    GptOss,

    /// <summary>The small fast model for short questions, through its own chat template.</summary>
    Fast,
}

/// <summary>The names a role has on the wire (routing metadata, model extensions, telemetry) and in logs.</summary>
internal static class ModelRoles
{
    public const string GptOssName = "gpt-oss";
    public const string FastName = "fast";

    public static string WireName(this ModelRole role) => role switch
    {
        ModelRole.GptOss => GptOssName,
        ModelRole.Fast => FastName,
        _ => throw new ArgumentOutOfRangeException(nameof(role), role, null),
    };

    /// <summary>The role named <paramref name="name"/>, or null for any other name.</summary>
    public static ModelRole? FromWireName(string? name) => name switch
    {
        GptOssName => ModelRole.GptOss,
        FastName => ModelRole.Fast,
        _ => null,
    };
}
