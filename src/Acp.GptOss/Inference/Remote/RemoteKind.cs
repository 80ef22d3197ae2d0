namespace Acp.GptOss.Inference.Remote;

/// <summary>The serving engine behind a remote endpoint, which decides how prompts and tokens travel (docs/remote.md).</summary>
internal enum RemoteKind
{
    /// <summary>llama.cpp's llama-server: <c>/completion</c>, token ids both ways.</summary>
    LlamaServer,

    /// <summary>vLLM: <c>/v1/completions</c> with a token-id prompt, token ids back through the log-probabilities.</summary>
    Vllm,

    /// <summary>SGLang: <c>/generate</c>, <c>input_ids</c> in, output ids out.</summary>
    Sglang,

    /// <summary>Any OpenAI-compatible server that takes only messages: <c>/v1/chat/completions</c>.</summary>
    OpenAi,
}
