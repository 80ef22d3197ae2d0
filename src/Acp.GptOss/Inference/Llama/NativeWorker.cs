using System.Collections.Concurrent;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// One long-lived thread for the llama.cpp work that blocks for a while outside a generation: making a session's
/// context and the warm-up decode. Not the thread pool: on two cores a pool thread or two blocked for seconds delay
/// every response (a cancel's included) until the pool grows. Not a thread per job either: llama.cpp's CPU backend
/// computes with OpenMP, and once the thread that ran the first decode has exited, every later decode ran 2.5 times
/// slower (prefill measured on a 4-layer model; libgomp's teams are per calling thread), so that thread lives on.
/// It runs at a lower priority, as the load does: a cancel answered meanwhile gets the CPU first.
/// </summary>
internal static class NativeWorker
{
    private static readonly Lazy<BlockingCollection<Action>> s_queue = new(Start);

    /// <summary>Runs <paramref name="work"/> on the worker, after the work queued before it.</summary>
    public static Task<T> RunAsync<T>(Func<T> work)
    {
        var done = new TaskCompletionSource<T>(TaskCreationOptions.RunContinuationsAsynchronously);
        s_queue.Value.Add(() =>
        {
            try
            {
                done.SetResult(work());
            }
#pragma warning disable CA1031 // Whatever the work throws is its caller's to see; nothing may end the worker.
            catch (Exception e)
#pragma warning restore CA1031
            {
                done.SetException(e);
            }
        });
        return done.Task;
    }

    private static BlockingCollection<Action> Start()
    {
        var queue = new BlockingCollection<Action>();
        new Thread(() =>
        {
            LlamaCpp.LlamaBackend.LowerCurrentThreadPriority();
            foreach (Action work in queue.GetConsumingEnumerable())
            {
                work();
            }
        })
        { IsBackground = true, Name = "llama setup" }.Start();
        return queue;
    }
}
