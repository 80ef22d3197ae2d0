using System.Globalization;
using LlamaCpp;
using Microsoft.Extensions.Logging;

namespace Acp.GptOss.Inference.Llama;

/// <summary>The native llama.cpp runtime, initialised once per process on first use, never at type load.</summary>
internal static partial class LlamaRuntime
{
    /// <summary>Initializes the native runtime once per process, with llama.cpp's log routed to ours.</summary>
    /// <exception cref="LlamaException">The runtime is missing.</exception>
    public static LlamaBackend Initialize(ILogger logger, string? nativeDirectory) => LlamaBackend.Initialize(new LlamaBackendOptions
    {
        NativeDirectory = nativeDirectory,
        Log = (level, line) => LogNative(logger, level switch
        {
            LlamaLogLevel.Error => LogLevel.Error,
            LlamaLogLevel.Warning => LogLevel.Warning,
            // llama.cpp's "info" is chatty (a line per tensor type, per buffer): it is our debug.
            _ => LogLevel.Debug,
        }, line),
    });

    /// <summary>
    /// What runs a model, for logs and <c>/status</c>: the llama.cpp build once the runtime has started (the first
    /// load starts it; a status report must not), the threads, the sequences decoded together, the file.
    /// </summary>
    public static string Describe(string modelPath, int threads, int parallel)
    {
        string build = LlamaBackend.Started is { } backend
            ? $"llama.cpp {backend.Commit} (ggml {backend.Version}, {backend.Variant} build of {LlamaBackend.RuntimePackage}; {(backend.SupportsGpuOffload ? "GPU offload" : "CPU only")})"
            : "llama.cpp (not started: the first load starts it)";
        string sequences = parallel > 1 ? string.Create(CultureInfo.InvariantCulture, $", {parallel} sequences batched") : "";
        return string.Create(CultureInfo.InvariantCulture, $"{build}, {threads} threads{sequences}, {Path.GetFileName(modelPath)}");
    }

    [LoggerMessage(Message = "llama.cpp: {Line}")]
    private static partial void LogNative(ILogger logger, LogLevel level, string line);
}
