using System.Diagnostics;
using LlamaCpp;
using LlamaCpp.Gguf;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>
/// A slot's load pipeline: open the file, preflight its header (the architecture, the slot's own check, the context
/// fitted to the memory there is), load the weights; each stage reported as telemetry. It keeps the file's header,
/// once read, and how far the load under way is.
/// </summary>
/// <remarks>One load at a time (the slot sees to it); <see cref="Progress"/> and <see cref="ReadHeader"/> from any thread.</remarks>
internal sealed partial class ModelLoader(ModelSlotOptions options, Telemetry telemetry, ILogger logger)
{
    private double _progress;
    private GgufFile? _file;

    private ModelRole Role => options.Role;

    private string Path => options.Path;

    /// <summary>How far loading the weights is, 0 to 1.</summary>
    public double Progress => Volatile.Read(ref _progress);

    public void ResetProgress() => Volatile.Write(ref _progress, 0);

    /// <summary>
    /// Loads the model, on the calling thread (it blocks for seconds), lowering that thread's priority. Calls
    /// <paramref name="settled"/> with null once loaded, or with the failure's message before the failure is reported.
    /// </summary>
    /// <exception cref="InferenceException">It cannot load; the message says why.</exception>
    /// <exception cref="OperationCanceledException">Cancelled, at the next progress report.</exception>
    public LoadedModel Load(long generation, Action<string?> settled, CancellationToken cancellationToken)
    {
        // Its own thread, ended with the load: below the requests answered meanwhile.
        LlamaBackend.LowerCurrentThreadPriority();
        long started = Stopwatch.GetTimestamp();
        void Stage(string stage, string? detail = null) =>
            telemetry.Publish(new LoadStageEvent(Role, stage, Stopwatch.GetElapsedTime(started).TotalMilliseconds, Volatile.Read(ref _progress), detail));

        try
        {
            Stage(LoadStageEvent.Open, Path);
            if (!File.Exists(Path))
            {
                throw new InferenceException($"The model {Path} does not exist.");
            }

            LlamaBackend backend = LlamaRuntime.Initialize(logger, options.NativeDirectory);
            var modelOptions = new LlamaModelOptions
            {
                RequiredArchitecture = options.RequiredArchitecture,
                Progress = progress => Volatile.Write(ref _progress, progress),
                GpuLayers = options.GpuLayers,
            };
            // The header is parsed here once per load; llama.cpp reads it again itself, as it must.
            GgufFile file = LlamaModel.Preflight(Path, modelOptions);
            _file = file;
            options.CheckHeader?.Invoke(file);
            int contextSize = MemoryPreflight.FitContext(file, options.ContextSize, MemoryPreflight.AvailableMemory() ?? long.MaxValue / 4, out string? warning);
            if (warning is not null)
            {
                LogContextShrunk(logger, Role.WireName(), warning);
            }

            Stage(LoadStageEvent.Preflight, $"{file.Architecture}, {file.Length} bytes, {contextSize}-token context on llama.cpp {backend.Variant}");
            LlamaModel model = LlamaModel.Load(backend, file, modelOptions, cancellationToken);
            contextSize = Math.Min(contextSize, Math.Max(model.TrainedContextSize, 16));
            Volatile.Write(ref _progress, 1);
            Stage(LoadStageEvent.WeightsMapped, $"{model.Description}, {model.ParameterCount} parameters, {GpuLayersText(model.GpuLayers, backend)}");
            settled(null);
            return new LoadedModel(model, contextSize, generation) { KvBytesPerToken = MemoryPreflight.KvBytesPerToken(file) };
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            throw;
        }
        catch (Exception e) when (e is InferenceException or LlamaException or GgufFormatException or IOException or UnauthorizedAccessException)
        {
            string message = e is InferenceException ? e.Message : $"The model {Path} could not be loaded: {e.Message}";
            settled(message);
            Stage(LoadStageEvent.Failed, message);
            throw new InferenceException(message, e);
        }
    }

    /// <summary>The file's header: the one the last load read, or read now; null when the file is missing or not a GGUF.</summary>
    public GgufFile? ReadHeader()
    {
        if (_file is { } file)
        {
            return file;
        }

        try
        {
            return _file = GgufFile.Read(Path);
        }
        catch (Exception e) when (e is GgufFormatException or IOException or UnauthorizedAccessException)
        {
            return null;
        }
    }

    // What n_gpu_layers means on this runtime, for the load events.
    private static string GpuLayersText(int gpuLayers, LlamaBackend backend) =>
        !backend.SupportsGpuOffload ? $"gpu layers {gpuLayers} (no GPU backend: all on the CPU)"
        : gpuLayers < 0 ? $"gpu layers {gpuLayers} (all offloaded)"
        : $"gpu layers {gpuLayers}";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model {Role}: {Warning}")]
    private static partial void LogContextShrunk(ILogger logger, string role, string warning);
}
