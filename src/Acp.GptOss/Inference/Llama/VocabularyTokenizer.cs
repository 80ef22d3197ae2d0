using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>A GGUF's vocabulary without its weights: for counting and rendering tokens exactly as the model will.</summary>
internal static class VocabularyTokenizer
{
    /// <param name="path">The GGUF.</param>
    /// <param name="logger">Where llama.cpp's log goes.</param>
    /// <param name="nativeDirectory">Where the native runtime is, if not beside the application.</param>
    /// <param name="requiredArchitecture">The architecture the file must have, if any.</param>
    /// <exception cref="InferenceException">The runtime is missing, or the file is no usable GPT-OSS vocabulary.</exception>
    public static (LlamaModel Model, LlamaTokenizer Tokenizer) Load(string path, ILogger logger, string? nativeDirectory = null, string? requiredArchitecture = null)
    {
        if (!File.Exists(path))
        {
            throw new InferenceException($"{path} does not exist.");
        }

        try
        {
            LlamaBackend backend = LlamaRuntime.Initialize(logger, nativeDirectory);
            LlamaModel model = LlamaModel.Load(backend, path, new LlamaModelOptions { VocabularyOnly = true, RequiredArchitecture = requiredArchitecture });
            try
            {
                return (model, new LlamaTokenizer(model.Vocabulary));
            }
            catch
            {
                model.Dispose();
                throw;
            }
        }
        catch (Exception e) when (e is LlamaException or LlamaCpp.Gguf.GgufFormatException or IOException or UnauthorizedAccessException)
        {
            throw new InferenceException($"{path}: {e.Message}", e);
        }
    }
}
