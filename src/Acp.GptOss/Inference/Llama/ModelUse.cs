namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// Who holds a slot's model (its leases), and since when nobody does: what an unload waits for and what the idle
/// policy looks at.
/// </summary>
/// <remarks>Not thread-safe: the slot calls it under its lock.</remarks>
internal sealed class ModelUse(TimeProvider time)
{
    private int _users;
    private long _lastUsed = time.GetTimestamp();
    private TaskCompletionSource? _idle;

    public bool InUse => _users > 0;

    /// <summary>How long since the model was last used (or loaded).</summary>
    public TimeSpan Unused => time.GetElapsedTime(_lastUsed);

    /// <summary>The model was used now: loaded, say.</summary>
    public void Touch() => _lastUsed = time.GetTimestamp();

    /// <summary>A lease was taken.</summary>
    public void Add() => _users++;

    /// <summary>A lease was released: the last one lets a waiting unload go on.</summary>
    public void Remove()
    {
        _users--;
        _lastUsed = time.GetTimestamp();
        if (_users == 0)
        {
            _idle?.TrySetResult();
        }
    }

    /// <summary>Completes once no lease is held: at once when none is.</summary>
    public Task WhenUnused()
    {
        _idle = _users == 0 ? null : new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        return _idle?.Task ?? Task.CompletedTask;
    }

    /// <summary>The unload that waited is done.</summary>
    public void ForgetWaiter() => _idle = null;
}
