namespace Acp.GptOss.Models;

/// <summary>The models the agent runs, and where each was found.</summary>
/// <param name="GptOss">The GPT-OSS model (for a split set, its first part), or null when none was named or found.</param>
/// <param name="GptOssSource">Where it came from (<see cref="ModelSources"/>): --model, GPT_OSS_GGUF_PATH, config, huggingface, lmstudio, ...</param>
/// <param name="Fast">The fast model, or null: it is only ever named (--fast-model or the config file), never guessed.</param>
/// <param name="FastSource">Where it came from: --fast-model or config.</param>
internal sealed record ModelLocation(string? GptOss, string? GptOssSource, string? Fast, string? FastSource);

/// <summary>
/// Decides which models the agent runs. The GPT-OSS model, first found wins: <c>--model</c>, GPT_OSS_GGUF_PATH, the
/// config file's <c>model</c>, then the first loadable GGUF of architecture gpt-oss in the search roots, preferring
/// <see cref="ModelDiscovery.PreferredRepository"/>. A model that is named is taken as named: if it is missing or
/// damaged the engine's preflight says so, rather than another model being run in its place.
/// </summary>
internal static class ModelLocator
{
    /// <summary>Resolves the models for this process: its environment, home folder and config file.</summary>
    /// <param name="gptOssFromCommandLine">The <c>--model</c> option, or null.</param>
    /// <param name="fastFromCommandLine">The <c>--fast-model</c> option, or null.</param>
    /// <exception cref="ModelConfigException">The config file is malformed; the message names it.</exception>
    public static ModelLocation Resolve(string? gptOssFromCommandLine, string? fastFromCommandLine) =>
        Resolve(gptOssFromCommandLine, fastFromCommandLine, ModelEnvironment.FromProcess());

    /// <summary>Resolves the models in <paramref name="environment"/>.</summary>
    /// <exception cref="ModelConfigException">The config file is malformed; the message names it.</exception>
    public static ModelLocation Resolve(string? gptOssFromCommandLine, string? fastFromCommandLine, ModelEnvironment environment) =>
        Resolve(gptOssFromCommandLine, fastFromCommandLine, environment, ModelConfig.Load(environment));

    /// <summary>Resolves the models in <paramref name="environment"/> with a config already read.</summary>
    public static ModelLocation Resolve(string? gptOssFromCommandLine, string? fastFromCommandLine, ModelEnvironment environment, ModelConfig config)
    {
        ArgumentNullException.ThrowIfNull(environment);
        ArgumentNullException.ThrowIfNull(config);
        (string? gptOss, string? gptOssSource) =
            gptOssFromCommandLine is { Length: > 0 } option ? (Path.GetFullPath(option), ModelSources.ModelOption)
            : environment.GgufPathVariable is { } variable ? (Path.GetFullPath(variable), ModelSources.EnvironmentVariable)
            : config.Model is { } configured ? (configured, ModelSources.Config)
            : Discover(environment) is { } found ? (found.Path, found.Source)
            : (null, null);
        (string? fast, string? fastSource) =
            fastFromCommandLine is { Length: > 0 } fastOption ? (Path.GetFullPath(fastOption), ModelSources.FastModelOption)
            : config.FastModel is { } fastConfigured ? (fastConfigured, ModelSources.Config)
            : (null, null);
        return new ModelLocation(gptOss, gptOssSource, fast, fastSource);
    }

    /// <summary>
    /// The GPT-OSS model auto-discovery picks: the first loadable gpt-oss GGUF in search order, the preferred
    /// repository's before any other. Headers are read one at a time, in that order, until one qualifies.
    /// </summary>
    public static FoundModel? Discover(ModelEnvironment environment)
    {
        var discovery = new ModelDiscovery(environment);

        // OrderBy is stable: within each group the scan's own order (root, snapshot main points to, path) holds.
        return discovery.Scan()
            .Where(c => !c.IsPartialDownload)
            .OrderBy(c => string.Equals(c.Repository, ModelDiscovery.PreferredRepository, StringComparison.OrdinalIgnoreCase) ? 0 : 1)
            .Select(ModelDiscovery.Describe)
            .FirstOrDefault(m => m.IsGptOss);
    }
}
