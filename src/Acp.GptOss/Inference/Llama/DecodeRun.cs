namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// One generation's stop signal, hand-off and model lease, shared by the reader and the decode thread of a
/// <see cref="LlamaConversation"/>.
/// </summary>
internal sealed class DecodeRun(CancellationTokenSource stop, TokenHandoff tokens, ModelSlot.Lease lease)
{
    private readonly Lock _gate = new();
    private readonly TaskCompletionSource _done = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private bool _finished;

    public TokenHandoff Tokens => tokens;

    public CancellationToken Token => stop.Token;

    /// <summary>Completes once the decode thread is done with the context and the model.</summary>
    public Task Done => _done.Task;

    /// <summary>The reader is done: stop decoding, if it still runs.</summary>
    public void Stop()
    {
        lock (_gate)
        {
            if (!_finished)
            {
                // Sets llama.cpp's abort flag, no more.
                stop.Cancel();
            }
        }
    }

    /// <summary>The decode thread is done: release the model, and let the next generation start.</summary>
    public void Finish()
    {
        lock (_gate)
        {
            _finished = true;
        }

        stop.Dispose();
        lease.Dispose();
        _done.SetResult();
    }
}
