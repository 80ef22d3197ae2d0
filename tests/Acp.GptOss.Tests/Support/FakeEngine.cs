using System.Runtime.CompilerServices;
using Acp.GptOss.Inference;
using Harmony;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// An in-memory engine: round N of a session plays completion N (the last repeats), written with literal special
/// spellings. It records every prompt, and a test can hold a token back to catch a turn in mid-stream.
/// </summary>
internal sealed class FakeEngine(params string[] completions) : IInferenceEngine
{
    private readonly Lock _gate = new();
    private readonly string[] _completions = completions;

    public string Description => "fake";

    public int ContextSize { get; init; } = 8192;

    /// <summary>Before yielding token <c>i</c> of a round, the engine awaits this if set (cancellation passed through).</summary>
    public Func<int, CancellationToken, Task>? BeforeToken { get; set; }

    /// <summary>
    /// Holds the first model call at token <paramref name="token"/> until it is cancelled; later calls run freely.
    /// The task completes when the call is held: the turn is then certainly running.
    /// </summary>
    public Task HoldFirstCallAt(int token)
    {
        var held = new TaskCompletionSource();
        BeforeToken = (i, ct) => i == token && held.TrySetResult() ? Task.Delay(System.Threading.Timeout.Infinite, ct) : Task.CompletedTask;
        return held.Task.WaitAsync(AgentHarness.Timeout);
    }

    /// <summary>The prompts, rendered with literal spellings, in order.</summary>
    public List<string> Prompts { get; } = [];

    /// <summary>The prompts as ids.</summary>
    public List<int[]> PromptTokens { get; } = [];

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => ValueTask.FromResult<IInferenceSession>(new Session(this));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Session(FakeEngine engine) : IInferenceSession
    {
        private int _round;

        public IHarmonyTokenizer Tokenizer => O200kByteTokenizer.Instance;

        public int ContextSize => engine.ContextSize;

        public async IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            lock (engine._gate)
            {
                engine.Prompts.Add(HarmonyLiteralText.Render(prompt.Span, Tokenizer));
                engine.PromptTokens.Add(prompt.ToArray());
            }

            string completion = engine._completions[Math.Min(_round++, engine._completions.Length - 1)];
            var tokens = new List<int>();
            HarmonyLiteralText.Tokenize(completion, Tokenizer, tokens);
            for (int i = 0; i < tokens.Count && i < options.MaxTokens; i++)
            {
                if (engine.BeforeToken is { } wait)
                {
                    await wait(i, cancellationToken);
                }

                cancellationToken.ThrowIfCancellationRequested();
                await Task.Yield();
                yield return tokens[i];
                if (options.StopTokens.Span.Contains(tokens[i]))
                {
                    yield break;
                }
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
