namespace Acp.GptOss.Inference;

/// <summary>
/// Stands in when no model is configured: the agent still starts, answers <c>initialize</c> and creates sessions,
/// and each prompt gets an error that says what to do.
/// </summary>
internal sealed class UnavailableInferenceEngine : IInferenceEngine
{
    public const string Message =
        "No model is configured. Start acp-gptoss with --model FILE.gguf (a GPT-OSS GGUF), "
        + "or with --engine script --script FILE to run a scripted model.";

    public string Description => "none";

    public ValueTask<IInferenceSession> CreateSessionAsync(CancellationToken cancellationToken) => throw new InferenceException(Message);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
