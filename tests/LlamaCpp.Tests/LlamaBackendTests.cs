using LlamaCpp.Native;

namespace LlamaCpp.Tests;

/// <summary>The native runtime the build fetched, found and started the way the agent starts it.</summary>
public sealed class LlamaBackendTests
{
    [Fact]
    public void The_runtime_beside_the_tests_is_the_pinned_release_with_a_cpu_backend_for_this_processor()
    {
        LlamaBackend backend = LlamaBackend.Initialize();

        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), backend.NativeDirectory);
        Assert.Equal("v0.5.0", backend.Version);
        Assert.StartsWith("libggml-cpu-", backend.CpuBackend, StringComparison.Ordinal);
        Assert.Contains(backend.Devices, d => d.StartsWith("CPU", StringComparison.Ordinal));
        Assert.NotEqual("", backend.SystemInfo);
        Assert.Same(backend, LlamaBackend.Initialize());
    }

    [Fact]
    public unsafe void The_cpu_backend_lends_its_thread_pools_and_they_take_our_settings()
    {
        LlamaBackend backend = LlamaBackend.Initialize();
        GgmlThreadpoolParams parameters;

        NativeMethods.ggml_threadpool_params_init(&parameters, 3);
        using SafeGgmlThreadpoolHandle? threadpool = SafeGgmlThreadpoolHandle.Create(backend, 2);

        Assert.True(backend.ThreadpoolNew != null);
        Assert.True(backend.ThreadpoolFree != null);
        Assert.Equal((3, 0, 50u, (byte)0, (byte)0), (parameters.Threads, parameters.Priority, parameters.Poll, parameters.StrictCpu, parameters.Paused));
        Assert.NotNull(threadpool);
        Assert.False(threadpool.IsInvalid);
    }

    [Fact]
    public void A_missing_runtime_is_an_error_that_names_the_package_and_every_path_tried()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-runtime-{Guid.NewGuid():N}");
        string empty = Directory.CreateTempSubdirectory("empty-runtime-").FullName;
        try
        {
            var noFolder = Assert.Throws<LlamaException>(() => LlamaBackend.LocateRuntime(missing, out _));
            var noLibrary = Assert.Throws<LlamaException>(() => LlamaBackend.LocateRuntime(empty, out _));

            Assert.Contains(LlamaBackend.RuntimePackage, noFolder.Message, StringComparison.Ordinal);
            Assert.Contains($"{missing} (no such folder)", noFolder.Message, StringComparison.Ordinal);
            Assert.Contains($"{empty} (no libllama*.so)", noLibrary.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Fact]
    public void Without_a_configured_folder_the_runtime_is_looked_for_beside_the_application()
    {
        string found = LlamaBackend.LocateRuntime(null, out List<string> tried);

        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native"), found);
        Assert.Equal($"{found} (found)", Assert.Single(tried));
    }
}
