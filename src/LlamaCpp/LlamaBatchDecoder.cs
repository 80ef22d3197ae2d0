using System.Runtime.InteropServices;
using LLama.Native;

namespace LlamaCpp;

/// <summary>
/// Many conversations decoded together in one llama.cpp context: each is a sequence (<see cref="LlamaSequence"/>)
/// with its own slice of the KV cache, its own prefix reuse and its own sampler, and each <see cref="Step"/> decodes
/// the next token of every sequence that is generating, plus as much of the prompts being read as the batch has room
/// for, in one <c>llama_decode</c>: the weights are read once for all of them (continuous batching, with prompts read
/// in chunks). <see cref="LlamaSequence.Cancel"/> aborts the step under way between graph nodes; the step is then undone for every
/// sequence in it, the cancelled ones leave, and the next step goes on with the rest.
/// </summary>
/// <remarks>
/// One thread steps the decoder; <see cref="LlamaSequence.Cancel"/> may be called from any thread. No managed allocation per step
/// once the sequences have their buffers.
/// </remarks>
public sealed unsafe class LlamaBatchDecoder : IDisposable
{
    private const int DecodeNoRoom = 1;
    private const int DecodeAborted = 2;

    private readonly SafeLLamaContextHandle _context;
    private readonly LLamaNativeBatch _batch;
    private readonly int* _abort;
    private readonly LlamaSequence?[] _sequences;
    private readonly int[] _batchOwner;
    private readonly List<LlamaSequence> _stepping;
    private bool _disposed;

    /// <summary>Creates a context of <paramref name="sequences"/> sequences, each of the options' context size.</summary>
    /// <exception cref="LlamaException">llama.cpp could not create the context (memory, most likely).</exception>
    public LlamaBatchDecoder(LlamaModel model, LlamaContextOptions options, int sequences)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(sequences, 1);
        Model = model;
        _context = options.CreateContext(model, sequences);

        ContextSize = (int)_context.ContextSize / sequences;
        BatchSize = (int)_context.BatchSize;
        _abort = (int*)NativeMemory.AllocZeroed(sizeof(int));
        NativeApi.llama_set_abort_callback(_context, (nint)(delegate* unmanaged[Cdecl]<void*, byte>)&ShouldAbort, (nint)_abort);
        _batch = NativeApi.llama_batch_init(BatchSize, 0, 1);
        _sequences = new LlamaSequence?[sequences];
        _batchOwner = new int[BatchSize];
        _stepping = new List<LlamaSequence>(sequences);
    }

    /// <summary>The model decoded.</summary>
    public LlamaModel Model { get; }

    /// <summary>Each sequence's context size, in tokens.</summary>
    public int ContextSize { get; }

    /// <summary>The most tokens decoded in one step, all sequences together.</summary>
    public int BatchSize { get; }

    /// <summary>How many sequences the context holds.</summary>
    public int SequenceCount => _sequences.Length;

    internal SafeLLamaContextHandle Context => _context;

    /// <summary>
    /// The sequence in slot <paramref name="slot"/>, made on first use with its own sampler of
    /// <paramref name="sampling"/> (a generation may sample otherwise: <see cref="LlamaSequence.Start"/>).
    /// </summary>
    public LlamaSequence Sequence(int slot, LlamaSamplingOptions sampling)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentNullException.ThrowIfNull(sampling);
        return _sequences[slot] ??= new LlamaSequence(this, slot, sampling);
    }

    /// <summary>
    /// Decodes one step for the sequences that have work (<see cref="LlamaSequence.Start"/>): the pending token of
    /// each generating one first, then prompt chunks in the room left. Each sequence whose prompt is now read, or
    /// that was generating, samples its next token (<see cref="LlamaSequence.TryTakeToken"/>).
    /// </summary>
    /// <returns>False when no sequence had work.</returns>
    /// <exception cref="LlamaException">llama.cpp failed; every sequence in the step ends with it.</exception>
    public bool Step()
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _stepping.Clear();
        int count = 0;
        LLamaNativeBatch batch = _batch;

        foreach (LlamaSequence? sequence in _sequences)
        {
            sequence?.ApplyCancel();
        }

        // Generating sequences first: one token each keeps every stream moving while prompts are read.
        foreach (LlamaSequence? sequence in _sequences)
        {
            if (sequence is { IsGenerating: true } && count < BatchSize)
            {
                count = sequence.AddPending(batch, count, _batchOwner);
                _stepping.Add(sequence);
            }
        }

        foreach (LlamaSequence? sequence in _sequences)
        {
            if (sequence is { IsReading: true } && count < BatchSize)
            {
                count = sequence.AddPrompt(batch, count, BatchSize - count, _batchOwner);
                _stepping.Add(sequence);
            }
        }

        if (count == 0)
        {
            return false;
        }

        batch.n_tokens = count;
        int status = LlamaBackend.Decode(_context, batch, _abort);
        switch (status)
        {
            case 0:
                foreach (LlamaSequence sequence in _stepping)
                {
                    sequence.Decoded();
                }

                for (int i = 0; i < count; i++)
                {
                    if (batch.logits[i] != 0)
                    {
                        _sequences[_batchOwner[i]]!.Sample(i);
                    }
                }

                return true;
            case DecodeAborted:
                // A sequence was cancelled: the step is undone for all, the cancelled leave, the rest go again.
                Volatile.Write(ref *_abort, 0);
                foreach (LlamaSequence sequence in _stepping)
                {
                    sequence.Undo();
                }

                return true;
            case DecodeNoRoom:
                foreach (LlamaSequence sequence in _stepping)
                {
                    sequence.Undo();
                    sequence.EndFull();
                }

                return true;
            default:
                foreach (LlamaSequence sequence in _stepping)
                {
                    sequence.Undo();
                    sequence.Fail(new LlamaException($"llama_decode failed with status {status}."));
                }

                return true;
        }
    }

    /// <summary>Stops the step under way, if any: the sequence that asked is cancelled, the others decode again.</summary>
    internal void Abort() => Volatile.Write(ref *_abort, 1);

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        foreach (LlamaSequence? sequence in _sequences)
        {
            sequence?.Dispose();
        }

        NativeApi.llama_batch_free(_batch);
        _context.Dispose();
        NativeMemory.Free(_abort);
    }

    // llama.cpp calls this between graph nodes: it must be cheap and must not touch managed state.
    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static byte ShouldAbort(void* flag) => (byte)(Volatile.Read(ref *(int*)flag) != 0 ? 1 : 0);
}
