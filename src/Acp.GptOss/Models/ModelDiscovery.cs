using LlamaCpp.Gguf;

namespace Acp.GptOss.Models;

/// <summary>A GGUF file found on this machine.</summary>
/// <param name="Path">Where it is.</param>
/// <param name="Architecture">Its general.architecture, or null if it is not a readable GGUF.</param>
/// <param name="Bytes">Its size.</param>
/// <param name="Problem">Why it cannot be used, if it cannot.</param>
internal sealed record FoundModel(string Path, string? Architecture, long Bytes, string? Problem);

/// <summary>Looks for GGUF models where people already keep them: GPT_OSS_GGUF_PATH, the Hugging Face cache, LM Studio, llama.cpp.</summary>
internal static class ModelDiscovery
{
    private const int MaxDepth = 6;

    /// <summary>The folders searched, in order.</summary>
    public static IReadOnlyList<string> SearchRoots()
    {
        string home = Environment.GetFolderPath(Environment.SpecialFolder.UserProfile);
        string? hfHome = Environment.GetEnvironmentVariable("HF_HOME");
        return
        [
            hfHome is null ? Path.Combine(home, ".cache", "huggingface", "hub") : Path.Combine(hfHome, "hub"),
            Path.Combine(home, ".lmstudio", "models"),
            Path.Combine(home, ".cache", "lm-studio", "models"),
            Path.Combine(home, ".cache", "llama.cpp"),
            Path.Combine(home, ".local", "share", "acp-gptoss", "models"),
            Path.Combine(home, "models"),
        ];
    }

    /// <summary>Every GGUF found, GPT_OSS_GGUF_PATH first.</summary>
    public static List<FoundModel> Find()
    {
        var paths = new List<string>();
        if (Environment.GetEnvironmentVariable("GPT_OSS_GGUF_PATH") is { Length: > 0 } configured && File.Exists(configured))
        {
            paths.Add(Path.GetFullPath(configured));
        }

        var options = new EnumerationOptions { RecurseSubdirectories = true, MaxRecursionDepth = MaxDepth, IgnoreInaccessible = true, AttributesToSkip = 0 };
        foreach (string root in SearchRoots().Where(Directory.Exists))
        {
            paths.AddRange(Directory.EnumerateFiles(root, "*.gguf", options));
        }

        return [.. paths.Distinct(StringComparer.Ordinal).Select(Describe)];
    }

    private static FoundModel Describe(string path)
    {
        long bytes = new FileInfo(path).Length;
        try
        {
            return new FoundModel(path, GgufFile.Read(path).Architecture, bytes, null);
        }
        catch (Exception e) when (e is GgufFormatException or IOException or UnauthorizedAccessException)
        {
            return new FoundModel(path, null, bytes, e.Message);
        }
    }
}
