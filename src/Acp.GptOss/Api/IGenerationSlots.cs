using Acp.GptOss.Inference;

namespace Acp.GptOss.Api;

/// <summary>
/// Where an API request gets the engine session it generates on, and so how many generate at once: the seam for
/// admission. Today <see cref="SessionPool"/> lets a fixed number run and queues the rest; a batching engine can
/// answer with sessions decoded together, and a bounded queue can refuse with 429 and <c>Retry-After</c> here
/// (<see cref="ApiException"/>) without the handlers changing.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal interface IGenerationSlots : IAsyncDisposable
{
    /// <summary>Requests waiting for a slot now.</summary>
    int Waiting { get; }

    /// <summary>Generations holding a slot now.</summary>
    int Running { get; }

    /// <summary>Waits for a slot, cancellably; dispose the lease when the generation is over.</summary>
    /// <exception cref="ApiException">Refused (a full queue: 429).</exception>
    /// <exception cref="InferenceException">The engine cannot make a session.</exception>
    ValueTask<GenerationLease> AcquireAsync(CancellationToken cancellationToken);
}
