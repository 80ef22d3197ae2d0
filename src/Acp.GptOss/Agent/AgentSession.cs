using Acp.GptOss.Inference;
using Acp.GptOss.Tools;
using Harmony.Conversations;

namespace Acp.GptOss.Agent;

/// <summary>
/// One ACP session: its root, settings, Harmony history and engine state, and the gate that runs one prompt turn
/// at a time. A newer prompt cancels the running turn first; a cancel applies to every turn that arrived before it.
/// </summary>
/// <remarks>Thread-safe. Turns run one at a time, so <see cref="History"/> is only touched by the running turn.</remarks>
internal sealed class AgentSession : IAsyncDisposable
{
    private static readonly TimeSpan s_turnEndTimeout = TimeSpan.FromSeconds(10);

    private readonly CancellationTokenSource _closing = new();
    private readonly Task<IInferenceSession> _inference;
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _turns = new(1, 1);
    private SessionSettings _settings;
    private CancellationTokenSource? _turn;
    private Task<IChatSession>? _fast;
    private bool _escalated;
    private long _turnSequence;
    private long _cancelBefore;
    private int _messageCount;
    private int _toolCallCount;

    public AgentSession(string id, string cwd, SessionSettings settings, IInferenceEngine engine, SessionTools tools)
    {
        Id = id;
        Cwd = cwd;
        _settings = settings;
        Tools = tools;
        // The engine state (a llama context) is made in the background from now on, while the user writes the first
        // prompt; it may wait for the model to load, which must not hold up session/new.
        _inference = Task.Run(() => engine.CreateSessionAsync(id, _closing.Token).AsTask());
    }

    public string Id { get; }

    public string Cwd { get; }

    /// <summary>The functions the model may call, and where they act.</summary>
    public SessionTools Tools { get; }

    /// <summary>The user's "always" answers to permission requests.</summary>
    public PermissionMemory Permissions { get; } = new();

    /// <summary>The engine state of this conversation, once made.</summary>
    /// <exception cref="InferenceException">The engine cannot run: no model, or it failed to load.</exception>
    public async ValueTask<IInferenceSession> GetInferenceAsync(CancellationToken cancellationToken) =>
        await _inference.WaitAsync(cancellationToken).ConfigureAwait(false);

    /// <summary>The fast model's state of this conversation, made by the first turn routed to it.</summary>
    /// <exception cref="InferenceException">The fast model cannot load.</exception>
    public async ValueTask<IChatSession> GetFastAsync(IChatEngine engine, CancellationToken cancellationToken)
    {
        Task<IChatSession> fast;
        lock (_gate)
        {
            fast = _fast ??= Task.Run(() => engine.CreateSessionAsync(Id, _closing.Token).AsTask());
        }

        try
        {
            return await fast.WaitAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (InferenceException)
        {
            // The next turn tries again: the file may have been fixed.
            lock (_gate)
            {
                if (_fast == fast)
                {
                    _fast = null;
                }
            }

            throw;
        }
    }

    /// <summary>Whether a turn of this session went to GPT-OSS: the router then keeps it there.</summary>
    public bool Escalated
    {
        get => Volatile.Read(ref _escalated);
        set => Volatile.Write(ref _escalated, value);
    }

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
        await _closing.CancelAsync().ConfigureAwait(false);
        // The engine state is freed only once no turn uses it: a cancelled turn ends within milliseconds. One that
        // does not is left its state, rather than have native memory freed under a running decode.
        Cancel(long.MaxValue);
        if (!await _turns.WaitAsync(s_turnEndTimeout).ConfigureAwait(false))
        {
            // MCP servers stop with their session all the same.
            await Tools.DisposeAsync().ConfigureAwait(false);
            return;
        }

        // A failure to make the engine state was each prompt's to report; here there is only something to free or not.
        await ((Task)_inference).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        if (_inference.IsCompletedSuccessfully)
        {
            await _inference.Result.DisposeAsync().ConfigureAwait(false);
        }

        if (_fast is { } fast)
        {
            await ((Task)fast).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            if (fast.IsCompletedSuccessfully)
            {
                await fast.Result.DisposeAsync().ConfigureAwait(false);
            }
        }

        await Tools.DisposeAsync().ConfigureAwait(false);
        _closing.Dispose();
        _turns.Dispose();
    }
}
