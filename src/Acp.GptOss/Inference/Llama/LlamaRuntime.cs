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

    [LoggerMessage(Message = "llama.cpp: {Line}")]
    private static partial void LogNative(ILogger logger, LogLevel level, string line);
}
