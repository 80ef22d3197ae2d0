namespace Acp.GptOss.Inference.Llama;

/// <summary>Who must let go of a model before it is freed: the conversations that made contexts on it.</summary>
/// <remarks>Thread-safe.</remarks>
internal sealed class UnloadListeners
{
    private readonly Lock _gate = new();
    private readonly List<Action> _listeners = [];

    /// <summary>Calls <paramref name="listener"/> before each unload until the returned object is disposed.</summary>
    public IDisposable Add(Action listener)
    {
        lock (_gate)
        {
            _listeners.Add(listener);
        }

        return new Registration(this, listener);
    }

    /// <summary>Calls each listener, in the order they came.</summary>
    public void Notify()
    {
        Action[] listeners;
        lock (_gate)
        {
            listeners = [.. _listeners];
        }

        foreach (Action listener in listeners)
        {
            listener();
        }
    }

    private void Remove(Action listener)
    {
        lock (_gate)
        {
            _listeners.Remove(listener);
        }
    }

    private sealed class Registration(UnloadListeners listeners, Action listener) : IDisposable
    {
        public void Dispose() => listeners.Remove(listener);
    }
}
