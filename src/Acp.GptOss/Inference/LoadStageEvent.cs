namespace Acp.GptOss.Inference;

/// <summary>A stage of loading a model: open, preflight, weights mapped, context created, state restored, warm; or failed.</summary>
/// <param name="Model">The model's role.</param>
/// <param name="Stage">The stage reached.</param>
/// <param name="ElapsedMs">Milliseconds since the load began.</param>
/// <param name="Progress">How far loading the weights is, 0 to 1.</param>
/// <param name="Detail">What the stage found: the context size, say, or why loading failed.</param>
internal sealed record LoadStageEvent(ModelRole Model, string Stage, double ElapsedMs, double Progress, string? Detail = null) : TelemetryEvent(Model)
{
    public const string Open = "open";
    public const string Preflight = "preflight";
    public const string WeightsMapped = "weights_mapped";
    public const string ContextCreated = "context_created";
    public const string Warm = "warm";

    /// <summary>A stored session's saved state was read into its context (its elapsed time is the restore's own).</summary>
    public const string StateRestored = "state_restored";
    public const string Failed = "failed";
    public const string Unloaded = "unloaded";
}
