using Acp.GptOss.Hosting;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Models;

/// <summary>A GGUF (or split set, or partial download) seen in a folder, before anything in it is read.</summary>
/// <param name="Path">The file; for a split set, its first part, whether or not that part is there.</param>
/// <param name="Source">Where it was found (<see cref="ModelSources"/>).</param>
/// <param name="Repository">ORG/REPO where the folder says so.</param>
/// <param name="PartCount">1, or the size of a split set.</param>
/// <param name="IsPartialDownload">A download in progress (a <c>.incomplete</c> blob, say), not a model yet.</param>
internal sealed record ModelCandidate(string Path, string Source, string? Repository = null, int PartCount = 1, bool IsPartialDownload = false);

/// <summary>
/// Looks for GGUF models where people already keep them: the Hugging Face cache, LM Studio, llama.cpp's cache, our
/// own folder and ~/models. Listing folders is cheap; only <see cref="Describe"/> opens a file, and then reads its
/// header alone (the GGUF preflight reader skips tensor data).
/// </summary>
/// <remarks>Stateless apart from its environment; thread-safe.</remarks>
internal sealed class ModelDiscovery(ModelEnvironment environment)
{
    /// <summary>The model auto-discovery prefers: the GPT-OSS 20B that <c>models pull gpt-oss-20b</c> fetches.</summary>
    public const string PreferredRepository = "ggml-org/gpt-oss-20b-GGUF";

    private const int MaxDepth = 6;

    private static readonly EnumerationOptions s_recursive = new()
    {
        RecurseSubdirectories = true, MaxRecursionDepth = MaxDepth, IgnoreInaccessible = true, AttributesToSkip = 0, MatchCasing = MatchCasing.CaseInsensitive,
    };

    private static readonly EnumerationOptions s_flat = new() { IgnoreInaccessible = true, AttributesToSkip = 0 };

    /// <summary>The folders searched, in order: the Hugging Face cache first.</summary>
    public IReadOnlyList<(string Source, string Folder)> Roots
    {
        get
        {
            string home = environment.Home;
            string cache = environment.Variables("XDG_CACHE_HOME") is { Length: > 0 } xdg ? xdg : Path.Combine(home, ".cache");
            return
            [
                (ModelSources.HuggingFace, environment.HuggingFaceCache),
                (ModelSources.LmStudio, Path.Combine(home, ".lmstudio", "models")),
                (ModelSources.LmStudio, Path.Combine(home, ".cache", "lm-studio", "models")),
                (ModelSources.LlamaCpp, environment.Variables("LLAMA_CACHE") is { Length: > 0 } llama ? llama : Path.Combine(cache, "llama.cpp")),
                (ModelSources.AcpGptOss, Path.Combine(home, ".local", "share", "acp-gptoss", "models")),
                (ModelSources.HomeModels, Path.Combine(home, "models")),
            ];
        }
    }

    /// <summary>The folders this process searches, in order.</summary>
    public static IReadOnlyList<string> SearchRoots() => [.. new ModelDiscovery(ModelEnvironment.FromProcess()).Roots.Select(r => r.Folder)];

    /// <summary>
    /// Every model this process finds: GPT_OSS_GGUF_PATH and the config file's models first, then the search roots.
    /// A malformed config file is left out here; <see cref="ModelLocator"/> reports it.
    /// </summary>
    public static List<FoundModel> Find()
    {
        ModelEnvironment environment = ModelEnvironment.FromProcess();
        ModelConfig config;
        try
        {
            config = ModelConfig.Load(environment);
        }
        catch (ModelConfigException)
        {
            config = ModelConfig.Empty;
        }

        var discovery = new ModelDiscovery(environment);
        return discovery.FindAll(discovery.Named(null, null, config));
    }

    /// <summary>
    /// The models named rather than found, in the order they count: <c>--model</c>, GPT_OSS_GGUF_PATH, the config's
    /// model, <c>--fast-model</c>, the config's fast model.
    /// </summary>
    public IEnumerable<ModelCandidate> Named(string? modelOption, string? fastModelOption, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        (string? Path, string Source)[] named =
        [
            (modelOption, ModelSources.ModelOption),
            (environment.GgufPathVariable, ModelSources.EnvironmentVariable),
            (config.Model, ModelSources.Config),
            (fastModelOption, ModelSources.FastModelOption),
            (config.FastModel, ModelSources.Config),
        ];
        return named.Where(n => n.Path is { Length: > 0 }).Select(n => Named(n.Path!, n.Source));
    }

    /// <summary>A file someone named; a part of a split set stands for its whole set.</summary>
    public static ModelCandidate Named(string path, string source)
    {
        string full = Path.GetFullPath(path);
        return SplitGguf.TryParse(Path.GetFileName(full), out string prefix, out _, out int count) && count > 1
            ? new ModelCandidate(Path.Combine(Path.GetDirectoryName(full)!, SplitGguf.PartName(prefix, 1, count)), source, PartCount: count)
            : new ModelCandidate(full, source);
    }

    /// <summary>Every candidate in the search roots, in a fixed order: root by root, then by path.</summary>
    public IEnumerable<ModelCandidate> Scan()
    {
        foreach ((string source, string folder) in Roots)
        {
            List<ModelCandidate> found = source == ModelSources.HuggingFace ? ScanHuggingFace(folder) : ScanFolder(folder, source);
            foreach (ModelCandidate candidate in found)
            {
                yield return candidate;
            }
        }
    }

    /// <summary><paramref name="first"/>, then everything scanned; each file once, under the name it was first met by.</summary>
    public List<FoundModel> FindAll(IEnumerable<ModelCandidate> first)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        return [.. first.Concat(Scan()).Where(c => seen.Add(FileFacts.Canonical(c.Path))).Select(Describe)];
    }

    /// <summary>
    /// The candidate as the preflight sees it: its architecture, size and state. Only headers are read: the first
    /// part's for the architecture, every part's to check that its tensors lie inside it.
    /// </summary>
    public static FoundModel Describe(ModelCandidate candidate)
    {
        ArgumentNullException.ThrowIfNull(candidate);
        if (candidate.IsPartialDownload)
        {
            long partial = FileFacts.Target(candidate.Path)?.Length ?? 0;
            return new FoundModel(candidate.Path, candidate.Source, DiskState.Incomplete, partial)
            {
                Problem = $"a partial download ({ByteSize.Format(partial)} so far)",
                Repository = candidate.Repository,
            };
        }

        string[] parts = PartPaths(candidate);
        FileInfo?[] files = [.. parts.Select(FileFacts.Target)];
        long bytes = files.Sum(f => f?.Length ?? 0);
        var model = new FoundModel(candidate.Path, candidate.Source, DiskState.Usable, bytes) { Repository = candidate.Repository, Parts = parts.Length };
        int[] missing = [.. Enumerable.Range(0, parts.Length).Where(i => files[i] is null)];
        if (missing.Length == parts.Length && parts.Length == 1)
        {
            string? link = new FileInfo(candidate.Path).LinkTarget;
            return model with
            {
                State = DiskState.Error,
                Problem = link is null ? $"{candidate.Path} does not exist." : $"{candidate.Path} is a link to {link}, which does not exist.",
            };
        }

        if (missing.Length > 0)
        {
            return model with
            {
                State = DiskState.Incomplete,
                Problem = $"{parts.Length - missing.Length} of {parts.Length} parts present; missing {string.Join(", ", missing.Select(i => Path.GetFileName(parts[i])))}",
            };
        }

        try
        {
            string? architecture = GgufFile.Read(parts[0]).Architecture;
            foreach (string part in parts.Skip(1))
            {
                GgufFile.Read(part);
            }

            return model with { Architecture = architecture };
        }
        catch (Exception e) when (e is GgufFormatException or IOException or UnauthorizedAccessException)
        {
            return model with { State = DiskState.Error, Problem = e.Message };
        }
    }

    private static string[] PartPaths(ModelCandidate candidate)
    {
        string name = Path.GetFileName(candidate.Path);
        if (candidate.PartCount <= 1 || !SplitGguf.TryParse(name, out string prefix, out _, out int count))
        {
            return [candidate.Path];
        }

        string folder = Path.GetDirectoryName(candidate.Path)!;
        return [.. Enumerable.Range(1, count).Select(part => Path.Combine(folder, SplitGguf.PartName(prefix, part, count)))];
    }

    private static List<ModelCandidate> ScanHuggingFace(string root)
    {
        var found = new List<ModelCandidate>();
        var cache = new HuggingFaceCache(root);
        foreach (string folder in List(() => Directory.EnumerateDirectories(root, "models--*", s_flat)))
        {
            string repository = HuggingFaceCache.RepositoryOf(Path.GetFileName(folder))!;

            // The snapshot main points to first: it is the one a fresh download would give.
            string? main = cache.ReadCommit(repository, "main");
            IEnumerable<string> snapshots = List(() => Directory.EnumerateDirectories(Path.Combine(folder, "snapshots"), "*", s_flat))
                .OrderBy(s => Path.GetFileName(s) == main ? 0 : 1);
            foreach (string snapshot in snapshots)
            {
                found.AddRange(Group(List(() => Directory.EnumerateFiles(snapshot, "*.gguf", s_recursive)), ModelSources.HuggingFace, _ => repository));
            }

            found.AddRange(List(() => Directory.EnumerateFiles(Path.Combine(folder, "blobs"), "*.incomplete", s_flat))
                .Select(partial => new ModelCandidate(partial, ModelSources.HuggingFace, repository, IsPartialDownload: true)));
        }

        return found;
    }

    private static List<ModelCandidate> ScanFolder(string root, string source)
    {
        // LM Studio keeps models as PUBLISHER/REPO/FILE.gguf, the repository's own name.
        Func<string, string?> repository = source == ModelSources.LmStudio
            ? path => Path.GetRelativePath(root, path).Split(Path.DirectorySeparatorChar) is [var publisher, var name, _] ? $"{publisher}/{name}" : null
            : _ => null;
        return Group(List(() => Directory.EnumerateFiles(root, "*.gguf*", s_recursive)), source, repository);
    }

    /// <summary>Files in path order, split sets once by their first part; llama.cpp's downloads in progress as partial.</summary>
    private static List<ModelCandidate> Group(List<string> files, string source, Func<string, string?> repository)
    {
        var found = new List<ModelCandidate>();
        var sets = new HashSet<string>(StringComparer.Ordinal);
        foreach (string file in files)
        {
            string name = Path.GetFileName(file);
            if (name.EndsWith(".gguf.downloadInProgress", StringComparison.OrdinalIgnoreCase))
            {
                found.Add(new ModelCandidate(file, source, repository(file), IsPartialDownload: true));
            }
            else if (!name.EndsWith(".gguf", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            else if (SplitGguf.TryParse(name, out string prefix, out _, out int count) && count > 1)
            {
                string first = Path.Combine(Path.GetDirectoryName(file)!, SplitGguf.PartName(prefix, 1, count));
                if (sets.Add(first))
                {
                    found.Add(new ModelCandidate(first, source, repository(file), count));
                }
            }
            else
            {
                found.Add(new ModelCandidate(file, source, repository(file)));
            }
        }

        return found;
    }

    // A folder that is missing, vanishes or may not be read simply holds nothing.
    private static List<string> List(Func<IEnumerable<string>> enumerate)
    {
        try
        {
            List<string> paths = [.. enumerate()];
            paths.Sort(StringComparer.Ordinal);
            return paths;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return [];
        }
    }
}
