using Acp.GptOss.Inference;
using Harmony.Conversations;

namespace Acp.GptOss.Agent;

/// <summary>
/// One ACP session: its root, settings, Harmony history and engine state, and the gate that runs one prompt turn
/// at a time. A newer prompt cancels the running turn first; a cancel applies to every turn that arrived before it.
/// </summary>
/// <remarks>Thread-safe. Turns run one at a time, so <see cref="History"/> is only touched by the running turn.</remarks>
internal sealed class AgentSession(string id, string cwd, SessionSettings settings, IInferenceEngine engine) : IAsyncDisposable
{
    private IInferenceSession? _inference;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _turns = new(1, 1);
    private SessionSettings _settings = settings;
    private CancellationTokenSource? _turn;
    private long _turnSequence;
    private long _cancelBefore;
    private int _messageCount;
    private int _toolCallCount;

    public string Id { get; } = id;

    public string Cwd { get; } = cwd;

    /// <summary>
    /// The engine state of this conversation, created by the first turn that needs it: that may wait for the model to
    /// load, which must not hold up session/new. Only the running turn calls this.
    /// </summary>
    public async ValueTask<IInferenceSession> GetInferenceAsync(CancellationToken cancellationToken) =>
        _inference ??= await engine.CreateSessionAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The conversation so far, by Harmony's history rules.</summary>
    public List<HarmonyMessage> History { get; } = [];

    public SessionSettings Settings
    {
        get
        {
            lock (_gate)
            {
                return _settings;
            }
        }
    }

    public SessionSettings Update(Func<SessionSettings, SessionSettings> change)
    {
        lock (_gate)
        {
            return _settings = change(_settings);
        }
    }

    public string NextMessageId() => $"msg_{Interlocked.Increment(ref _messageCount)}";

    public string NextToolCallId() => $"call_{Interlocked.Increment(ref _toolCallCount)}";

    /// <summary>Cancels every turn whose prompt arrived before message <paramref name="sequence"/>, running or waiting.</summary>
    public void Cancel(long sequence)
    {
        lock (_gate)
        {
            _cancelBefore = Math.Max(_cancelBefore, sequence);
            if (_turn is not null && _turnSequence < _cancelBefore)
            {
                _turn.Cancel();
            }
        }
    }

    /// <summary>
    /// Runs a turn for the prompt that arrived as message <paramref name="sequence"/>, after cancelling and waiting
    /// out any earlier one. The turn's token fires on <c>session/cancel</c>, a newer prompt, or
    /// <paramref name="requestCancellation"/> (<c>$/cancel_request</c> or the client leaving).
    /// </summary>
    public async Task<T> RunTurnAsync<T>(long sequence, Func<CancellationToken, Task<T>> turn, CancellationToken requestCancellation)
    {
        Cancel(sequence);
        await _turns.WaitAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            using var cancellation = CancellationTokenSource.CreateLinkedTokenSource(requestCancellation);
            lock (_gate)
            {
                _turn = cancellation;
                _turnSequence = sequence;
                if (sequence < _cancelBefore)
                {
                    cancellation.Cancel();
                }
            }

            try
            {
                return await turn(cancellation.Token).ConfigureAwait(false);
            }
            finally
            {
                lock (_gate)
                {
                    _turn = null;
                }
            }
        }
        finally
        {
            _turns.Release();
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (_inference is not null)
        {
            await _inference.DisposeAsync().ConfigureAwait(false);
        }

        _turns.Dispose();
    }
}
