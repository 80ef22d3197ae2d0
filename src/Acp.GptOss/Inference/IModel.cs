namespace Acp.GptOss.Inference;

/// <summary>
/// A model as the agent controls it: what it is for, where it is in its life, and the two moves, load and unload
/// (<c>_gptoss/status</c>, <c>_gptoss/load</c>, <c>_gptoss/unload</c>, the relay's health page). How it loads, and
/// what holds it while a generation runs, stays with the engine.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal interface IModel
{
    /// <summary>What the model is for: the name in status, logs and telemetry.</summary>
    ModelRole Role { get; }

    /// <summary>Where it is in its life now.</summary>
    ModelState State { get; }

    /// <summary>The state now, with memory and disk figures.</summary>
    ModelStatus GetStatus();

    /// <summary>Starts loading in the background, unless loaded or loading.</summary>
    void StartLoading();

    /// <summary>Loads the model, or waits for the load under way.</summary>
    /// <exception cref="InferenceException">It cannot load; the message says why.</exception>
    Task LoadAsync(CancellationToken cancellationToken);

    /// <summary>Frees the model once no generation uses it; a load under way is cancelled. Does nothing when not loaded.</summary>
    Task UnloadAsync();
}
