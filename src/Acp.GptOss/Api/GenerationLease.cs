using Acp.GptOss.Inference;

namespace Acp.GptOss.Api;

/// <summary>One generation's hold on an engine session; disposing it gives the session back.</summary>
internal sealed class GenerationLease(IInferenceSession session, Func<IInferenceSession, bool, ValueTask> release) : IAsyncDisposable
{
    private int _released;

    public IInferenceSession Session { get; } = session;

    /// <summary>The engine failed on this session: it is dropped rather than reused.</summary>
    public bool Failed { get; set; }

    public ValueTask DisposeAsync() =>
        Interlocked.Exchange(ref _released, 1) == 0 ? release(Session, Failed) : ValueTask.CompletedTask;
}
