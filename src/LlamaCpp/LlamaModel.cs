using LLama.Exceptions;
using LLama.Native;
using LlamaCpp.Gguf;

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

    /// <summary>
    /// Layers to offload to a GPU (llama.cpp's <c>n_gpu_layers</c>): -1, the default, offloads every layer when the
    /// runtime has a GPU backend (LLamaSharp.Backend.Cpu's osx-arm64 build carries Metal); 0 keeps the model on the CPU.
    /// Without a GPU backend every value runs on the CPU.
    /// </summary>
    public int GpuLayers { get; init; } = -1;
}

/// <summary>
/// A GGUF model loaded by llama.cpp, after the file passed our preflight: a damaged file is an error here, never a
/// native assertion that ends the process.
/// </summary>
/// <remarks>Thread-safe for reading; contexts created from it keep it alive.</remarks>
public sealed class LlamaModel : IDisposable
{
    private const int MaxLayers = 512;
    private byte[]? _identity;

    private LlamaModel(SafeLlamaModelHandle handle, GgufFile file, int gpuLayers)
    {
        Handle = handle;
        File = file;
        GpuLayers = gpuLayers;
        Vocabulary = new LlamaVocabulary(this);
        Description = handle.Description;
        TrainedContextSize = handle.ContextSize;
        LayerCount = handle.LayerCount;
        SizeInBytes = (long)handle.SizeInBytes;
        ParameterCount = (long)handle.ParameterCount;
        ChatTemplate = handle.GetTemplate(name: null, strict: false);
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

    /// <summary>The <c>n_gpu_layers</c> it was loaded with (-1: every layer, where a GPU backend is present).</summary>
    public int GpuLayers { get; }

    /// <summary>
    /// The model's default chat template (<c>tokenizer.chat_template</c>, usually Jinja), or null where the file has
    /// none. <see cref="LlamaChatTemplate.Apply"/> renders it when llama.cpp recognizes it as one of its built-in formats.
    /// </summary>
    public string? ChatTemplate { get; }

    internal SafeLlamaModelHandle Handle { get; }

    /// <summary>
    /// What a saved KV state must have been made by: the file's length and a hash of slices of it (see
    /// <see cref="LlamaStateFile.ModelIdentity"/>), read once, on first use.
    /// </summary>
    internal ReadOnlyMemory<byte> Identity => _identity ??= LlamaStateFile.ModelIdentity(File.Path);

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
        _ = backend;

        var progress = new ProgressState(options.Progress, cancellationToken);
        LLamaModelParams parameters = CreateParameters(options, progress.OnProgress);
        try
        {
            SafeLlamaModelHandle handle = SafeLlamaModelHandle.LoadFromFile(path, parameters);
            return new LlamaModel(handle, file, parameters.n_gpu_layers);
        }
        catch (LoadWeightsFailedException e)
        {
            cancellationToken.ThrowIfCancellationRequested();
            throw new LlamaException($"llama.cpp could not load {path} ({file.Architecture}); its log on stderr says why.", e);
        }
        finally
        {
            // The native side holds the callback only while loading.
            GC.KeepAlive(progress);
        }
    }

    /// <summary>The model parameters llama.cpp gets for <paramref name="options"/>: its defaults plus ours.</summary>
    /// <remarks>Needs <see cref="LlamaBackend.Initialize"/> to have run: the defaults come from the native library.</remarks>
    internal static LLamaModelParams CreateParameters(LlamaModelOptions options, LlamaProgressCallback? progress = null)
    {
        LLamaModelParams parameters = LLamaModelParams.Default();
        parameters.vocab_only = options.VocabularyOnly;
        parameters.n_gpu_layers = options.GpuLayers;
        parameters.progress_callback = progress;
        return parameters;
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

    // Called by llama.cpp while loading (through a delegate LLamaSharp's binding marshals); false stops the load.
    private sealed record ProgressState(Action<float>? Report, CancellationToken Cancellation)
    {
        public bool OnProgress(float progress, nint userData)
        {
            try
            {
                Report?.Invoke(progress);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // An exception must never unwind into native code.
            }

            return !Cancellation.IsCancellationRequested;
        }
    }
}
