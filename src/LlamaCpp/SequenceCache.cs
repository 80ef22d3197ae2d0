using System.Runtime.InteropServices;
using LLama.Native;

namespace LlamaCpp;

/// <summary>
/// What one sequence of a llama.cpp context holds in its KV cache, token by token: kept as the prefix of the next
/// prompt, cut back when the prompt leaves it, saved to a state file and restored from one. Shared by the generator
/// (one sequence, a context of its own) and the batch decoder's sequences.
/// </summary>
/// <remarks>Not thread-safe: the thread that decodes in the context uses it.</remarks>
internal sealed unsafe class SequenceCache(SafeLLamaContextHandle context, LlamaModel model, int sequence, int contextSize)
{
    private readonly List<int> _tokens = new(contextSize);
    private readonly LLamaSeqId _sequence = (LLamaSeqId)sequence;

    // How many of the tokens came from a restored state: llama.cpp's cache, restored from a sequence's state,
    // answered differently from the original after a trim inside them (seen on a gpt-oss model: the same tokens
    // shifted by one), while trims past them were right; a prompt that leaves them starts over.
    private int _restored;

    public int Count => _tokens.Count;

    public void Add(int token) => _tokens.Add(token);

    /// <summary>The tokens' length in common with <paramref name="tokens"/>, at most <paramref name="limit"/>.</summary>
    public int CommonPrefix(ReadOnlySpan<int> tokens, int limit)
    {
        limit = Math.Min(_tokens.Count, limit);
        int common = 0;
        while (common < limit && _tokens[common] == tokens[common])
        {
            common++;
        }

        return common;
    }

    /// <summary>Keeps the first <paramref name="length"/> tokens, or none where the cache cannot drop a tail.</summary>
    public void TrimTo(int length)
    {
        if (length >= _tokens.Count)
        {
            return;
        }

        if (length < _restored)
        {
            Reset();
            return;
        }

        context.MemorySequenceRemove(_sequence, length, -1);
        if ((int)context.MemorySequenceMaxPosition(_sequence) >= length)
        {
            // This cache cannot drop a tail: start over.
            Reset();
            return;
        }

        _tokens.RemoveRange(length, _tokens.Count - length);
    }

    /// <summary>Drops whatever a decode left past the known tokens (an aborted or failed one).</summary>
    public void DropUnknownTail() => context.MemorySequenceRemove(_sequence, _tokens.Count, -1);

    /// <summary>Forgets the whole cache.</summary>
    public void Reset()
    {
        context.MemorySequenceRemove(_sequence, 0, -1);
        _tokens.Clear();
        _restored = 0;
    }

    /// <summary>
    /// Cuts the cache to its common prefix with <paramref name="keep"/>, then writes it to <paramref name="path"/>
    /// (<see cref="LlamaStateFile"/>). False, and nothing written, when none of it is left.
    /// </summary>
    /// <exception cref="LlamaException">llama.cpp could not copy the state.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file could not be written.</exception>
    public bool Save(string path, ReadOnlySpan<int> keep)
    {
        TrimTo(CommonPrefix(keep, keep.Length));
        if (_tokens.Count == 0)
        {
            return false;
        }

        nuint size = context.GetStateSize(_sequence);
        byte* buffer = (byte*)NativeMemory.Alloc(size);
        try
        {
            nuint written = context.GetState(buffer, size, _sequence);
            if (written == 0)
            {
                throw new LlamaException("llama.cpp could not copy the sequence's state.");
            }

            LlamaStateFile.Write(path, Owner, CollectionsMarshal.AsSpan(_tokens), buffer, (long)written);
            return true;
        }
        finally
        {
            NativeMemory.Free(buffer);
        }
    }

    /// <summary>Replaces the cache with a file <see cref="Save"/> wrote; the reason when it is refused.</summary>
    /// <exception cref="IOException">The file could not be read once open.</exception>
    public bool TryRestore(string path, out string? refusal)
    {
        refusal = LlamaStateFile.TryRead(path, Owner, out int[] tokens, out byte* state, out long length);
        if (refusal is not null)
        {
            return false;
        }

        try
        {
            Reset();
            nuint read = context.SetState(state, (nuint)length, _sequence);
            if (read != (nuint)length || (int)context.MemorySequenceMaxPosition(_sequence) != tokens.Length - 1)
            {
                Reset();
                refusal = "llama.cpp did not accept the state";
                return false;
            }

            _tokens.AddRange(tokens);
            _restored = tokens.Length;
            return true;
        }
        finally
        {
            NativeMemory.Free(state);
        }
    }

    private LlamaStateFile.Owner Owner => new(model.Identity, contextSize, model.Vocabulary.Count);
}
