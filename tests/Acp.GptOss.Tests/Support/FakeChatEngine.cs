using System.Runtime.CompilerServices;
using Acp.GptOss.Inference;

namespace Acp.GptOss.Tests.Support;

/// <summary>An in-memory fast model: every answer is <paramref name="pieces"/>, streamed; it records what it was asked.</summary>
internal sealed class FakeChatEngine(params string[] pieces) : IChatEngine
{
    private readonly Lock _gate = new();

    public string Description => "fake fast";

    public IModel? Model => null;

    /// <summary>Each call's messages, in order.</summary>
    public List<IReadOnlyList<ChatMessage>> Calls { get; } = [];

    /// <summary>When set, every answer waits here after its first piece until the turn is cancelled; completes when held.</summary>
    public TaskCompletionSource? Held { get; set; }

    public ValueTask<IChatSession> CreateSessionAsync(string sessionId, CancellationToken cancellationToken) =>
        ValueTask.FromResult<IChatSession>(new Session(this));

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Session(FakeChatEngine engine) : IChatSession
    {
        public async IAsyncEnumerable<string> ChatAsync(
            IReadOnlyList<ChatMessage> messages, int maxTokens, ChatOutcome outcome, [EnumeratorCancellation] CancellationToken cancellationToken)
        {
            lock (engine._gate)
            {
                engine.Calls.Add([.. messages]);
            }

            outcome.PromptTokens = messages.Sum(m => m.Content.Length);
            outcome.ContextSize = 4096;
            string[] pieces = engine.Pieces;
            for (int i = 0; i < pieces.Length && i < maxTokens; i++)
            {
                if (i == 1 && engine.Held is { } held)
                {
                    held.TrySetResult();
                    await Task.Delay(Timeout.Infinite, cancellationToken);
                }

                outcome.GeneratedTokens++;
                yield return pieces[i];
            }

            outcome.Finished = pieces.Length <= maxTokens;
            await Task.Yield();
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private string[] Pieces { get; } = pieces;
}
