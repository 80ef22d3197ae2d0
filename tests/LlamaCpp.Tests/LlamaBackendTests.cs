using LLama.Native;

namespace LlamaCpp.Tests;

/// <summary>The native runtime LLamaSharp.Backend.Cpu copies beside the tests, loaded the way the agent loads it.</summary>
public sealed class LlamaBackendTests
{
    [Fact]
    public void The_runtime_beside_the_tests_is_the_packages_build_for_this_processors_avx_level()
    {
        LlamaBackend backend = LlamaBackend.Initialize();

        Assert.Contains(backend.Variant, (string[])["noavx", "avx", "avx2", "avx512"]);
        Assert.Equal(Path.Combine(AppContext.BaseDirectory, "runtimes", "linux-x64", "native", backend.Variant, "libllama.so"), backend.LibraryPath);
        Assert.Equal(Path.GetDirectoryName(backend.LibraryPath), backend.NativeDirectory);
        Assert.NotEqual("", backend.Version);
        Assert.NotEqual("", backend.Commit);
        Assert.Contains(backend.Devices, d => d.Name == "CPU" && !d.IsGpu);
        Assert.NotEqual("", backend.SystemInfo);
        Assert.Same(backend, LlamaBackend.Initialize());
    }

    [Fact]
    public void Only_this_machines_runtimes_are_copied_beside_the_application()
    {
        Assert.Equal(["linux-x64"], Directory.GetDirectories(Path.Combine(AppContext.BaseDirectory, "runtimes")).Select(Path.GetFileName));
        Assert.Empty(Directory.GetFiles(AppContext.BaseDirectory, "libmtmd*", SearchOption.AllDirectories));
    }

    [Fact]
    public void A_configured_runtime_folder_without_libllama_is_an_error_that_names_it()
    {
        string missing = Path.Combine(Path.GetTempPath(), $"no-runtime-{Guid.NewGuid():N}");
        string empty = Directory.CreateTempSubdirectory("empty-runtime-").FullName;
        try
        {
            var noFolder = Assert.Throws<LlamaException>(() => LlamaBackend.LocateConfiguredLibrary(missing));
            var noLibrary = Assert.Throws<LlamaException>(() => LlamaBackend.LocateConfiguredLibrary(empty));

            Assert.Contains($"{missing} has no libllama.so (no such folder)", noFolder.Message, StringComparison.Ordinal);
            Assert.Contains($"{empty} has no libllama.so (folder found)", noLibrary.Message, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(empty);
        }
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(0)]
    [InlineData(7)]
    public void Gpu_layers_reach_llama_cpps_model_parameters(int gpuLayers)
    {
        LlamaBackend.Initialize();

        LLamaModelParams parameters = LlamaModel.CreateParameters(new LlamaModelOptions { GpuLayers = gpuLayers, VocabularyOnly = true });

        Assert.Equal(gpuLayers, parameters.n_gpu_layers);
        Assert.True(parameters.vocab_only);
    }

    [Fact]
    public void By_default_every_layer_is_offloaded_as_llama_cpp_itself_would()
    {
        LlamaBackend.Initialize();

        Assert.Equal(-1, new LlamaModelOptions().GpuLayers);
        Assert.Equal(LLamaModelParams.Default().n_gpu_layers, LlamaModel.CreateParameters(new LlamaModelOptions()).n_gpu_layers);
    }
}
