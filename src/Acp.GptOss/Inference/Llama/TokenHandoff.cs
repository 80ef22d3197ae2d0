using System.Runtime.ExceptionServices;
using System.Threading.Tasks.Sources;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// Hands token ids from a decoding thread to an async reader: one writer, one reader, one generation at a time.
/// Decoding blocks its thread for seconds at a stretch (a long prefill), so it runs on a thread of its own rather
/// than a thread-pool thread, which would starve the tasks that write the turn's updates to stdout. A waiting reader
/// resumes through a reusable value-task source, so a token costs no allocation, and it resumes inline on the
/// decoding thread: its work per token (parse, queue an update) takes microseconds, less than a hop to the pool.
/// One per generation: a reader that gave up (<see cref="Abandon"/>) leaves it to its writer, which may still be
/// stopping.
/// </summary>
/// <remarks>Thread-safe for one writer and one reader.</remarks>
internal sealed class TokenHandoff(int capacity) : IValueTaskSource<bool>
{
    private readonly Lock _gate = new();
    private ManualResetValueTaskSourceCore<bool> _waiter = new() { RunContinuationsAsynchronously = false };
    private int[] _tokens = new int[Math.Max(16, capacity)];
    private int _written;
    private int _read;
    private bool _completed;
    private bool _abandoned;
    private bool _readerWaiting;
    private ExceptionDispatchInfo? _error;

    /// <summary>Whether the reader gave up before the writer was done.</summary>
    public bool Abandoned
    {
        get
        {
            lock (_gate)
            {
                return _abandoned;
            }
        }
    }

    /// <summary>
    /// The reader gives up (it was cancelled): a pending wait ends with false at once, on the thread pool rather than
    /// on the caller's thread (the cancelling one, such as the connection's read loop), and so does every later one.
    /// </summary>
    public void Abandon()
    {
        lock (_gate)
        {
            _abandoned = true;
            if (!_readerWaiting)
            {
                return;
            }

            _readerWaiting = false;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static handoff => handoff._waiter.SetResult(false), this, preferLocal: false);
    }

    /// <summary>The writer adds a token.</summary>
    public void Write(int token)
    {
        lock (_gate)
        {
            if (_written == _tokens.Length)
            {
                // More than the capacity promised: grow rather than lose a token.
                Array.Resize(ref _tokens, _tokens.Length * 2);
            }

            _tokens[_written++] = token;
            if (!_readerWaiting)
            {
                return;
            }

            _readerWaiting = false;
        }

        _waiter.SetResult(true);
    }

    /// <summary>The writer is done, with the exception that stopped it, if any.</summary>
    public void Complete(Exception? error)
    {
        lock (_gate)
        {
            _completed = true;
            _error = error is null ? null : ExceptionDispatchInfo.Capture(error);
            if (!_readerWaiting)
            {
                return;
            }

            _readerWaiting = false;
        }

        _waiter.SetResult(false);
    }

    /// <summary>True once a token can be read; false when the writer is done and every token was read.</summary>
    public ValueTask<bool> WaitToReadAsync()
    {
        lock (_gate)
        {
            if (_abandoned)
            {
                return new ValueTask<bool>(false);
            }

            if (_read < _written)
            {
                return new ValueTask<bool>(true);
            }

            if (_completed)
            {
                return new ValueTask<bool>(false);
            }

            _waiter.Reset();
            _readerWaiting = true;
            return new ValueTask<bool>(this, _waiter.Version);
        }
    }

    /// <summary>Takes the next token, if one is there.</summary>
    public bool TryRead(out int token)
    {
        lock (_gate)
        {
            if (_read < _written)
            {
                token = _tokens[_read++];
                return true;
            }

            token = 0;
            return false;
        }
    }

    /// <summary>
    /// Every token, as the writer hands them on; then what stopped the writer, if anything did. A reader that gave up
    /// (<see cref="Abandon"/>, when <paramref name="cancellationToken"/> fired) ends with <see cref="OperationCanceledException"/>.
    /// </summary>
    public async IAsyncEnumerable<int> ReadAllAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken cancellationToken)
    {
        while (await WaitToReadAsync().ConfigureAwait(false))
        {
            while (TryRead(out int token))
            {
                // A cancel stops the reader at once, even with tokens decoded before it still waiting here: a reader
                // slower than the decode loop would otherwise go on receiving them after its cancel.
                cancellationToken.ThrowIfCancellationRequested();
                yield return token;
            }
        }

        if (Abandoned)
        {
            throw new OperationCanceledException(cancellationToken);
        }

        ThrowIfFailed();
    }

    /// <summary>After the last token: throws what stopped the writer, if anything did.</summary>
    public void ThrowIfFailed()
    {
        lock (_gate)
        {
            _error?.Throw();
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _waiter.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _waiter.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _waiter.OnCompleted(continuation, state, token, flags);
}
