using System.Runtime.InteropServices;
using LlamaCpp.Gguf;
using LlamaCpp.Native;

namespace LlamaCpp;

/// <summary>How to load a model.</summary>
public sealed record LlamaModelOptions
{
    /// <summary>The architecture the file must declare (general.architecture), or null for any.</summary>
    public string? RequiredArchitecture { get; init; }

    /// <summary>Load only the vocabulary, for tokenizing without weights.</summary>
    public bool VocabularyOnly { get; init; }

    /// <summary>Receives load progress from 0 to 1, on the loading thread.</summary>
    public Action<float>? Progress { get; init; }
}

/// <summary>
/// A GGUF model loaded by llama.cpp, after the file passed our preflight: a damaged file is an error here, never a
/// native assertion that ends the process.
/// </summary>
/// <remarks>Thread-safe for reading; contexts created from it keep it alive.</remarks>
public sealed unsafe class LlamaModel : IDisposable
{
    private const int MaxLayers = 512;

    private LlamaModel(SafeLlamaModelHandle handle, GgufFile file)
    {
        Handle = handle;
        File = file;
        Vocabulary = new LlamaVocabulary(this, NativeMethods.llama_model_get_vocab(handle));
        byte* description = stackalloc byte[256];
        int length = NativeMethods.llama_model_desc(handle, description, 256);
        Description = length > 0 ? System.Text.Encoding.UTF8.GetString(description, Math.Min(length, 255)) : "";
        TrainedContextSize = NativeMethods.llama_model_n_ctx_train(handle);
        LayerCount = NativeMethods.llama_model_n_layer(handle);
        SizeInBytes = (long)NativeMethods.llama_model_size(handle);
        ParameterCount = (long)NativeMethods.llama_model_n_params(handle);
        byte* template = NativeMethods.llama_model_chat_template(handle, null);
        ChatTemplate = template is null ? null : LlamaBackend.Utf8(template);
    }

    /// <summary>The file as our preflight read it.</summary>
    public GgufFile File { get; }

    /// <summary>The vocabulary.</summary>
    public LlamaVocabulary Vocabulary { get; }

    /// <summary>llama.cpp's one-line description, such as "gpt-oss 20B MXFP4 MoE".</summary>
    public string Description { get; }

    /// <summary>The context length the model was trained with.</summary>
    public int TrainedContextSize { get; }

    /// <summary>The number of layers.</summary>
    public int LayerCount { get; }

    /// <summary>The size of the weights in bytes.</summary>
    public long SizeInBytes { get; }

    /// <summary>The number of parameters.</summary>
    public long ParameterCount { get; }

    /// <summary>
    /// The model's default chat template (<c>tokenizer.chat_template</c>, usually Jinja), or null where the file has
    /// none. <see cref="LlamaChatTemplate.Apply"/> renders it when llama.cpp recognizes it as one of its built-in formats.
    /// </summary>
    public string? ChatTemplate { get; }

    internal SafeLlamaModelHandle Handle { get; }

    /// <summary>Checks the file, then loads it.</summary>
    /// <exception cref="GgufFormatException">The file is damaged or of the wrong architecture.</exception>
    /// <exception cref="LlamaException">llama.cpp could not load it.</exception>
    /// <exception cref="OperationCanceledException">Loading was cancelled.</exception>
    public static LlamaModel Load(LlamaBackend backend, string path, LlamaModelOptions? options = null, CancellationToken cancellationToken = default)
    {
        options ??= new LlamaModelOptions();
        return Load(backend, Preflight(path, options), options, cancellationToken);
    }

    /// <summary>Loads a file that <see cref="Preflight"/> has checked.</summary>
    /// <exception cref="LlamaException">llama.cpp could not load it.</exception>
    /// <exception cref="OperationCanceledException">Loading was cancelled.</exception>
    public static LlamaModel Load(LlamaBackend backend, GgufFile file, LlamaModelOptions options, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(backend);
        ArgumentNullException.ThrowIfNull(file);
        ArgumentNullException.ThrowIfNull(options);
        string path = file.Path;

        LlamaModelParams parameters = NativeMethods.llama_model_default_params();
        parameters.VocabOnly = (byte)(options.VocabularyOnly ? 1 : 0);
        var progress = new ProgressState(options.Progress, cancellationToken);
        GCHandle state = GCHandle.Alloc(progress);
        try
        {
            parameters.ProgressCallback = (nint)(delegate* unmanaged[Cdecl]<float, void*, byte>)&OnProgress;
            parameters.ProgressCallbackUserData = GCHandle.ToIntPtr(state);
            SafeLlamaModelHandle handle = NativeMethods.llama_model_load_from_file(path, parameters);
            if (handle.IsInvalid)
            {
                handle.Dispose();
                cancellationToken.ThrowIfCancellationRequested();
                throw new LlamaException($"llama.cpp could not load {path} ({file.Architecture}); its log on stderr says why.");
            }

            return new LlamaModel(handle, file);
        }
        finally
        {
            state.Free();
        }
    }

    /// <inheritdoc />
    public void Dispose() => Handle.Dispose();

    /// <summary>
    /// Reads and checks a model file as llama.cpp will need it: the GGUF structure, the architecture, a vocabulary,
    /// and the hyperparameters llama.cpp would otherwise answer with an assertion that ends the process.
    /// </summary>
    /// <exception cref="GgufFormatException">The file is damaged or of the wrong architecture.</exception>
    public static GgufFile Preflight(string path, LlamaModelOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        GgufFile file = GgufFile.Read(path);
        string architecture = file.Architecture
            ?? throw new GgufFormatException($"{path} has no general.architecture: not a model llama.cpp can load.");
        if (options.RequiredArchitecture is { } required && architecture != required)
        {
            throw new GgufFormatException($"{path} is a {architecture} model; a {required} model is needed here.");
        }

        if (file.GetArrayLength("tokenizer.ggml.tokens") is not > 0)
        {
            throw new GgufFormatException($"{path} has no vocabulary (tokenizer.ggml.tokens).");
        }

        if (!options.VocabularyOnly)
        {
            if (file.GetInteger($"{architecture}.block_count") is not (> 0 and <= MaxLayers) and var layers)
            {
                throw new GgufFormatException($"{path}: {architecture}.block_count is {layers?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "missing"}; 1 to {MaxLayers} are valid.");
            }

            if (file.GetInteger($"{architecture}.embedding_length") is not > 0)
            {
                throw new GgufFormatException($"{path}: {architecture}.embedding_length is missing or not positive.");
            }

            if (file.Tensors.Count == 0)
            {
                throw new GgufFormatException($"{path} has no tensors: it holds no weights.");
            }
        }

        return file;
    }

    // Called by llama.cpp while loading; returning 0 stops the load.
    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static byte OnProgress(float progress, void* userData)
    {
        var state = (ProgressState)GCHandle.FromIntPtr((nint)userData).Target!;
        try
        {
            state.Report?.Invoke(progress);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An exception must never unwind into native code.
        }

        return (byte)(state.Cancellation.IsCancellationRequested ? 0 : 1);
    }

    private sealed record ProgressState(Action<float>? Report, CancellationToken Cancellation);
}
