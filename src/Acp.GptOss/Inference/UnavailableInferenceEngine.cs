using Acp.Protocol.JsonRpc;
using Harmony;

namespace Acp.GptOss.Inference;

/// <summary>
/// Stands in when no engine is configured: the agent still starts, answers <c>initialize</c> and creates
/// sessions, and each prompt gets an error that says what to do.
/// </summary>
internal sealed class UnavailableInferenceEngine : IInferenceEngine
{
    public const string Message =
        "No model is configured. Start acp-gptoss with --engine script --script FILE to run a scripted model; "
        + "running GGUF models through llama.cpp is not built yet.";

    public string Description => "none";

    public IHarmonyTokenizer Tokenizer => O200kByteTokenizer.Instance;

    public int ContextSize => 8192;

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult<IInferenceSession>(new Session());

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;

    private sealed class Session : IInferenceSession
    {
        public IAsyncEnumerable<int> GenerateAsync(ReadOnlyMemory<int> prompt, GenerationOptions options, CancellationToken cancellationToken) =>
            throw new JsonRpcException(JsonRpcErrorCodes.InternalError, Message);

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
