namespace Acp.GptOss.Inference;

/// <summary>
/// A model that answers in plain text through its own chat template: the fast model. No Harmony, no tools; text
/// in, text out.
/// </summary>
internal interface IChatEngine : IAsyncDisposable
{
    /// <summary>What runs, for logs.</summary>
    string Description { get; }

    /// <summary>The model, for status, load and unload; none for an engine without one.</summary>
    IModel? Model { get; }

    /// <summary>Creates the state of one conversation; it may wait for the model to load.</summary>
    /// <exception cref="InferenceException">The model cannot load.</exception>
    ValueTask<IChatSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken);
}
