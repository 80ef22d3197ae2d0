using Acp.GptOss.Models;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Models;

/// <summary>Finding GGUFs where people keep them, and deciding which the agent runs.</summary>
public sealed class ModelDiscoveryTests : IDisposable
{
    private readonly TempHome _home = new();

    public void Dispose() => _home.Dispose();

    [Fact]
    public void A_Hugging_Face_model_is_found_through_its_snapshot_link_with_the_blob_size_and_repository()
    {
        byte[] content = TempHome.GgufBytes();
        string snapshot = TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "gpt-oss-20b-mxfp4.gguf", content);

        FoundModel model = Assert.Single(Find());

        Assert.Equal(snapshot, model.Path);
        Assert.Equal(ModelSources.HuggingFace, model.Source);
        Assert.Equal(DiskState.Usable, model.State);
        Assert.Equal(content.Length, model.Bytes);
        Assert.Equal("gpt-oss", model.Architecture);
        Assert.Equal("ggml-org/gpt-oss-20b-GGUF", model.Repository);
    }

    [Fact]
    public void The_cache_is_where_HF_HUB_CACHE_or_HF_HOME_or_XDG_CACHE_HOME_put_it()
    {
        Assert.Equal(_home.HuggingFaceCache, _home.Environment.HuggingFaceCache);
        _home.Variables["XDG_CACHE_HOME"] = "/xdg";
        Assert.Equal("/xdg/huggingface/hub", _home.Environment.HuggingFaceCache);
        _home.Variables["HF_HOME"] = "~/hf";
        Assert.Equal(Path.Combine(_home.Home, "hf", "hub"), _home.Environment.HuggingFaceCache);
        _home.Variables["HF_HUB_CACHE"] = "/hub";
        Assert.Equal("/hub", _home.Environment.HuggingFaceCache);
    }

    [Fact]
    public void A_split_set_is_one_model_listed_by_its_first_part_with_the_size_of_all_parts()
    {
        string folder = Path.Combine(_home.LmStudio, "ggml-org", "gpt-oss-120b-GGUF");
        string first = TempHome.WriteSplit(folder, "gpt-oss-120b-mxfp4", 3);

        FoundModel model = Assert.Single(Find());

        Assert.Equal(first, model.Path);
        Assert.Equal(DiskState.Usable, model.State);
        Assert.Equal(3, model.Parts);
        Assert.Equal(Directory.EnumerateFiles(folder).Sum(f => new FileInfo(f).Length), model.Bytes);
        Assert.Equal("gpt-oss", model.Architecture);
        Assert.Equal("ggml-org/gpt-oss-120b-GGUF", model.Repository);
    }

    [Fact]
    public void A_split_set_in_the_Hugging_Face_cache_is_one_model_too()
    {
        string staging = Path.Combine(_home.Root, "staging");
        TempHome.WriteSplit(staging, "big", 2);
        foreach (string part in Directory.EnumerateFiles(staging))
        {
            TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "org/big-GGUF", Path.GetFileName(part), File.ReadAllBytes(part));
        }

        FoundModel model = Assert.Single(Find());

        Assert.EndsWith("big-00001-of-00002.gguf", model.Path, StringComparison.Ordinal);
        Assert.Equal(DiskState.Usable, model.State);
        Assert.Equal(Directory.EnumerateFiles(staging).Sum(f => new FileInfo(f).Length), model.Bytes);
    }

    [Fact]
    public void A_split_set_with_parts_missing_and_a_partial_download_are_incomplete()
    {
        string folder = Path.Combine(_home.LmStudio, "org", "model-GGUF");
        string first = TempHome.WriteSplit(folder, "model", 3, missing: 2);
        string blobs = Path.Combine(_home.HuggingFaceCache, "models--org--other", "blobs");
        Directory.CreateDirectory(blobs);
        string partial = Path.Combine(blobs, new string('a', 64) + ".incomplete");
        File.WriteAllBytes(partial, new byte[1234]);

        List<FoundModel> found = Find();

        FoundModel download = Assert.Single(found, m => m.Path == partial);
        Assert.Equal(DiskState.Incomplete, download.State);
        Assert.Equal(1234, download.Bytes);
        Assert.Equal("org/other", download.Repository);
        FoundModel split = Assert.Single(found, m => m.Path == first);
        Assert.Equal(DiskState.Incomplete, split.State);
        Assert.Contains("2 of 3 parts present; missing model-00002-of-00003.gguf", split.Problem, StringComparison.Ordinal);
        Assert.Equal(2, found.Count);
    }

    [Fact]
    public void A_split_set_whose_first_part_is_missing_is_still_listed_by_that_part()
    {
        string folder = Path.Combine(_home.LmStudio, "org", "model-GGUF");
        string first = TempHome.WriteSplit(folder, "model", 2, missing: 1);

        FoundModel model = Assert.Single(Find());

        Assert.Equal(first, model.Path);
        Assert.Equal(DiskState.Incomplete, model.State);
    }

    [Fact]
    public void Both_LM_Studio_folders_are_searched_and_damaged_files_and_dangling_links_are_errors()
    {
        string newer = TempHome.WriteGguf(Path.Combine(_home.LmStudio, "lmstudio-community", "qwen-GGUF", "qwen.gguf"), "qwen2");
        string older = TempHome.WriteGguf(Path.Combine(_home.Home, ".cache", "lm-studio", "models", "a", "b", "old.gguf"));
        string broken = Path.Combine(_home.LmStudio, "broken.gguf");
        File.WriteAllText(broken, "This was a model once, before the download broke off.");
        string dangling = Path.Combine(_home.Home, "models", "gone.gguf");
        Directory.CreateDirectory(Path.GetDirectoryName(dangling)!);
        File.CreateSymbolicLink(dangling, "/no/such/blob");

        List<FoundModel> found = Find();

        Assert.Equal([broken, newer, older, dangling], found.Select(m => m.Path));
        Assert.Equal([ModelSources.LmStudio, ModelSources.LmStudio, ModelSources.LmStudio, ModelSources.HomeModels], found.Select(m => m.Source));
        Assert.Equal([DiskState.Error, DiskState.Usable, DiskState.Usable, DiskState.Error], found.Select(m => m.State));
        Assert.Equal("qwen2", found[1].Architecture);
        Assert.Equal("lmstudio-community/qwen-GGUF", found[1].Repository);
        Assert.Contains("is not a GGUF file", found[0].Problem, StringComparison.Ordinal);
        Assert.Contains("is a link to /no/such/blob, which does not exist", found[3].Problem, StringComparison.Ordinal);
    }

    [Fact]
    public void Auto_discovery_prefers_ggml_orgs_20b_then_the_Hugging_Face_cache_and_skips_other_architectures_and_damage()
    {
        string lmStudio = TempHome.WriteGguf(Path.Combine(_home.LmStudio, "openai", "gpt-oss", "gpt-oss.gguf"));
        TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "aaa/damaged-gpt-oss", "a.gguf", [.. TempHome.GgufBytes().Take(100)]);
        TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "aab/llama", "llama.gguf", TempHome.GgufBytes("llama"));
        string other = TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "abc/gpt-oss-finetune", "ft.gguf", TempHome.GgufBytes());
        string preferred = TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "gpt-oss-20b-mxfp4.gguf", TempHome.GgufBytes());

        Assert.Equal((preferred, ModelSources.HuggingFace), Resolved());

        Directory.Delete(Path.Combine(_home.HuggingFaceCache, "models--ggml-org--gpt-oss-20b-GGUF"), recursive: true);
        Assert.Equal((other, ModelSources.HuggingFace), Resolved());

        Directory.Delete(Path.Combine(_home.HuggingFaceCache, "models--abc--gpt-oss-finetune"), recursive: true);
        Assert.Equal((lmStudio, ModelSources.LmStudio), Resolved());

        File.Delete(lmStudio);
        Assert.Equal((null, null), Resolved());
    }

    [Fact]
    public void Auto_discovery_prefers_the_snapshot_main_points_to()
    {
        byte[] older = TempHome.GgufBytes();
        byte[] newer = [.. TempHome.GgufBytes(), 0];
        TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "m.gguf", older, commit: new string('0', 40));
        string main = TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "m.gguf", newer, commit: new string('f', 40));

        Assert.Equal(main, Resolved().Path);
    }

    [Fact]
    public void The_model_option_beats_the_variable_which_beats_the_config_file_which_beats_discovery()
    {
        string discovered = TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "m.gguf", TempHome.GgufBytes());
        Assert.Equal((discovered, ModelSources.HuggingFace), Resolved());

        _home.WriteConfig("""{"model": "models/configured.gguf"}""");
        Assert.Equal((Path.Combine(_home.ConfigDirectory, "models", "configured.gguf"), ModelSources.Config), Resolved());

        _home.Variables["GPT_OSS_GGUF_PATH"] = "/from/variable.gguf";
        Assert.Equal(("/from/variable.gguf", ModelSources.EnvironmentVariable), Resolved());

        Assert.Equal(("/from/option.gguf", ModelSources.ModelOption), Resolved("/from/option.gguf"));
    }

    [Fact]
    public void The_fast_model_comes_from_its_option_or_the_config_file_and_is_never_guessed()
    {
        TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "m.gguf", TempHome.GgufBytes());
        TempHome.WriteGguf(Path.Combine(_home.LmStudio, "org", "small", "small.gguf"), "qwen3");

        ModelLocation none = ModelLocator.Resolve(null, null, _home.Environment);
        Assert.Null(none.Fast);
        Assert.Null(none.FastSource);

        _home.WriteConfig("""
            // Comments and trailing commas are fine in a file people write.
            {"fastModel": "~/small.gguf", "somethingElse": true,}
            """);
        ModelLocation configured = ModelLocator.Resolve(null, null, _home.Environment);
        Assert.Equal((Path.Combine(_home.Home, "small.gguf"), ModelSources.Config), (configured.Fast, configured.FastSource));

        ModelLocation option = ModelLocator.Resolve(null, "/opt/fast.gguf", _home.Environment);
        Assert.Equal(("/opt/fast.gguf", ModelSources.FastModelOption), (option.Fast, option.FastSource));
    }

    [Theory]
    [InlineData("{\"model\": ", "is not valid JSON")]
    [InlineData("[\"model.gguf\"]", "must hold a JSON object")]
    [InlineData("{\"model\": 5}", "\"model\" must be the path of a GGUF file, not 5")]
    [InlineData("{\"fastModel\": \"\"}", "\"fastModel\" must be the path of a GGUF file")]
    public void A_malformed_config_file_is_a_clear_error_that_names_it(string json, string reason)
    {
        _home.WriteConfig(json);

        ModelConfigException e = Assert.Throws<ModelConfigException>(() => ModelLocator.Resolve("/a/model.gguf", null, _home.Environment));

        Assert.Contains(Path.Combine(_home.ConfigDirectory, "config.json"), e.Message, StringComparison.Ordinal);
        Assert.Contains(reason, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_named_part_of_a_split_set_stands_for_the_whole_set()
    {
        string folder = Path.Combine(_home.Root, "elsewhere");
        string first = TempHome.WriteSplit(folder, "m", 2);

        FoundModel model = ModelDiscovery.Describe(ModelDiscovery.Named(Path.Combine(folder, "m-00002-of-00002.gguf"), ModelSources.ModelOption));

        Assert.Equal(first, model.Path);
        Assert.Equal(DiskState.Usable, model.State);
        Assert.Equal(2, model.Parts);
    }

    [Fact]
    public void Named_models_come_first_and_a_file_found_twice_is_listed_once()
    {
        string snapshot = TempHome.PlaceInHuggingFace(_home.HuggingFaceCache, "ggml-org/gpt-oss-20b-GGUF", "m.gguf", TempHome.GgufBytes());
        _home.WriteConfig($$"""{"model": "{{snapshot}}"}""");
        var discovery = new ModelDiscovery(_home.Environment);

        List<FoundModel> found = discovery.FindAll(discovery.Named("/missing.gguf", null, ModelConfig.Load(_home.Environment)));

        Assert.Equal(["/missing.gguf", snapshot], found.Select(m => m.Path));
        Assert.Equal([ModelSources.ModelOption, ModelSources.Config], found.Select(m => m.Source));
        Assert.Equal(DiskState.Error, found[0].State);
    }

    private List<FoundModel> Find()
    {
        var discovery = new ModelDiscovery(_home.Environment);
        return discovery.FindAll([]);
    }

    private (string? Path, string? Source) Resolved(string? option = null)
    {
        ModelLocation location = ModelLocator.Resolve(option, null, _home.Environment);
        return (location.GptOss, location.GptOssSource);
    }
}
