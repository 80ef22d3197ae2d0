using Acp.GptOss.Tests.Support;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Tests;

/// <summary><c>acp-gptoss doctor</c> and <c>acp-gptoss dev make-model</c>, run as a user runs them.</summary>
public sealed class DoctorAndDevCommandTests
{
    [ModelFact]
    public async Task Doctor_reports_the_runtime_memory_disk_and_the_models_where_users_keep_them()
    {
        using var home = new TempHome();
        string lmStudio = Directory.CreateDirectory(Path.Combine(home.LmStudio, "openai", "gpt-oss")).FullName;
        File.Copy(TestModels.Vocabulary, Path.Combine(lmStudio, "gpt-oss-vocab.gguf"));
        await File.WriteAllTextAsync(Path.Combine(home.LmStudio, "broken.gguf"), "This was a model once, before the download broke off.");

        ProcessResult result = await ChildProcess.RunAsync("dotnet", [Repository.Agent, "doctor"], environment: home.ProcessEnvironment());

        Assert.Equal(0, result.ExitCode);
        Assert.Matches(@"llama\.cpp runtime: /\S+/runtimes/linux-x64/native/(noavx|avx|avx2|avx512)/libllama\.so \(LLamaSharp\.Backend\.Cpu 0\.30\.0\)", result.Output);
        Assert.Matches(@"build: (noavx|avx|avx2|avx512) \(the AVX level LLamaSharp chose for this CPU\), ggml \d+\.\d+\.\d+, commit [0-9a-f]+", result.Output);
        Assert.Contains("device: CPU: ", result.Output, StringComparison.Ordinal);
        Assert.Contains("GPU backends: none (every layer runs on the CPU)", result.Output, StringComparison.Ordinal);
        Assert.Matches(@"RAM: \d+\.\d GB total, \d+\.\d GB available", result.Output);
        Assert.Matches(@"disk: \d+\.\d GB free", result.Output);
        Assert.Contains("models (2 found", result.Output, StringComparison.Ordinal);
        Assert.Contains($"{lmStudio}/gpt-oss-vocab.gguf (gpt-oss, ", result.Output, StringComparison.Ordinal);
        Assert.Contains("broken.gguf (unusable: ", result.Output, StringComparison.Ordinal);
    }

    [ModelFact]
    public async Task Make_model_writes_a_chain_model_that_passes_preflight_and_prints_its_path()
    {
        using var model = new TempFile(".gguf");

        CliResult result = await CliRunner.RunAsync(
            "dev", "make-model", "--vocabulary", TestModels.VocabularyJson, "--out", model.Path, "--chain", "<|channel|>final<|message|>Hi<|return|>");

        Assert.Equal(0, result.ExitCode);
        Assert.Equal(model.Path + "\n", result.Text);
        GgufFile file = GgufFile.Read(model.Path);
        Assert.Equal("gpt-oss", file.Architecture);
        Assert.Equal(201088, file.GetArrayLength("tokenizer.ggml.tokens"));
        Assert.Contains(file.Tensors, t => t.Name == "blk.0.ffn_down_exps.weight");
    }

    [ModelFact]
    public async Task Make_model_refuses_a_chain_that_needs_two_successors_for_one_token()
    {
        using var model = new TempFile(".gguf");

        CliResult result = await CliRunner.RunAsync(
            "dev", "make-model", "--vocabulary", TestModels.VocabularyJson, "--out", model.Path,
            "--chain", "<|channel|>analysis<|message|>Hm.<|end|><|start|>assistant<|channel|>final<|message|>Hi<|return|>");

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("different successors", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(model.Path));
    }

    [Fact]
    public async Task Make_model_without_a_vocabulary_file_is_a_clear_error()
    {
        CliResult result = await CliRunner.RunAsync("dev", "make-model", "--vocabulary", "/no/such/tokenizer.json", "--out", "/tmp/never.gguf");

        Assert.Equal(1, result.ExitCode);
        Assert.Empty(result.Output);
        Assert.Contains("/no/such/tokenizer.json", result.Error, StringComparison.Ordinal);
    }
}
