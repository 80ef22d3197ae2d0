using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference;

/// <summary>A GGUF's vocabulary without its weights: for counting and rendering tokens exactly as the model will.</summary>
internal static class VocabularyTokenizer
{
    /// <exception cref="InferenceException">The runtime is missing, or the file is no usable GPT-OSS vocabulary.</exception>
    public static (LlamaModel Model, LlamaTokenizer Tokenizer) Load(string path, ILogger logger)
    {
        try
        {
            LlamaBackend backend = LlamaInferenceEngine.InitializeBackend(logger, nativeDirectory: null);
            LlamaModel model = LlamaModel.Load(backend, path, new LlamaModelOptions { VocabularyOnly = true });
            return (model, new LlamaTokenizer(model.Vocabulary));
        }
        catch (Exception e) when (e is LlamaException or LlamaCpp.Gguf.GgufFormatException or IOException or UnauthorizedAccessException)
        {
            throw new InferenceException($"{path}: {e.Message}", e);
        }
    }
}
