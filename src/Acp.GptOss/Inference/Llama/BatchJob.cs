using LlamaCpp;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// One piece of work for a <see cref="BatchDecodeLoop"/> on behalf of a <see cref="BatchedConversation"/>: a
/// generation (its tokens go to <see cref="Tokens"/>), or a save or restore of the conversation's sequence state,
/// which runs between two steps. It holds the model (a lease) until it is done.
/// </summary>
internal sealed class BatchJob
{
    private readonly TaskCompletionSource<bool> _done = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private BatchJob(BatchedConversation owner, ModelSlot.Lease lease)
    {
        Owner = owner;
        Lease = lease;
    }

    public BatchedConversation Owner { get; }

    public ModelSlot.Lease Lease { get; }

    /// <summary>A generation's prompt.</summary>
    public ReadOnlyMemory<int> Prompt { get; private init; }

    public int MaxTokens { get; private init; }

    public ReadOnlyMemory<int> StopTokens { get; private init; }

    /// <summary>How a generation samples; the engine's way when null.</summary>
    public LlamaSamplingOptions? Sampling { get; private init; }

    /// <summary>Where a generation's tokens go; null for a state job.</summary>
    public TokenHandoff? Tokens { get; private init; }

    /// <summary>A state job's work on the conversation's sequence, on the loop's thread; null for a generation.</summary>
    public Func<LlamaSequence, bool>? StateWork { get; private init; }

    /// <summary>A save: it runs only on the sequence the conversation still has, never taking one from another.</summary>
    public bool OwnSequenceOnly { get; private init; }

    /// <summary>The sequence it runs on, once admitted.</summary>
    public LlamaSequence? Sequence { get; set; }

    /// <summary>The sequence's job number, for its cancel.</summary>
    public long Number { get; set; }

    /// <summary>Set by a cancel that came before the job was admitted, or after.</summary>
    public bool CancelRequested => CancelRequestedAt != 0;

    /// <summary>When the first cancel came (a <see cref="System.Diagnostics.Stopwatch"/> timestamp), or 0.</summary>
    public long CancelRequestedAt { get; set; }

    /// <summary>When it was submitted, for the queue's order and its telemetry.</summary>
    public long SubmittedAt { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>Completes when the loop is done with it (the model released): a state job's result.</summary>
    public Task<bool> Done => _done.Task;

    public static BatchJob Generate(
        BatchedConversation owner, ModelSlot.Lease lease, ReadOnlyMemory<int> prompt, int maxTokens, ReadOnlyMemory<int> stopTokens, LlamaSamplingOptions? sampling) =>
        new(owner, lease) { Prompt = prompt, MaxTokens = maxTokens, StopTokens = stopTokens, Sampling = sampling, Tokens = new TokenHandoff(maxTokens) };

    public static BatchJob State(BatchedConversation owner, ModelSlot.Lease lease, Func<LlamaSequence, bool> work, bool ownSequenceOnly) =>
        new(owner, lease) { StateWork = work, OwnSequenceOnly = ownSequenceOnly };

    /// <summary>The loop is done with the job: the model is released, and a generation's reader sees its end.</summary>
    public void Finish(bool result, Exception? error)
    {
        Lease.Dispose();
        Tokens?.Complete(error);
        if (error is not null && Tokens is null)
        {
            _done.SetException(error);
        }
        else
        {
            _done.SetResult(result);
        }
    }
}
