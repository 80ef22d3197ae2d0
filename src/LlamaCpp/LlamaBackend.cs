using System.Runtime.InteropServices;
using System.Text;
using LlamaCpp.Native;

namespace LlamaCpp;

/// <summary>How llama.cpp reports, from most to least severe mapped onto our levels.</summary>
public enum LlamaLogLevel
{
    /// <summary>Details.</summary>
    Debug,

    /// <summary>Progress and facts.</summary>
    Information,

    /// <summary>Something to look at.</summary>
    Warning,

    /// <summary>Something failed.</summary>
    Error,
}

/// <summary>How to find and initialize the native runtime.</summary>
public sealed record LlamaBackendOptions
{
    /// <summary>The folder with libllama and the CPU backends; by default runtimes/linux-x64/native beside the application.</summary>
    public string? NativeDirectory { get; init; }

    /// <summary>Receives llama.cpp's log, one whole line at a time. It is called from native threads.</summary>
    public Action<LlamaLogLevel, string>? Log { get; init; }
}

/// <summary>
/// The llama.cpp runtime of this process. <see cref="Initialize"/> must be called, explicitly, before anything else:
/// it resolves the native libraries, loads the CPU backend best suited to this processor and starts llama.cpp.
/// Nothing is loaded from a static constructor, so a missing runtime is an error here, with every path tried.
/// </summary>
/// <remarks>Thread-safe. Initialized once per process; later calls return the same instance.</remarks>
public sealed unsafe class LlamaBackend
{
    /// <summary>The npm package the runtime comes from.</summary>
    public const string RuntimePackage = "@node-llama-cpp/linux-x64@3.22.1";

    private static readonly Lock s_gate = new();
    private static LlamaBackend? s_instance;
    private static Action<LlamaLogLevel, string>? s_log;
    private static readonly StringBuilder s_pendingLog = new();
    private static int s_pendingLevel;

    private LlamaBackend(string nativeDirectory, string? cpuBackend, IReadOnlyList<string> devices, string systemInfo)
    {
        NativeDirectory = nativeDirectory;
        CpuBackend = cpuBackend;
        Devices = devices;
        SystemInfo = systemInfo;
        nint cpu = NativeMethods.ggml_backend_dev_by_type(0);
        if (cpu != nint.Zero)
        {
            nint registry = NativeMethods.ggml_backend_dev_backend_reg(cpu);
            fixed (byte* create = "ggml_threadpool_new"u8)
            fixed (byte* free = "ggml_threadpool_free"u8)
            {
                ThreadpoolNew = (delegate* unmanaged[Cdecl]<GgmlThreadpoolParams*, nint>)NativeMethods.ggml_backend_reg_get_proc_address(registry, create);
                ThreadpoolFree = (delegate* unmanaged[Cdecl]<nint, void>)NativeMethods.ggml_backend_reg_get_proc_address(registry, free);
            }
        }
    }

    /// <summary>The backend, once initialized; models and contexts exist only after that.</summary>
    internal static LlamaBackend Current => s_instance ?? throw new InvalidOperationException("LlamaBackend.Initialize has not run.");

    /// <summary>The CPU backend's <c>ggml_threadpool_new</c>, or null where it has none.</summary>
    internal delegate* unmanaged[Cdecl]<GgmlThreadpoolParams*, nint> ThreadpoolNew { get; }

    /// <summary>The CPU backend's <c>ggml_threadpool_free</c>, or null where it has none.</summary>
    internal delegate* unmanaged[Cdecl]<nint, void> ThreadpoolFree { get; }

    /// <summary>Where the native libraries were loaded from.</summary>
    public string NativeDirectory { get; }

    /// <summary>The CPU backend library llama.cpp chose for this processor, such as libggml-cpu-haswell.so.</summary>
    public string? CpuBackend { get; }

    /// <summary>The compute devices llama.cpp found, as "name: description".</summary>
    public IReadOnlyList<string> Devices { get; }

    /// <summary>llama.cpp's summary of the CPU features it uses.</summary>
    public string SystemInfo { get; }

    /// <summary>The release of llama.cpp, from the runtime's file names.</summary>
    public string Version => Path.GetFileName(Directory.EnumerateFiles(NativeDirectory, "libllama.v*.so").FirstOrDefault() ?? "libllama.so")
        .Replace("libllama.", "", StringComparison.Ordinal).Replace(".so", "", StringComparison.Ordinal);

    /// <summary>Finds, loads and starts the runtime.</summary>
    /// <exception cref="LlamaException">The runtime is missing or broken; the message lists every path tried.</exception>
    public static LlamaBackend Initialize(LlamaBackendOptions? options = null)
    {
        options ??= new LlamaBackendOptions();
        lock (s_gate)
        {
            if (s_instance is not null)
            {
                return s_instance;
            }

            string directory = LocateRuntime(options.NativeDirectory, out List<string> tried);

            var libraries = new Dictionary<string, nint>(StringComparer.Ordinal);
            foreach ((string name, string pattern) in (ReadOnlySpan<(string, string)>)[
                (NativeMethods.GgmlBase, "libggml-base.so"), (NativeMethods.Ggml, "libggml.v*.so"), (NativeMethods.Llama, "libllama.v*.so")])
            {
                string path = Directory.EnumerateFiles(directory, pattern).Order(StringComparer.Ordinal).FirstOrDefault()
                    ?? throw new LlamaException($"The llama.cpp runtime in {directory} has no {pattern}; it is incomplete. Tried:\n  {string.Join("\n  ", tried)}");
                try
                {
                    libraries[name] = NativeLibrary.Load(path);
                }
                catch (DllNotFoundException e)
                {
                    throw new LlamaException($"Could not load {path}: {e.Message}", e);
                }
            }

            NativeLibrary.SetDllImportResolver(typeof(LlamaBackend).Assembly, (name, _, _) => libraries.GetValueOrDefault(name));
            s_log = options.Log;
            NativeMethods.llama_log_set(&OnLog, null);
            NativeMethods.ggml_backend_load_all_from_path(directory);
            NativeMethods.llama_backend_init();
            s_instance = new LlamaBackend(directory, FindLoadedCpuBackend(), ListDevices(), Utf8(NativeMethods.llama_print_system_info()));
            return s_instance;
        }
    }

    /// <summary>A string from native UTF-8 that the caller does not own.</summary>
    internal static string Utf8(byte* text) => text is null ? "" : Marshal.PtrToStringUTF8((nint)text) ?? "";

    /// <summary>The folder holding the runtime: the configured one, or beside the application.</summary>
    /// <exception cref="LlamaException">None holds it; the message lists every path tried and why it did not do.</exception>
    internal static string LocateRuntime(string? configured, out List<string> tried)
    {
        tried = [];
        return FindNativeDirectory(configured, tried)
            ?? throw new LlamaException(
                $"The llama.cpp runtime ({RuntimePackage}) was not found. Tried:\n  {string.Join("\n  ", tried)}\n"
                + "The build puts it in runtimes/linux-x64/native beside the application; rebuild with npm available.");
    }

    private static string? FindNativeDirectory(string? configured, List<string> tried)
    {
        string baseDirectory = AppContext.BaseDirectory;
        string[] candidates = configured is not null
            ? [configured]
            : [Path.Combine(baseDirectory, "runtimes", "linux-x64", "native"), baseDirectory];
        foreach (string candidate in candidates.Distinct(StringComparer.Ordinal))
        {
            bool found = Directory.Exists(candidate) && Directory.EnumerateFiles(candidate, "libllama*.so").Any();
            tried.Add($"{candidate} ({(found ? "found" : Directory.Exists(candidate) ? "no libllama*.so" : "no such folder")})");
            if (found)
            {
                return candidate;
            }
        }

        return null;
    }

    // ggml picks the CPU backend library at run time; the process's mappings say which one it loaded.
    private static string? FindLoadedCpuBackend()
    {
        try
        {
            return File.ReadLines("/proc/self/maps")
                .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault())
                .FirstOrDefault(path => path is not null && Path.GetFileName(path).StartsWith("libggml-cpu", StringComparison.Ordinal)) is { } path
                ? Path.GetFileName(path)
                : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static List<string> ListDevices()
    {
        var devices = new List<string>();
        nuint count = NativeMethods.ggml_backend_dev_count();
        for (nuint i = 0; i < count; i++)
        {
            nint device = NativeMethods.ggml_backend_dev_get(i);
            devices.Add($"{Utf8(NativeMethods.ggml_backend_dev_name(device))}: {Utf8(NativeMethods.ggml_backend_dev_description(device))}");
        }

        return devices;
    }

    // llama.cpp logs in pieces (a line may come in several calls); pass on whole lines only.
    [UnmanagedCallersOnly(CallConvs = [typeof(System.Runtime.CompilerServices.CallConvCdecl)])]
    private static void OnLog(int level, byte* text, void* userData)
    {
        Action<LlamaLogLevel, string>? log = s_log;
        if (log is null || text is null)
        {
            return;
        }

        string piece = Utf8(text);
        lock (s_pendingLog)
        {
            // ggml_log_level: 1 debug, 2 info, 3 warn, 4 error, 5 continues the line before.
            if (s_pendingLog.Length == 0 && level != 5)
            {
                s_pendingLevel = level;
            }

            s_pendingLog.Append(piece);
            if (!piece.EndsWith('\n'))
            {
                return;
            }

            piece = s_pendingLog.ToString().TrimEnd('\n');
            level = s_pendingLevel;
            s_pendingLog.Clear();
        }

        LlamaLogLevel mapped = level switch
        {
            4 => LlamaLogLevel.Error,
            3 => LlamaLogLevel.Warning,
            2 => LlamaLogLevel.Information,
            _ => LlamaLogLevel.Debug,
        };
        try
        {
            log(mapped, piece);
        }
        catch (Exception e) when (e is not OutOfMemoryException)
        {
            // An exception must never unwind into native code.
        }
    }
}
