using System.Diagnostics;
using LLama.Native;

namespace LlamaCpp;

/// <summary>How a sequence's generation ended.</summary>
public enum LlamaSequenceEnd
{
    /// <summary>No generation was started.</summary>
    Idle,

    /// <summary>It has not: it reads its prompt or generates.</summary>
    Running,

    /// <summary>It sampled a stop token (the last token taken).</summary>
    Stop,

    /// <summary>It sampled its budget of tokens.</summary>
    Length,

    /// <summary>Its context is full (or the prompt did not fit).</summary>
    ContextFull,

    /// <summary><see cref="LlamaSequence.Cancel"/> stopped it.</summary>
    Cancelled,

    /// <summary>llama.cpp failed (<see cref="LlamaSequence.Error"/>).</summary>
    Failed,
}

/// <summary>
/// One conversation in a <see cref="LlamaBatchDecoder"/>: its slice of the KV cache (the tokens it holds, reused as
/// the prefix of its next prompt), its sampler, and the generation it runs: <see cref="Start"/> it, step the
/// decoder, take each token it samples, until it <see cref="Ended"/>.
/// </summary>
/// <remarks>
/// Used by the thread that steps the decoder, except <see cref="Cancel"/>, which any thread may call.
/// </remarks>
public sealed unsafe class LlamaSequence : IDisposable
{
    private readonly LlamaBatchDecoder _decoder;
    private readonly TokenSampler _sampler;
    private readonly int _vocabularySize;
    private readonly SequenceCache _cached;
    private ReadOnlyMemory<int> _prompt;
    private ReadOnlyMemory<int> _stops;
    private int _maxTokens;
    private int _next;
    private int _reading;
    private int _pending = -1;
    private int _generated;
    private int _token = -1;
    private long _job;
    private long _cancelled;
    private long _started;
    private TimeSpan _prefill;
    private TimeSpan _firstToken;
    private int _reused;

    internal LlamaSequence(LlamaBatchDecoder decoder, int id, LlamaSamplingOptions sampling)
    {
        _decoder = decoder;
        Id = id;
        Sampling = sampling;
        _sampler = new TokenSampler(sampling);
        _vocabularySize = decoder.Model.Vocabulary.Count;
        _cached = new SequenceCache(decoder.Context, decoder.Model, id, decoder.ContextSize);
    }

    /// <summary>The sequence's id in the context.</summary>
    public int Id { get; }

    /// <summary>How it samples unless a generation says otherwise.</summary>
    public LlamaSamplingOptions Sampling { get; }

    /// <summary>How many tokens its KV cache holds.</summary>
    public int CachedTokenCount => _cached.Count;

    /// <summary>How its generation ended; <see cref="LlamaSequenceEnd.Running"/> while it runs.</summary>
    public LlamaSequenceEnd Ended { get; private set; } = LlamaSequenceEnd.Idle;

    /// <summary>What llama.cpp said, when it <see cref="LlamaSequenceEnd.Failed"/>.</summary>
    public Exception? Error { get; private set; }

    /// <summary>What the generation did so far.</summary>
    public LlamaGenerationStatistics Statistics => new(_reused, _next - _reused, _generated, _prefill, _firstToken);

    internal bool IsReading => Ended == LlamaSequenceEnd.Running && _pending < 0;

    internal bool IsGenerating => Ended == LlamaSequenceEnd.Running && _pending >= 0;

    /// <summary>
    /// Starts generating the completion of <paramref name="prompt"/>, reusing what the cache holds of it. The
    /// decoder's steps then read the rest and sample up to <paramref name="maxTokens"/> tokens, stopping after one of
    /// <paramref name="stopTokens"/>.
    /// </summary>
    /// <param name="prompt">The prompt's ids.</param>
    /// <param name="maxTokens">The most tokens to sample.</param>
    /// <param name="stopTokens">The ids that end sampling, included in the stream.</param>
    /// <param name="sampling">How this generation samples; the sequence's own settings when null.</param>
    /// <returns>The job's number, for <see cref="Cancel"/>.</returns>
    public long Start(ReadOnlyMemory<int> prompt, int maxTokens, ReadOnlyMemory<int> stopTokens, LlamaSamplingOptions? sampling = null)
    {
        _sampler.Use(sampling ?? Sampling);
        _prompt = prompt;
        _stops = stopTokens;
        _maxTokens = maxTokens;
        _generated = 0;
        _pending = -1;
        _token = -1;
        Error = null;
        _prefill = _firstToken = TimeSpan.Zero;
        _started = Stopwatch.GetTimestamp();
        _reused = _next = ReuseCachedPrefix(prompt.Span);
        Ended = prompt.Length > _decoder.ContextSize ? LlamaSequenceEnd.ContextFull
            : maxTokens <= 0 && _next == prompt.Length ? LlamaSequenceEnd.Length
            : LlamaSequenceEnd.Running;
        return Interlocked.Increment(ref _job);
    }

    /// <summary>
    /// Stops job <paramref name="job"/> at once: a step under way is aborted between graph nodes (and done again for
    /// the other sequences), and the sequence ends <see cref="LlamaSequenceEnd.Cancelled"/> at the next step.
    /// Nothing happens when that job is over. Any thread.
    /// </summary>
    public void Cancel(long job)
    {
        // A job that is over (its reader's cancel came after its end) must not abort the others' next step.
        if (Volatile.Read(ref _job) != job || Ended != LlamaSequenceEnd.Running)
        {
            return;
        }

        Volatile.Write(ref _cancelled, job);
        _decoder.Abort();
    }

    /// <summary>The token sampled by the last step, if this sequence sampled one.</summary>
    public bool TryTakeToken(out int token)
    {
        token = _token;
        _token = -1;
        return token >= 0;
    }

    /// <summary>Forgets the KV cache.</summary>
    public void Reset() => _cached.Reset();

    /// <summary>
    /// Writes what the cache holds of <paramref name="keep"/> (cut to it first) to <paramref name="path"/>, as
    /// <see cref="LlamaGenerator.SaveState"/> does; between generations.
    /// </summary>
    public bool SaveState(string path, ReadOnlySpan<int> keep) => _cached.Save(path, keep);

    /// <summary>Replaces the cache with a state <see cref="SaveState"/> wrote, as <see cref="LlamaGenerator.TryRestoreState"/> does.</summary>
    public bool TryRestoreState(string path, out string? refusal) => _cached.TryRestore(path, out refusal);

    /// <inheritdoc />
    public void Dispose() => _sampler.Dispose();

    // Before a step: a cancelled job ends here, and takes no part in it.
    internal void ApplyCancel()
    {
        if (Ended == LlamaSequenceEnd.Running && Volatile.Read(ref _cancelled) == Volatile.Read(ref _job))
        {
            Ended = LlamaSequenceEnd.Cancelled;
            _pending = -1;
        }
    }

    // Adds the token sampled last, to be decoded at the next position, with its logits.
    internal int AddPending(LLamaNativeBatch batch, int at, int[] owners)
    {
        _reading = 0;
        Put(batch, at, _pending, _cached.Count, Id, logits: true);
        owners[at] = Id;
        return at + 1;
    }

    // Adds up to room tokens of the prompt; the logits of its last token once it is all read.
    internal int AddPrompt(LLamaNativeBatch batch, int at, int room, int[] owners)
    {
        _reading = Math.Min(room, _prompt.Length - _next);
        ReadOnlySpan<int> prompt = _prompt.Span;
        for (int i = 0; i < _reading; i++)
        {
            int position = _next + i;
            Put(batch, at + i, prompt[position], position, Id, logits: position == prompt.Length - 1 && _maxTokens > 0);
            owners[at + i] = Id;
        }

        return at + _reading;
    }

    // The step's tokens are in the cache.
    internal void Decoded()
    {
        if (_pending >= 0)
        {
            _cached.Add(_pending);
            _pending = -1;
            return;
        }

        ReadOnlySpan<int> prompt = _prompt.Span;
        for (int i = 0; i < _reading; i++)
        {
            _cached.Add(prompt[_next + i]);
        }

        _next += _reading;
        if (_next == prompt.Length)
        {
            _prefill = Stopwatch.GetElapsedTime(_started);
            if (_maxTokens <= 0)
            {
                Ended = LlamaSequenceEnd.Length;
            }
        }
    }

    // The step was aborted or failed: whatever of it reached the cache goes; the sequence's place is as before.
    internal void Undo() => _cached.DropUnknownTail();

    internal void Sample(int index)
    {
        int token = _sampler.Sample(_decoder.Context, index, _vocabularySize);
        _token = token;
        _generated++;
        if (_generated == 1)
        {
            _firstToken = Stopwatch.GetElapsedTime(_started);
        }

        // As a single generation does: the stop token and the budget's last token are not decoded.
        Ended = _stops.Span.Contains(token) ? LlamaSequenceEnd.Stop
            : _generated >= _maxTokens ? LlamaSequenceEnd.Length
            : _cached.Count >= _decoder.ContextSize ? LlamaSequenceEnd.ContextFull
            : LlamaSequenceEnd.Running;
        _pending = Ended == LlamaSequenceEnd.Running ? token : -1;
    }

    internal void EndFull()
    {
        Ended = LlamaSequenceEnd.ContextFull;
        _pending = -1;
    }

    internal void Fail(Exception error)
    {
        Error = error;
        Ended = LlamaSequenceEnd.Failed;
        _pending = -1;
    }

    private static void Put(LLamaNativeBatch batch, int at, int token, int position, int sequence, bool logits)
    {
        // LLamaToken, LLamaPos and LLamaSeqId are 4-byte wrappers of ints (checked by a layout test).
        ((int*)batch.tokens)[at] = token;
        ((int*)batch.pos)[at] = position;
        batch.n_seq_id[at] = 1;
        batch.logits[at] = (byte)(logits ? 1 : 0);
        *(int*)batch.seq_id[at] = sequence;
    }

    // Keeps the longest common prefix of the cache and the prompt, and at least one prompt token to decode for logits.
    private int ReuseCachedPrefix(ReadOnlySpan<int> prompt)
    {
        _cached.TrimTo(_cached.CommonPrefix(prompt, prompt.Length - 1));
        return _cached.Count;
    }
}
