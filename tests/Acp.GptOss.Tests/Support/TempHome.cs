using System.Security.Cryptography;
using Acp.GptOss.Models;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Tests.Support;

/// <summary>
/// A home folder of its own, with a config folder and environment variables of its own, so no test reads the real
/// home, the real Hugging Face cache or the process environment. Deleted afterwards.
/// </summary>
internal sealed class TempHome : IDisposable
{
    public TempHome()
    {
        Root = Directory.CreateTempSubdirectory("acp-gptoss-models-").FullName;
        Directory.CreateDirectory(Home);
        Directory.CreateDirectory(ConfigDirectory);
    }

    public string Root { get; }

    public string Home => Path.Combine(Root, "home");

    public string ConfigDirectory => Path.Combine(Root, "config");

    public Dictionary<string, string> Variables { get; } = new(StringComparer.Ordinal);

    public ModelEnvironment Environment => new(name => Variables.GetValueOrDefault(name), Home, ConfigDirectory);

    /// <summary>The Hugging Face cache when no variable moves it.</summary>
    public string HuggingFaceCache => Path.Combine(Home, ".cache", "huggingface", "hub");

    public string LmStudio => Path.Combine(Home, ".lmstudio", "models");

    /// <summary>The variables a child process needs to see this home and nothing of the real one; the Hub is <paramref name="endpoint"/> when given.</summary>
    public Dictionary<string, string> ProcessEnvironment(Uri? endpoint = null) => new(StringComparer.Ordinal)
    {
        ["HOME"] = Home,
        ["XDG_CONFIG_HOME"] = ConfigDirectory,
        ["XDG_CACHE_HOME"] = "",
        ["HF_HOME"] = "",
        ["HF_HUB_CACHE"] = HuggingFaceCache,
        ["HUGGINGFACE_HUB_CACHE"] = "",
        ["HF_ENDPOINT"] = endpoint?.AbsoluteUri ?? "",
        ["HF_TOKEN"] = "",
        ["HUGGING_FACE_HUB_TOKEN"] = "",
        ["HF_HUB_OFFLINE"] = "",
        ["GPT_OSS_GGUF_PATH"] = "",
        ["TERM"] = "dumb",
    };

    public void WriteConfig(string json) => File.WriteAllText(Path.Combine(ConfigDirectory, "config.json"), json);

    public void Dispose() => Directory.Delete(Root, recursive: true);

    /// <summary>A tiny GGUF of <paramref name="architecture"/>: a header and one 32-float tensor.</summary>
    public static string WriteGguf(string path, string architecture = "gpt-oss")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        new GgufWriter()
            .Add("general.architecture", architecture)
            .Add("general.name", Path.GetFileNameWithoutExtension(path))
            .AddTensor("output_norm.weight", [32], GgmlType.F32, s => s.Write(new byte[32 * 4]))
            .Write(path);
        return path;
    }

    /// <summary>The parts of a split model as gguf-split writes them; only the first names the architecture.</summary>
    public static string WriteSplit(string folder, string prefix, int count, string architecture = "gpt-oss", params int[] missing)
    {
        Directory.CreateDirectory(folder);
        for (int part = 1; part <= count; part++)
        {
            if (missing.Contains(part))
            {
                continue;
            }

            var writer = new GgufWriter().Add("split.no", (uint)(part - 1)).Add("split.count", (uint)count);
            if (part == 1)
            {
                writer.Add("general.architecture", architecture);
            }

            writer.AddTensor($"blk.{part}.weight", [32], GgmlType.F32, s => s.Write(new byte[32 * 4]))
                .Write(Path.Combine(folder, SplitGguf.PartName(prefix, part, count)));
        }

        return Path.Combine(folder, SplitGguf.PartName(prefix, 1, count));
    }

    /// <summary>
    /// Puts a file into a Hugging Face cache the way huggingface_hub does: the blob named by its sha256, a relative
    /// link in snapshots/COMMIT, refs/main holding the commit. Returns the snapshot path.
    /// </summary>
    public static string PlaceInHuggingFace(string cache, string repository, string fileName, byte[] content, string commit = FakeHub.TestCommit)
    {
        string folder = Path.Combine(cache, "models--" + repository.Replace("/", "--", StringComparison.Ordinal));
        string sha256 = Convert.ToHexStringLower(SHA256.HashData(content));
        Directory.CreateDirectory(Path.Combine(folder, "blobs"));
        File.WriteAllBytes(Path.Combine(folder, "blobs", sha256), content);
        string snapshot = Path.Combine(folder, "snapshots", commit, fileName);
        Directory.CreateDirectory(Path.GetDirectoryName(snapshot)!);
        File.CreateSymbolicLink(snapshot, Path.Combine("..", "..", "blobs", sha256));
        Directory.CreateDirectory(Path.Combine(folder, "refs"));
        File.WriteAllText(Path.Combine(folder, "refs", "main"), commit);
        return snapshot;
    }

    /// <summary>A tiny GGUF's bytes.</summary>
    public static byte[] GgufBytes(string architecture = "gpt-oss")
    {
        using var file = new TempFile(".gguf");
        return File.ReadAllBytes(WriteGguf(file.Path, architecture));
    }
}
