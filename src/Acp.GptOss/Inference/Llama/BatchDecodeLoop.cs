using System.Diagnostics;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// The conversations on one loaded model, decoded together: one llama.cpp context of a few sequences
/// (<see cref="LlamaBatchDecoder"/>) stepped by one long-lived thread. Each conversation keeps its sequence (and so
/// its KV prefix) between turns while there are enough; when there are not, the one unused longest gives its sequence
/// up, and when every sequence is generating, new work waits in order of arrival. A cancel aborts the step under
/// way between graph nodes; the other sequences go on at the next step.
/// </summary>
/// <remarks>Thread-safe.</remarks>
internal sealed partial class BatchDecodeLoop : IDisposable
{
    private static readonly int[] s_warmUpPrompt = [0];

    private readonly Lock _gate = new();
    private readonly ManualResetEventSlim _wake = new(false);
    private readonly LinkedList<BatchJob> _waiting = new();
    private readonly TaskCompletionSource _ready = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly ModelSlot _slot;
    private readonly LoadedModel _loaded;
    private readonly LlamaSamplingOptions _sampling;
    private readonly Telemetry _telemetry;
    private readonly ILogger _logger;
    private readonly Thread _thread;
    private BatchedConversation?[] _owners = [];
    private BatchJob?[] _running = [];
    private long[] _lastUsed = [];
    private LlamaBatchDecoder? _decoder;
    private bool _disposed;

    private BatchDecodeLoop(ModelSlot slot, LoadedModel loaded, int sequences, int threads, LlamaSamplingOptions sampling, Telemetry telemetry, ILogger logger)
    {
        _slot = slot;
        _loaded = loaded;
        _sampling = sampling;
        _telemetry = telemetry;
        _logger = logger;
        _thread = new Thread(() => Run(sequences, threads)) { IsBackground = true, Name = "llama batch" };
    }

    /// <summary>Each sequence's context size.</summary>
    public int ContextSize => _decoder?.ContextSize ?? _loaded.ContextSize;

    /// <summary>The load this loop decodes for.</summary>
    public long Generation => _loaded.Generation;

    /// <summary>Jobs waiting for a sequence.</summary>
    public int Queued
    {
        get
        {
            lock (_gate)
            {
                return _waiting.Count;
            }
        }
    }

    /// <summary>Starts the loop's thread, which makes the context; completes once it is made.</summary>
    /// <exception cref="InferenceException">The context cannot be made.</exception>
    public static Task<BatchDecodeLoop> StartAsync(
        ModelSlot slot, LoadedModel loaded, int sequences, int threads, LlamaSamplingOptions sampling, Telemetry telemetry, ILogger logger)
    {
        var loop = new BatchDecodeLoop(slot, loaded, sequences, threads, sampling, telemetry, logger);
        loop._thread.Start();
        return loop._ready.Task.ContinueWith(
            t =>
            {
                t.GetAwaiter().GetResult();
                return loop;
            },
            CancellationToken.None,
            TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Queues a job; it runs once a sequence is free for it.</summary>
    public void Submit(BatchJob job)
    {
        lock (_gate)
        {
            if (_disposed)
            {
                job.Finish(false, new InferenceException("The model was unloaded."));
                return;
            }

            _waiting.AddLast(job);
            if (_waiting.Count > 1 || _running.All(r => r is not null))
            {
                LogQueued(_logger, job.Owner.SessionId, _waiting.Count);
            }
        }

        _wake.Set();
    }

    /// <summary>Stops a job at once: taken out of the queue, or its sequence cancelled mid-step. Any thread.</summary>
    public void Cancel(BatchJob job)
    {
        lock (_gate)
        {
            if (_waiting.Remove(job))
            {
                job.Finish(false, new OperationCanceledException());
                return;
            }

            if (job.CancelRequestedAt == 0)
            {
                job.CancelRequestedAt = Stopwatch.GetTimestamp();
            }

            if (job.Sequence is { } sequence)
            {
                sequence.Cancel(job.Number);
            }
        }
    }

    /// <summary>The conversation closed: its sequence is free for others (its cache stays, a prefix another may share).</summary>
    public void Release(BatchedConversation conversation)
    {
        lock (_gate)
        {
            for (int i = 0; i < _owners.Length; i++)
            {
                if (_owners[i] == conversation)
                {
                    _owners[i] = null;
                }
            }
        }
    }

    /// <summary>Stops the thread and frees the context: the model is about to unload, and no job holds it.</summary>
    public void Dispose()
    {
        lock (_gate)
        {
            if (_disposed)
            {
                return;
            }

            _disposed = true;
            foreach (BatchJob job in _waiting)
            {
                job.Finish(false, new InferenceException("The model was unloaded."));
            }

            _waiting.Clear();
        }

        _wake.Set();
        if (Thread.CurrentThread != _thread)
        {
            _thread.Join();
        }
    }

    private void Run(int sequences, int threads)
    {
        try
        {
            long started = Stopwatch.GetTimestamp();
            _decoder = new LlamaBatchDecoder(_loaded.Model, new LlamaContextOptions { ContextSize = _loaded.ContextSize, Threads = threads }, sequences);
            _owners = new BatchedConversation?[sequences];
            _running = new BatchJob?[sequences];
            _lastUsed = new long[sequences];
            _slot.ReportStage(LoadStageEvent.ContextCreated, Stopwatch.GetElapsedTime(started), $"{sequences} sequences of {_decoder.ContextSize} tokens, decoded together");
            if (_slot.ClaimWarmUp(_loaded))
            {
                Warm(_decoder);
            }
        }
        catch (LlamaException e)
        {
            _decoder?.Dispose();
            _ready.SetException(new InferenceException(e.Message, e));
            return;
        }

        _ready.SetResult();
        try
        {
            Loop(_decoder);
        }
        finally
        {
            _decoder.Dispose();
        }
    }

    private void Loop(LlamaBatchDecoder decoder)
    {
        var stateJobs = new List<(int Slot, BatchJob Job)>();
        while (true)
        {
            _wake.Reset();
            lock (_gate)
            {
                if (_disposed && _running.All(r => r is null))
                {
                    return;
                }

                Admit(decoder, stateJobs);
            }

            if (stateJobs.Count > 0)
            {
                foreach ((int slot, BatchJob job) in stateJobs)
                {
                    RunState(slot, job);
                }

                // Their sequences are free again: jobs that waited for one are admitted before the step.
                stateJobs.Clear();
                continue;
            }

            bool stepped;
            try
            {
                stepped = decoder.Step();
            }
#pragma warning disable CA1031 // A failed step ends its sequences' jobs with the error; nothing may end this thread.
            catch (Exception e)
#pragma warning restore CA1031
            {
                FailRunning(e);
                continue;
            }

            if (!stepped)
            {
                _wake.Wait();
                continue;
            }

            Deliver();
        }
    }

    // Moves waiting jobs onto sequences, in order of arrival, while there are sequences for them.
    private void Admit(LlamaBatchDecoder decoder, List<(int Slot, BatchJob Job)> stateJobs)
    {
        while (_waiting.First is { } node)
        {
            BatchJob job = node.Value;
            bool mustOwn = job.OwnSequenceOnly;
            int slot = FindSlot(job.Owner, mustOwn);
            if (slot == NoSlot)
            {
                if (mustOwn)
                {
                    // A save for a conversation that lost its sequence: there is nothing of it to save.
                    _waiting.RemoveFirst();
                    job.Finish(false, null);
                    continue;
                }

                return;
            }

            _waiting.RemoveFirst();
            if (_owners[slot] is { } previous && previous != job.Owner)
            {
                previous.SequenceSlot = null;
            }

            _owners[slot] = job.Owner;
            job.Owner.SequenceSlot = slot;
            _running[slot] = job;
            _lastUsed[slot] = Stopwatch.GetTimestamp();
            LlamaSequence sequence = decoder.Sequence(slot, _sampling);
            job.Sequence = sequence;
            if (job.Tokens is null)
            {
                stateJobs.Add((slot, job));
                continue;
            }

            job.Number = sequence.Start(job.Prompt, job.MaxTokens, job.StopTokens, job.Sampling);
            if (job.CancelRequested)
            {
                sequence.Cancel(job.Number);
            }

            if (sequence.Ended != LlamaSequenceEnd.Running)
            {
                // Nothing to decode (a prompt too long for the context, say): done before any step.
                Complete(slot, job, sequence);
            }
        }
    }

    private const int NoSlot = -1;

    // The conversation's own sequence; else a free one; else the one unused longest, unless it must be its own.
    private int FindSlot(BatchedConversation owner, bool ownOnly)
    {
        if (owner.SequenceSlot is int own && own < _owners.Length && _owners[own] == owner)
        {
            return _running[own] is null ? own : NoSlot;
        }

        if (ownOnly)
        {
            return NoSlot;
        }

        int best = NoSlot;
        for (int i = 0; i < _owners.Length; i++)
        {
            if (_running[i] is not null)
            {
                continue;
            }

            if (_owners[i] is null)
            {
                return i;
            }

            if (best == NoSlot || _lastUsed[i] < _lastUsed[best])
            {
                best = i;
            }
        }

        return best;
    }

    private void RunState(int slot, BatchJob job)
    {
        bool result = false;
        Exception? error = null;
        try
        {
            result = job.StateWork!(job.Sequence!);
        }
#pragma warning disable CA1031 // Whatever the work throws is its caller's to see; nothing may end this thread.
        catch (Exception e)
#pragma warning restore CA1031
        {
            error = e is LlamaException ? new InferenceException(e.Message, e) : e;
        }

        lock (_gate)
        {
            _running[slot] = null;
        }

        job.Finish(result, error);
    }

    // Hands each sequence's new token to its reader, and ends the jobs whose generation ended.
    private void Deliver()
    {
        for (int slot = 0; slot < _running.Length; slot++)
        {
            if (Volatile.Read(ref _running[slot]) is not { Tokens: { } tokens, Sequence: { } sequence } job)
            {
                continue;
            }

            if (sequence.TryTakeToken(out int token))
            {
                tokens.Write(token);
            }

            if (sequence.Ended != LlamaSequenceEnd.Running)
            {
                lock (_gate)
                {
                    Complete(slot, job, sequence);
                }
            }
        }
    }

    private void Complete(int slot, BatchJob job, LlamaSequence sequence)
    {
        _running[slot] = null;
        _lastUsed[slot] = Stopwatch.GetTimestamp();
        Exception? error = sequence.Ended switch
        {
            LlamaSequenceEnd.Cancelled => new OperationCanceledException(),
            LlamaSequenceEnd.Failed when sequence.Error is { } failure => new InferenceException(failure.Message, failure),
            LlamaSequenceEnd.Failed => new InferenceException("llama.cpp failed."),
            _ => null,
        };
        Report(job, sequence, error);
        job.Finish(true, error);
    }

    private void FailRunning(Exception error)
    {
        lock (_gate)
        {
            for (int slot = 0; slot < _running.Length; slot++)
            {
                if (_running[slot] is { } job)
                {
                    _running[slot] = null;
                    job.Finish(false, new InferenceException(error.Message, error));
                }
            }
        }
    }

    private void Report(BatchJob job, LlamaSequence sequence, Exception? error)
    {
        LlamaGenerationStatistics statistics = sequence.Statistics;
        double total = Stopwatch.GetElapsedTime(job.SubmittedAt).TotalMilliseconds;
        TimeSpan decoding = TimeSpan.FromMilliseconds(total) - statistics.TimeToFirstToken;
        string outcome = error switch
        {
            null => "done",
            OperationCanceledException => "cancelled",
            _ => "failed",
        };
        try
        {
            _telemetry.Publish(new InferenceEvent(
                _slot.Role, job.Owner.SessionId, outcome, job.Prompt.Length, statistics.ReusedTokens, statistics.PrefilledTokens, statistics.PrefillTime.TotalMilliseconds,
                statistics.GeneratedTokens > 0 ? statistics.TimeToFirstToken.TotalMilliseconds : null, statistics.GeneratedTokens,
                statistics.GeneratedTokens > 1 && decoding > TimeSpan.Zero ? (statistics.GeneratedTokens - 1) / decoding.TotalSeconds : null,
                GenerationMs: total,
                AbortStopMs: error is OperationCanceledException && job.CancelRequestedAt != 0 ? Stopwatch.GetElapsedTime(job.CancelRequestedAt).TotalMilliseconds : null));
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // A subscriber's failure is not the generation's.
            LogReportFailed(_logger, e);
        }
    }

    // One decode pages in the weights llama.cpp mapped but has not read, so the first prompt does not pay for it.
    private void Warm(LlamaBatchDecoder decoder)
    {
        long started = Stopwatch.GetTimestamp();
        LlamaSequence sequence = decoder.Sequence(0, _sampling);
        sequence.Start(s_warmUpPrompt, 0, ReadOnlyMemory<int>.Empty);
        while (decoder.Step())
        {
        }

        sequence.Reset();
        _slot.ReportStage(LoadStageEvent.Warm, Stopwatch.GetElapsedTime(started), "one decode");
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Session {SessionId}: every sequence is busy; its request waits, {Position} in the queue")]
    private static partial void LogQueued(ILogger logger, string sessionId, int position);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reporting a generation failed")]
    private static partial void LogReportFailed(ILogger logger, Exception exception);
}
