using System.Diagnostics;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using LLama.Exceptions;
using LLama.Native;
using LlamaCpp.Native;

namespace LlamaCpp;

/// <summary>How a generator's context is sized and run.</summary>
public sealed record LlamaContextOptions
{
    /// <summary>The context size in tokens.</summary>
    public int ContextSize { get; init; } = 8192;

    /// <summary>
    /// The most tokens decoded in one call (llama.cpp's batch and micro-batch): prompts are prefilled in chunks of this
    /// size, 512 as llama.cpp's own default. A cancel stops llama.cpp between graph nodes, and a node's time grows with
    /// the chunk (a chunk's attention over a long context above all: on the benchmark model up to ~80 ms late in a
    /// 4,000-token prefill at 512, ~20 ms at 256); smaller chunks would cut that but prefill slower, and on a large
    /// model on a CPU no chunk size brings a node under a user's wait. A caller that must answer a cancel at once
    /// should not wait for the decode to return: the stop then finishes in the background before the next call.
    /// </summary>
    public int BatchSize { get; init; } = 512;

    /// <summary>CPU threads for decoding.</summary>
    public int Threads { get; init; } = Environment.ProcessorCount;

    /// <summary>A context of <paramref name="sequences"/> sequences of <see cref="ContextSize"/> tokens each.</summary>
    /// <exception cref="LlamaException">llama.cpp could not create it (memory, most likely).</exception>
    internal SafeLLamaContextHandle CreateContext(LlamaModel model, int sequences)
    {
        LLamaContextParams parameters = LLamaContextParams.Default();
        parameters.n_ctx = (uint)(ContextSize * sequences);
        parameters.n_seq_max = (uint)sequences;
        // Each sequence its own slice of the cache: one cannot crowd out another.
        parameters.kv_unified = false;
        parameters.n_batch = parameters.n_ubatch = (uint)Math.Min(BatchSize, ContextSize);
        parameters.n_threads = parameters.n_threads_batch = Math.Max(1, Threads);
        parameters.no_perf = true;
        // A full-size cache for the sliding-window layers, so that any prefix of a history can be kept.
        parameters.swa_full = true;
        try
        {
            return SafeLLamaContextHandle.Create(model.Handle, parameters);
        }
        catch (RuntimeError e)
        {
            string size = sequences == 1 ? $"{ContextSize} tokens" : $"{sequences} sequences of {ContextSize} tokens";
            throw new LlamaException($"llama.cpp could not create a context of {size} (not enough memory, or an invalid setting; its log says more).", e);
        }
    }
}

/// <summary>How tokens are sampled, by llama.cpp's own sampler chain.</summary>
public sealed record LlamaSamplingOptions
{
    /// <summary>The temperature; 0 samples greedily. OpenAI recommends 1.0 for GPT-OSS.</summary>
    public float Temperature { get; init; } = 1.0f;

    /// <summary>Nucleus sampling; 1.0 turns it off, as OpenAI recommends.</summary>
    public float TopP { get; init; } = 1.0f;

    /// <summary>The random seed, or null for a random one.</summary>
    public uint? Seed { get; init; }
}

/// <summary>What the last generation did, for logs and benchmarks.</summary>
/// <param name="ReusedTokens">Prompt tokens already in the KV cache, not decoded again.</param>
/// <param name="PrefilledTokens">Prompt tokens decoded.</param>
/// <param name="GeneratedTokens">Tokens sampled.</param>
/// <param name="PrefillTime">Time spent decoding the prompt.</param>
/// <param name="TimeToFirstToken">From the start to the first sampled token.</param>
public readonly record struct LlamaGenerationStatistics(int ReusedTokens, int PrefilledTokens, int GeneratedTokens, TimeSpan PrefillTime, TimeSpan TimeToFirstToken);

/// <summary>
/// Where the last generation's time went after its prefill, for benchmarks and logs: a few timestamps per token,
/// no allocation.
/// </summary>
/// <param name="Sampling">Choosing each token from the logits.</param>
/// <param name="Decoding">In <c>llama_decode</c> for each generated token.</param>
/// <param name="Delivery">The caller's time with each token, between its <c>yield</c> and the next decode: everything
/// the consumer does per token on this thread.</param>
/// <param name="Total">The whole generation, prefill included.</param>
/// <param name="AbortStop">For a generation cancelled inside <c>llama_decode</c>: from the cancel to llama.cpp's
/// return, the KV cache trimmed.</param>
public readonly record struct LlamaGenerationTimings(TimeSpan Sampling, TimeSpan Decoding, TimeSpan Delivery, TimeSpan Total, TimeSpan? AbortStop = null);

/// <summary>
/// Streams token ids from a model in one llama.cpp context: one conversation's KV cache. A prompt that begins with
/// what the cache already holds only decodes the rest. Cancelling aborts llama.cpp between graph nodes, in the
/// middle of a long prefill too, and the half-decoded tokens are removed from the cache so the next call is right.
/// Built on LLamaSharp's context and sampler chain handles; tokens go to llama.cpp in a batch of native memory through
/// a direct <c>llama_decode</c> (see <see cref="NativeMethods.llama_decode"/> for why not LLamaSharp's).
/// </summary>
/// <remarks>Not thread-safe: one generation at a time. No managed allocation per generated token.</remarks>
public sealed unsafe class LlamaGenerator : IDisposable
{
    private const int DecodeAborted = 2;
    private static readonly LLamaSeqId s_sequence = LLamaSeqId.Zero;
    private const int DecodeNoRoom = 1;

    private readonly SafeLLamaContextHandle _context;
    private readonly TokenSampler _sampler;
    private readonly LlamaSamplingOptions _sampling;
    private readonly int* _abort;
    private readonly LLamaNativeBatch _batch;
    private readonly SequenceCache _cached;
    private readonly int[] _one = new int[1];
    private long _abortRequested;
    private TimeSpan? _abortStop;
    private readonly int _vocabularySize;
    private bool _disposed;

    /// <summary>Creates a context and a sampler chain over a model.</summary>
    /// <exception cref="LlamaException">llama.cpp could not create the context.</exception>
    public LlamaGenerator(LlamaModel model, LlamaContextOptions contextOptions, LlamaSamplingOptions samplingOptions)
    {
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(contextOptions);
        ArgumentNullException.ThrowIfNull(samplingOptions);
        _context = contextOptions.CreateContext(model, sequences: 1);
        ContextSize = (int)_context.ContextSize;
        BatchSize = (int)_context.BatchSize;

        // The abort flag lives in native memory: llama.cpp reads it from its own threads between graph nodes.
        // LLamaSharp binds llama_set_abort_callback only with raw pointers, which suits an unmanaged callback.
        _abort = (int*)NativeMemory.AllocZeroed(sizeof(int));
        NativeApi.llama_set_abort_callback(_context, (nint)(delegate* unmanaged[Cdecl]<void*, byte>)&ShouldAbort, (nint)_abort);
        _batch = NativeApi.llama_batch_init(BatchSize, 0, 1);
        _sampling = samplingOptions;
        _sampler = new TokenSampler(samplingOptions);
        _vocabularySize = model.Vocabulary.Count;
        _cached = new SequenceCache(_context, model, s_sequence.Value, ContextSize);
    }

    /// <summary>The context size in tokens.</summary>
    public int ContextSize { get; }

    /// <summary>The most tokens decoded in one call.</summary>
    public int BatchSize { get; }

    /// <summary>How many tokens the KV cache holds.</summary>
    public int CachedTokenCount => _cached.Count;

    /// <summary>What the last generation did.</summary>
    public LlamaGenerationStatistics LastStatistics { get; private set; }

    /// <summary>Where the last generation's time went.</summary>
    public LlamaGenerationTimings LastTimings { get; private set; }

    /// <summary>Called after each prefill chunk with the number of prompt tokens now in the cache.</summary>
    public Action<int>? PrefillProgress { get; set; }

    /// <summary>
    /// Streams the completion of <paramref name="prompt"/>: sampled ids up to and including a stop token. It ends
    /// early, without one, after <paramref name="maxTokens"/> tokens or when the context is full.
    /// </summary>
    /// <param name="prompt">The prompt's ids.</param>
    /// <param name="maxTokens">The most tokens to sample.</param>
    /// <param name="stopTokens">The ids that end sampling, included in the stream.</param>
    /// <param name="cancellationToken">Aborts llama.cpp between graph nodes.</param>
    /// <param name="samplingOptions">How this generation samples; the generator's own settings when null.</param>
    /// <exception cref="OperationCanceledException">The token was cancelled; llama.cpp stopped mid-decode.</exception>
    /// <exception cref="LlamaException">llama.cpp failed.</exception>
    public IEnumerable<int> Generate(
        ReadOnlyMemory<int> prompt, int maxTokens, ReadOnlyMemory<int> stopTokens, CancellationToken cancellationToken, LlamaSamplingOptions? samplingOptions = null)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        _sampler.Use(samplingOptions ?? _sampling);
        cancellationToken.ThrowIfCancellationRequested();
        ClearAbort();
        _abortStop = null;
        CancellationTokenRegistration registration = cancellationToken.UnsafeRegister(static state => ((LlamaGenerator)state!).RequestAbort(), this);
        long started = Stopwatch.GetTimestamp();
        long sampling = 0;
        long decoding = 0;
        long delivery = 0;
        try
        {
            int reused = ReuseCachedPrefix(prompt.Span);
            LastStatistics = new LlamaGenerationStatistics(reused, 0, 0, TimeSpan.Zero, TimeSpan.Zero);
            if (prompt.Length > ContextSize)
            {
                // The prompt cannot fit: nothing can be generated.
                yield break;
            }

            for (int start = reused; start < prompt.Length; start += BatchSize)
            {
                int count = Math.Min(BatchSize, prompt.Length - start);
                if (!Decode(prompt.Span.Slice(start, count), start, logitsForLast: start + count == prompt.Length, cancellationToken))
                {
                    yield break;
                }

                // Kept current, so that a cancelled prefill reports how far it got.
                LastStatistics = new LlamaGenerationStatistics(reused, start + count - reused, 0, Stopwatch.GetElapsedTime(started), TimeSpan.Zero);
                PrefillProgress?.Invoke(start + count);
            }

            TimeSpan prefill = Stopwatch.GetElapsedTime(started);
            int position = prompt.Length;
            for (int generated = 0; generated < maxTokens; generated++)
            {
                long sampleStarted = Stopwatch.GetTimestamp();
                int token = _sampler.Sample(_context, -1, _vocabularySize);
                long sampled = Stopwatch.GetTimestamp();
                sampling += sampled - sampleStarted;
                LastStatistics = new LlamaGenerationStatistics(
                    reused, prompt.Length - reused, generated + 1, prefill, generated == 0 ? Stopwatch.GetElapsedTime(started, sampled) : LastStatistics.TimeToFirstToken);
                yield return token;
                long delivered = Stopwatch.GetTimestamp();
                delivery += delivered - sampled;
                // The budget's last token is not decoded: nothing would read its logits, and the turn ends a decode
                // sooner. A next prompt that continues it decodes it with its own prefill.
                if (stopTokens.Span.Contains(token) || position >= ContextSize || generated == maxTokens - 1)
                {
                    yield break;
                }

                _one[0] = token;
                bool room = Decode(_one, position, logitsForLast: true, cancellationToken);
                decoding += Stopwatch.GetTimestamp() - delivered;
                if (!room)
                {
                    yield break;
                }

                position++;
            }
        }
        finally
        {
            registration.Dispose();
            LastTimings = new LlamaGenerationTimings(
                Stopwatch.GetElapsedTime(0, sampling), Stopwatch.GetElapsedTime(0, decoding), Stopwatch.GetElapsedTime(0, delivery), Stopwatch.GetElapsedTime(started), _abortStop);
        }
    }

    /// <summary>
    /// Writes what the KV cache holds of <paramref name="keep"/>, with its token ids, to <paramref name="path"/>
    /// (owner-only, replaced whole), for <see cref="TryRestoreState"/> in a context of the same size on the same
    /// model. The cache is first cut to its longest common prefix with <paramref name="keep"/> (what the next prompt
    /// begins with): a restored cache is only of use as a prefix, and the cut is what the next prompt would make.
    /// Between generations only.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="keep">The tokens the next prompt begins with.</param>
    /// <returns>False, and nothing written, when the cache holds none of them.</returns>
    /// <exception cref="LlamaException">llama.cpp could not copy the state.</exception>
    /// <exception cref="IOException">The file could not be written.</exception>
    /// <exception cref="UnauthorizedAccessException">The file could not be written.</exception>
    public bool SaveState(string path, ReadOnlySpan<int> keep)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(path);
        return _cached.Save(path, keep);
    }

    /// <summary>
    /// Replaces the KV cache with the state <see cref="SaveState"/> wrote to <paramref name="path"/>, so that the next
    /// prompt beginning with its tokens decodes only the rest. A file of another model, context size or llama.cpp
    /// build, or a damaged one, is refused before llama.cpp reads it: then the cache is left as it was, or empty where
    /// llama.cpp itself refused the state, and the next prompt is prefilled whole.
    /// </summary>
    /// <param name="path">The file.</param>
    /// <param name="refusal">Why the file was not restored; null when it was.</param>
    /// <returns>True when the cache now holds the file's tokens.</returns>
    /// <exception cref="IOException">The model's file or the state file could not be read once open.</exception>
    public bool TryRestoreState(string path, out string? refusal)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        ArgumentException.ThrowIfNullOrEmpty(path);
        return _cached.TryRestore(path, out refusal);
    }

    /// <summary>Forgets the KV cache.</summary>
    public void Reset() => _cached.Reset();

    /// <inheritdoc />
    public void Dispose()
    {
        if (_disposed)
        {
            return;
        }

        _disposed = true;
        NativeApi.llama_batch_free(_batch);
        _sampler.Dispose();
        _context.Dispose();
        NativeMemory.Free(_abort);
    }

    private void RequestAbort()
    {
        Volatile.Write(ref _abortRequested, Stopwatch.GetTimestamp());
        Volatile.Write(ref *_abort, 1);
    }

    private void ClearAbort() => Volatile.Write(ref *_abort, 0);

    // Keeps the longest common prefix of the cache and the prompt, and at least one prompt token to decode for logits.
    private int ReuseCachedPrefix(ReadOnlySpan<int> prompt)
    {
        _cached.TrimTo(_cached.CommonPrefix(prompt, prompt.Length - 1));
        return _cached.Count;
    }

    // Decodes tokens at consecutive positions; false when the context has no room left.
    private bool Decode(ReadOnlySpan<int> tokens, int position, bool logitsForLast, CancellationToken cancellationToken)
    {
        // LLamaToken, LLamaPos and LLamaSeqId are 4-byte wrappers of ints (checked by a layout test).
        LLamaNativeBatch batch = _batch;
        batch.n_tokens = tokens.Length;
        for (int i = 0; i < tokens.Length; i++)
        {
            ((int*)batch.tokens)[i] = tokens[i];
            ((int*)batch.pos)[i] = position + i;
            batch.n_seq_id[i] = 1;
            *(int*)batch.seq_id[i] = 0;
            batch.logits[i] = (byte)(logitsForLast && i == tokens.Length - 1 ? 1 : 0);
        }

        int status = LlamaBackend.Decode(_context, batch, _abort);
        switch (status)
        {
            case 0:
                foreach (int token in tokens)
                {
                    _cached.Add(token);
                }

                return true;
            case DecodeAborted:
                // Some micro-batches may have landed in the cache: drop everything past what is known to be there.
                _cached.DropUnknownTail();
                _abortStop = Stopwatch.GetElapsedTime(Volatile.Read(ref _abortRequested));
                throw new OperationCanceledException(cancellationToken);
            case DecodeNoRoom:
                return false;
            default:
                _cached.DropUnknownTail();
                throw new LlamaException($"llama_decode failed with status {status} at position {position}.");
        }
    }

    /// <summary>
    /// The index of the largest value, the first of equals, as llama.cpp's greedy sampler picks. Greedy sampling reads
    /// the logits where llama.cpp keeps them: its sampler would first copy all 201,088 into a candidate array, a tenth
    /// of a small model's time per token.
    /// </summary>
    internal static int ArgMax(ReadOnlySpan<float> values)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector256.IsHardwareAccelerated && values.Length >= Vector256<float>.Count)
        {
            var maxima = Vector256.Create(float.NegativeInfinity);
            for (; i <= values.Length - Vector256<float>.Count; i += Vector256<float>.Count)
            {
                maxima = Vector256.Max(maxima, Vector256.Create(values.Slice(i, Vector256<float>.Count)));
            }

            for (int lane = 0; lane < Vector256<float>.Count; lane++)
            {
                max = Math.Max(max, maxima[lane]);
            }
        }

        for (; i < values.Length; i++)
        {
            max = Math.Max(max, values[i]);
        }

        // The first position that holds the maximum.
        int j = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var target = Vector256.Create(max);
            for (; j <= values.Length - Vector256<float>.Count; j += Vector256<float>.Count)
            {
                uint matches = Vector256.Equals(Vector256.Create(values.Slice(j, Vector256<float>.Count)), target).ExtractMostSignificantBits();
                if (matches != 0)
                {
                    return j + BitOperations.TrailingZeroCount(matches);
                }
            }
        }

        for (; j < values.Length; j++)
        {
            if (values[j] == max)
            {
                return j;
            }
        }

        return 0;
    }

    internal static SafeLLamaSamplerChainHandle CreateSampler(LlamaSamplingOptions options)
    {
        LLamaSamplerChainParams parameters = LLamaSamplerChainParams.Default();
        parameters.NoPerf = true;
        SafeLLamaSamplerChainHandle chain = SafeLLamaSamplerChainHandle.Create(parameters);
        if (options.Temperature <= 0)
        {
            chain.AddGreedySampler();
            return chain;
        }

        if (options.TopP < 1)
        {
            chain.AddTopP(options.TopP, 1);
        }

        chain.AddTemperature(options.Temperature);
        chain.AddDistributionSampler(options.Seed ?? uint.MaxValue);
        return chain;
    }

    // llama.cpp calls this between graph nodes: it must be cheap and must not touch managed state.
    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static byte ShouldAbort(void* flag) => (byte)(Volatile.Read(ref *(int*)flag) != 0 ? 1 : 0);
}
