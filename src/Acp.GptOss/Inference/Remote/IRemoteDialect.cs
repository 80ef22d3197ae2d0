namespace Acp.GptOss.Inference.Remote;

/// <summary>
/// How one kind of server is asked for a completion: its endpoints, its request fields, and how its streamed
/// answer gives back token ids (docs/remote.md). Stateless; one instance serves every session.
/// </summary>
internal interface IRemoteDialect
{
    /// <summary>The kind of server this dialect speaks to.</summary>
    RemoteKind Kind { get; }

    /// <summary>
    /// Whether the server at hand is of this kind, from what it answers to a GET that only this kind serves; used
    /// when no <c>--remote-kind</c> is given. False when the path is missing.
    /// </summary>
    /// <exception cref="InferenceException">The server cannot be reached at all.</exception>
    Task<bool> IsServedByAsync(RemoteServer server, CancellationToken cancellationToken);

    /// <summary>Checks that the server answers and serves <paramref name="model"/> (or picks its model), and reads its context size.</summary>
    /// <exception cref="InferenceException">The server is unreachable, refuses, or does not serve the model; the message says which.</exception>
    Task<RemoteModelInfo> ProbeAsync(RemoteServer server, string? model, CancellationToken cancellationToken);

    /// <summary>
    /// Streams the completion of the request's prompt as token ids of the o200k_harmony vocabulary, the stop
    /// token included when the server gives it. Cancelling closes the stream at once, which makes the server drop the
    /// request.
    /// </summary>
    /// <exception cref="InferenceException">The server failed, stalled, or cut the stream short.</exception>
    IAsyncEnumerable<int> GenerateAsync(RemoteServer server, RemoteModelInfo model, RemoteRequest request, CancellationToken cancellationToken);
}
