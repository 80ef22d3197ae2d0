using Acp.GptOss.Inference;
using Acp.GptOss.Inference.Llama;
using Acp.GptOss.Tests.Support;
using Harmony;
using Harmony.Conversations;
using Harmony.Rendering;
using Microsoft.Extensions.Logging.Abstractions;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// Warm resume above the seam: <see cref="IInferenceSession.SaveStateAsync"/> and
/// <see cref="IInferenceSession.TryRestoreStateAsync"/> on the llama.cpp engine (a restored session reuses the saved
/// tokens as its prefix; a refused file costs a full prefill; a model unloaded meanwhile leaves nothing to save) and
/// on an engine with no state to keep.
/// </summary>
public sealed class SessionStateTests : IDisposable
{
    private const string Completion = "<|channel|>final<|message|>Hello world<|return|>";

    private readonly string _directory = Directory.CreateTempSubdirectory("acp-gptoss-session-state-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_session_without_state_saves_nothing_and_restores_nothing()
    {
        await using IInferenceSession session = new Stateless();
        string path = Path.Combine(_directory, "s1.kv");

        Assert.False(await session.SaveStateAsync(path, new int[] { 1, 2, 3 }, CancellationToken.None));
        Assert.False(File.Exists(path));
        Assert.False(await session.TryRestoreStateAsync(path, CancellationToken.None));
    }

    [ModelFact]
    public async Task A_restored_session_decodes_only_what_follows_the_saved_tokens_and_answers_the_same()
    {
        var recorded = new RecordedTelemetry<InferenceEvent>();
        await using LlamaInferenceEngine engine = Start(recorded.Telemetry);
        string path = Path.Combine(_directory, "s1.kv");
        int[] first;
        int[] continued;
        int[] next;
        int[] prompt;
        await using (IInferenceSession original = await engine.CreateSessionAsync("s1", CancellationToken.None))
        {
            (HarmonyEncoding encoding, GenerationOptions options) = Encoding(original);
            prompt = Render(encoding, HarmonyMessage.User("Hi"));
            first = await original.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync();
            // A next turn: the history, then another request (the chain model answers the same to any).
            next = [.. prompt, .. first, .. prompt];
            Assert.True(await original.SaveStateAsync(path, next, CancellationToken.None));
            continued = await original.GenerateAsync(next, options, CancellationToken.None).ToArrayAsync();
        }

        await using IInferenceSession resumed = await engine.CreateSessionAsync("s2", CancellationToken.None);
        bool restored = await resumed.TryRestoreStateAsync(path, CancellationToken.None);
        (_, GenerationOptions resumedOptions) = Encoding(resumed);
        int[] answer = await resumed.GenerateAsync(next, resumedOptions, CancellationToken.None).ToArrayAsync();

        Assert.True(restored);
        Assert.Equal(continued, answer);
        InferenceEvent generation = recorded.Events.Single(e => e.SessionId == "s2");

        // The first turn's prompt and answer, but its stop token, which is never decoded.
        Assert.Equal(prompt.Length + first.Length - 1, generation.ReusedTokens);
        Assert.Equal(next.Length - generation.ReusedTokens, generation.PrefilledTokens);
    }

    [ModelFact]
    public async Task A_foreign_or_missing_file_is_refused_and_the_session_answers_after_it()
    {
        await using LlamaInferenceEngine engine = Start(new Telemetry(NullLogger.Instance));
        await using IInferenceSession session = await engine.CreateSessionAsync("s1", CancellationToken.None);
        string missing = Path.Combine(_directory, "missing.kv");
        string garbage = Path.Combine(_directory, "garbage.kv");
        await File.WriteAllBytesAsync(garbage, [.. "LLKVSEQ\0"u8, .. new byte[4096]]);

        Assert.False(await session.TryRestoreStateAsync(missing, CancellationToken.None));
        Assert.False(await session.TryRestoreStateAsync(garbage, CancellationToken.None));
        Assert.False(File.Exists(garbage));
        (HarmonyEncoding encoding, GenerationOptions options) = Encoding(session);
        int[] answer = await session.GenerateAsync(Render(encoding, HarmonyMessage.User("Hi")), options, CancellationToken.None).ToArrayAsync();
        Assert.NotEmpty(answer);
    }

    [ModelFact]
    public async Task An_unload_leaves_nothing_to_save_and_a_state_saved_before_it_restores_after_the_reload()
    {
        var recorded = new RecordedTelemetry<InferenceEvent>();
        await using LlamaInferenceEngine engine = Start(recorded.Telemetry);
        await using IInferenceSession session = await engine.CreateSessionAsync("s1", CancellationToken.None);
        (HarmonyEncoding encoding, GenerationOptions options) = Encoding(session);
        int[] prompt = Render(encoding, HarmonyMessage.User("Hi"));
        int[] first = await session.GenerateAsync(prompt, options, CancellationToken.None).ToArrayAsync();
        string path = Path.Combine(_directory, "s1.kv");
        int[] next = [.. prompt, .. first];
        Assert.True(await session.SaveStateAsync(path, next, CancellationToken.None));
        await engine.Models[0].UnloadAsync();
        string after = Path.Combine(_directory, "after-unload.kv");

        bool savedAfterUnload = await session.SaveStateAsync(after, next, CancellationToken.None);
        bool restored = await session.TryRestoreStateAsync(path, CancellationToken.None);
        int[] again = await session.GenerateAsync(next, options, CancellationToken.None).ToArrayAsync();

        Assert.False(savedAfterUnload);
        Assert.False(File.Exists(after));
        Assert.True(restored);
        Assert.NotNull(again);
        Assert.Equal(prompt.Length + first.Length - 1, recorded.Events[^1].ReusedTokens);
    }

    private static LlamaInferenceEngine Start(Telemetry telemetry) => LlamaInferenceEngine.Start(
        new LlamaEngineOptions { ModelPath = TestModels.Chain(Completion), ContextSize = 2048, Threads = 2, Sampling = new LlamaCpp.LlamaSamplingOptions { Temperature = 0 } },
        telemetry, NullLoggerFactory.Instance);

    private static (HarmonyEncoding Encoding, GenerationOptions Options) Encoding(IInferenceSession session)
    {
        var encoding = new HarmonyEncoding(session.Tokenizer);
        return (encoding, new GenerationOptions(32, encoding.SamplingStops.ToArray()));
    }

    private static int[] Render(HarmonyEncoding encoding, HarmonyMessage message) =>
        encoding.RenderForCompletion(new HarmonyConversation(new HarmonySystemContent(), null, [message]));

    // An engine's session that keeps no state of its own, as the scripted engine's: the seam's defaults.
    private sealed class Stateless : IInferenceSession
    {
        public IHarmonyTokenizer Tokenizer => throw new NotSupportedException();

        public int ContextSize => 4096;

        public IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, CancellationToken cancellationToken) =>
            throw new NotSupportedException();

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
