using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using System.Text;
using LLama.Abstractions;
using LLama.Native;
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
    /// <summary>
    /// A folder holding a libllama (with its libggml libraries) to load instead of the one LLamaSharp.Backend.Cpu ships
    /// beside the application, where LLamaSharp picks the build for this processor's AVX level.
    /// </summary>
    public string? NativeDirectory { get; init; }

    /// <summary>
    /// Receives llama.cpp's log and LLamaSharp's loader's, one whole line at a time. It is called from native threads.
    /// Only the first initialization's callback is installed.
    /// </summary>
    public Action<LlamaLogLevel, string>? Log { get; init; }
}

/// <summary>A compute device llama.cpp can use.</summary>
/// <param name="Name">ggml's name, such as CPU, CUDA0 or Metal.</param>
/// <param name="Description">What it is, such as the processor's or the card's name.</param>
/// <param name="IsGpu">A GPU (discrete or integrated) or an accelerator, where layers can be offloaded.</param>
public sealed record LlamaDevice(string Name, string Description, bool IsGpu)
{
    /// <inheritdoc />
    public override string ToString() => $"{Name}: {Description}{(IsGpu ? " (GPU)" : "")}";
}

/// <summary>
/// The llama.cpp runtime of this process, loaded by LLamaSharp from LLamaSharp.Backend.Cpu. <see cref="Initialize"/>
/// must be called, explicitly, before anything else: it configures LLamaSharp's <see cref="NativeLibraryConfig"/>
/// (log, library), makes it load the build for this processor and start llama.cpp. Nothing is loaded from a static
/// constructor of ours, so a missing runtime is an error here, saying where it was looked for.
/// </summary>
/// <remarks>Thread-safe. Initialized once per process; later calls return the same instance.</remarks>
public sealed unsafe class LlamaBackend
{
    /// <summary>The NuGet package the runtime comes from.</summary>
    public const string RuntimePackage = "LLamaSharp.Backend.Cpu 0.30.0";

    /// <summary>
    /// The spin of libgomp's waiting workers (<c>GOMP_SPINCOUNT</c>) set on Linux unless the user set one or
    /// <c>OMP_WAIT_POLICY</c>: a benchmark that compares us with another program on this libllama gives it the same.
    /// </summary>
    public const string OpenMpSpinCount = "100000";

    private static readonly Lock s_gate = new();
    private static LlamaBackend? s_instance;
    private static Action<LlamaLogLevel, string>? s_log;
    private static readonly StringBuilder s_pendingLog = new();
    private static LLamaLogLevel s_pendingLevel;
    private static string? s_libraryPath;
    private static bool s_resolverInstalled;

    [ThreadStatic]
    private static int* t_abortFlag;

    private LlamaBackend(string libraryPath, string variant)
    {
        LibraryPath = libraryPath;
        Variant = variant;
        Version = Utf8(NativeMethods.ggml_version());
        Commit = Utf8(NativeMethods.ggml_commit());
        SystemInfo = Marshal.PtrToStringUTF8(NativeApi.llama_print_system_info()) ?? "";
        SupportsGpuOffload = NativeApi.llama_supports_gpu_offload();
        Devices = ListDevices();
    }

    /// <summary>The libllama LLamaSharp loaded.</summary>
    public string LibraryPath { get; }

    /// <summary>The folder it was loaded from.</summary>
    public string NativeDirectory => Path.GetDirectoryName(LibraryPath) ?? "";

    /// <summary>Which build LLamaSharp chose: its AVX level (noavx, avx, avx2, avx512), or "custom" for a configured folder.</summary>
    public string Variant { get; }

    /// <summary>ggml's version, as the runtime reports it.</summary>
    public string Version { get; }

    /// <summary>The llama.cpp commit the runtime was built from, as ggml reports it.</summary>
    public string Commit { get; }

    /// <summary>The compute devices llama.cpp found.</summary>
    public IReadOnlyList<LlamaDevice> Devices { get; }

    /// <summary>Whether layers can be offloaded to a GPU: the runtime has a GPU backend and it found a device.</summary>
    public bool SupportsGpuOffload { get; }

    /// <summary>llama.cpp's summary of the CPU features it uses.</summary>
    public string SystemInfo { get; }

    /// <summary>The runtime if it has started, without starting it: what a status report may show.</summary>
    public static LlamaBackend? Started
    {
        get
        {
            lock (s_gate)
            {
                return s_instance;
            }
        }
    }

    /// <summary>Finds, loads and starts the runtime.</summary>
    /// <exception cref="LlamaException">The runtime is missing or broken; the message says where it was looked for.</exception>
    public static LlamaBackend Initialize(LlamaBackendOptions? options = null)
    {
        options ??= new LlamaBackendOptions();
        lock (s_gate)
        {
            if (s_instance is not null)
            {
                return s_instance;
            }

            string? configured = options.NativeDirectory is { } directory ? LocateConfiguredLibrary(directory) : null;
            if (!s_resolverInstalled)
            {
                NativeLibrary.SetDllImportResolver(typeof(LlamaBackend).Assembly, ResolveOurImports);
                s_resolverInstalled = true;
            }

            if (!NativeLibraryConfig.LLama.LibraryHasLoaded)
            {
                BoundOpenMpSpinning();
                s_log = options.Log;
                NativeLibraryConfig.All.WithLogCallback(OnLog);
                // LLamaSharp's own choice reads the intrinsics' IsSupported, which a NativeAOT build answers for its
                // compile-time target, not this processor: tell it what CPUID says.
                NativeLibraryConfig.LLama.WithAvx(CpuAvxLevel.Detect());
                // LLamaSharp looks in its search folders, then "./" (the working folder: an editor starts the agent in
                // the user's workspace), and only then beside the application. Ours come first.
                NativeLibraryConfig.All.WithSearchDirectory(AppContext.BaseDirectory);
                if (configured is not null)
                {
                    NativeLibraryConfig.LLama.WithLibrary(configured);
                }
            }

            try
            {
                // LLamaSharp installs its library resolver, loads libllama and calls llama_backend_init in NativeApi's
                // type initializer: touch it now, before any of its structs' defaults, so that it happens here.
                NativeApi.llama_empty_call();
            }
            catch (Exception e) when (e is TypeInitializationException or DllNotFoundException or EntryPointNotFoundException or LLama.Exceptions.RuntimeError)
            {
                throw new LlamaException(
                    $"The llama.cpp runtime ({RuntimePackage}) could not be loaded: {(e.InnerException ?? e).Message.Split('\n')[0]} "
                    + $"It is looked for in {Path.Combine(AppContext.BaseDirectory, "runtimes", RuntimeInformation.RuntimeIdentifier, "native")}/<avx level>/"
                    + (configured is null ? "" : $" and at {configured}") + "; rebuild to copy it there.", e);
            }

            s_libraryPath = FindLoadedLibraryPath()
                ?? throw new LlamaException("LLamaSharp reports its native library loaded, but no libllama is mapped into this process.");
            INativeLibrary? loaded = NativeApi.GetLoadedNativeLibrary(NativeLibraryName.LLama);
            string variant = loaded is NativeLibraryFromPath || configured is not null
                ? "custom"
                : loaded?.Metadata?.AvxLevel.ToString().ToLowerInvariant() ?? "unknown";
            s_instance = new LlamaBackend(s_libraryPath, variant);
            return s_instance;
        }
    }

    /// <summary>The backend, once initialized; models and contexts exist only after that.</summary>
    internal static LlamaBackend Current => s_instance ?? throw new InvalidOperationException("LlamaBackend.Initialize has not run.");

    /// <summary>A string from native UTF-8 that the caller does not own.</summary>
    internal static string Utf8(byte* text) => text is null ? "" : Marshal.PtrToStringUTF8((nint)text) ?? "";

    /// <summary>The libllama in a configured folder.</summary>
    /// <exception cref="LlamaException">The folder or the library is missing.</exception>
    internal static string LocateConfiguredLibrary(string directory)
    {
        string file = OperatingSystem.IsWindows() ? "llama.dll" : OperatingSystem.IsMacOS() ? "libllama.dylib" : "libllama.so";
        string path = Path.Combine(directory, file);
        return File.Exists(path)
            ? Path.GetFullPath(path)
            : throw new LlamaException($"The configured llama.cpp runtime folder {directory} has no {file} ({(Directory.Exists(directory) ? "folder found" : "no such folder")}).");
    }

    // LLamaSharp.Backend.Cpu's builds run ggml's workers on OpenMP, and every barrier between graph nodes is an OpenMP
    // barrier. Measured on 2 cores with the benchmark model: libgomp's default spin (300,000 rounds) collapsed to 17–60
    // tok/s while several builds used the cores (spinning workers starve the thread they wait for); passive workers
    // cost a third of the speed (a sleep at every barrier); 20,000 rounds held the engine's speed but cost the whole
    // agent 7–10 % against 100,000, idle and with one core kept busy alike. 100,000 keeps the spin bounded, at a third
    // of libgomp's default. A user's own OMP_WAIT_POLICY or GOMP_SPINCOUNT wins. Set before libgomp loads (it reads
    // them once).
    private static void BoundOpenMpSpinning()
    {
        if (OperatingSystem.IsLinux()
            && Environment.GetEnvironmentVariable("OMP_WAIT_POLICY") is null
            && Environment.GetEnvironmentVariable("GOMP_SPINCOUNT") is null)
        {
            _ = NativeMethods.setenv("GOMP_SPINCOUNT", OpenMpSpinCount, overwrite: 0);
        }
    }

    // Our few imports go to the very libraries LLamaSharp loaded: libllama through its own resolver (which returns the
    // handle it loaded), ggml-base from the same folder (already mapped as libllama's dependency, so no second copy).
    private static nint ResolveOurImports(string name, Assembly assembly, DllImportSearchPath? searchPath)
    {
        if (name == NativeMethods.Llama)
        {
            return NativeLibrary.Load(NativeMethods.Llama, typeof(NativeApi).Assembly, null);
        }

        if (name == NativeMethods.LibC)
        {
            return NativeLibrary.TryLoad("libc.so.6", out nint libc) ? libc : nint.Zero;
        }

        if (name == NativeMethods.GgmlBase && s_libraryPath is { } llama)
        {
            string file = Path.GetFileName(llama).Replace("llama", "ggml-base", StringComparison.Ordinal);
            return NativeLibrary.TryLoad(Path.Combine(Path.GetDirectoryName(llama)!, file), out nint handle) ? handle : nint.Zero;
        }

        return nint.Zero;
    }

    // The file of the library that holds llama_decode, from the process's mappings (Linux). Elsewhere: the path
    // LLamaSharp would have tried first.
    private static string? FindLoadedLibraryPath()
    {
        nint library = NativeLibrary.Load(NativeMethods.Llama, typeof(NativeApi).Assembly, null);
        ulong address = (ulong)NativeLibrary.GetExport(library, "llama_decode");
        try
        {
            foreach (string line in File.ReadLines("/proc/self/maps"))
            {
                string[] fields = line.Split(' ', 6, StringSplitOptions.RemoveEmptyEntries);
                string[] range = fields[0].Split('-');
                if (fields.Length == 6
                    && address >= ulong.Parse(range[0], NumberStyles.HexNumber, CultureInfo.InvariantCulture)
                    && address < ulong.Parse(range[1], NumberStyles.HexNumber, CultureInfo.InvariantCulture))
                {
                    return fields[5].Trim();
                }
            }
        }
        catch (IOException)
        {
            // No /proc: not Linux.
        }

        return null;
    }

    private static List<LlamaDevice> ListDevices()
    {
        var devices = new List<LlamaDevice>();
        nuint count = NativeApi.ggml_backend_dev_count();
        for (nuint i = 0; i < count; i++)
        {
            nint device = NativeApi.ggml_backend_dev_get(i);
            devices.Add(new LlamaDevice(
                Marshal.PtrToStringUTF8(NativeApi.ggml_backend_dev_name(device)) ?? "",
                Utf8(NativeMethods.ggml_backend_dev_description(device)),
                NativeMethods.ggml_backend_dev_type(device) != 0));
        }

        return devices;
    }

    /// <summary>
    /// <c>llama_decode</c> on this thread, with <paramref name="abortFlag"/> the context's abort flag: once it is set,
    /// the errors llama.cpp logs about the computation it stops ("failed to compute graph", "failed to decode") are
    /// what a cancel looks like, not a fault, and go to the log as debug.
    /// </summary>
    internal static int Decode(SafeLLamaContextHandle context, LLamaNativeBatch batch, int* abortFlag)
    {
        int* before = t_abortFlag;
        t_abortFlag = abortFlag;
        try
        {
            return NativeMethods.llama_decode(context, batch);
        }
        finally
        {
            t_abortFlag = before;
        }
    }

    // llama.cpp logs in pieces (a line may come in several calls); pass on whole lines only.
    private static void OnLog(LLamaLogLevel level, string piece)
    {
        Action<LlamaLogLevel, string>? log = s_log;
        if (log is null || piece is null)
        {
            return;
        }

        lock (s_pendingLog)
        {
            if (s_pendingLog.Length == 0 && level != LLamaLogLevel.Continue)
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

        // llama.cpp logs on the thread that called it: an abort this thread's decode was asked for is expected.
        int* abortFlag = t_abortFlag;
        bool aborting = abortFlag is not null && Volatile.Read(ref *abortFlag) != 0;
        LlamaLogLevel mapped = level switch
        {
            _ when aborting => LlamaLogLevel.Debug,
            LLamaLogLevel.Error => LlamaLogLevel.Error,
            LLamaLogLevel.Warning => LlamaLogLevel.Warning,
            LLamaLogLevel.Info => LlamaLogLevel.Information,
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

    /// <summary>
    /// Lowers the calling thread's priority (nice 10 on Linux; nothing elsewhere), with the threads it starts after
    /// (llama.cpp's OpenMP team among them): for loads and warm-ups in the background, so that on a machine with few
    /// cores the requests answered meanwhile (a cancel, say) get the CPU first.
    /// </summary>
    public static void LowerCurrentThreadPriority()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }

        try
        {
            // PRIO_PROCESS with a thread id sets that thread's nice value alone. Raising it needs no privilege.
            _ = NativeMethods.setpriority(0, NativeMethods.gettid(), 10);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            // An old libc: the thread keeps its priority.
        }
    }
}
