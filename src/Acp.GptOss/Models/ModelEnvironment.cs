using Acp.GptOss.Hosting;

namespace Acp.GptOss.Models;

/// <summary>
/// Everything model discovery and download read from the machine: environment variables, the home folder and the
/// config folder. Tests build one over a temporary folder, so they never see the real home or the network.
/// </summary>
/// <remarks>Immutable; thread-safe.</remarks>
internal sealed class ModelEnvironment
{
    /// <summary>The Hugging Face Hub, where <c>HF_ENDPOINT</c> does not name a mirror.</summary>
    public static readonly Uri DefaultEndpoint = new("https://huggingface.co");

    private static readonly string[] s_truthy = ["1", "ON", "YES", "TRUE"];

    /// <summary>Creates an environment.</summary>
    /// <param name="variables">Reads one environment variable; null when it is not set.</param>
    /// <param name="home">The user's home folder.</param>
    /// <param name="configDirectory">Where <c>config.json</c> lives.</param>
    public ModelEnvironment(Func<string, string?> variables, string home, string configDirectory)
    {
        Variables = variables;
        Home = home;
        ConfigDirectory = configDirectory;
    }

    /// <summary>Reads one environment variable; null when it is not set.</summary>
    public Func<string, string?> Variables { get; }

    /// <summary>The user's home folder.</summary>
    public string Home { get; }

    /// <summary>Where <c>config.json</c> lives.</summary>
    public string ConfigDirectory { get; }

    /// <summary>The config file: <c>config.json</c> in <see cref="ConfigDirectory"/>.</summary>
    public string ConfigFile => Path.Combine(ConfigDirectory, "config.json");

    /// <summary><c>GPT_OSS_GGUF_PATH</c>, when set and not empty.</summary>
    public string? GgufPathVariable => Variable("GPT_OSS_GGUF_PATH");

    /// <summary>
    /// The Hugging Face hub cache, as huggingface_hub finds it: <c>HF_HUB_CACHE</c>, the older
    /// <c>HUGGINGFACE_HUB_CACHE</c>, <c>$HF_HOME/hub</c>, <c>$XDG_CACHE_HOME/huggingface/hub</c>, else
    /// <c>~/.cache/huggingface/hub</c>.
    /// </summary>
    public string HuggingFaceCache =>
        ExpandHome(Variable("HF_HUB_CACHE") ?? Variable("HUGGINGFACE_HUB_CACHE") ?? Path.Combine(HuggingFaceHome, "hub"));

    /// <summary>The Hub or a mirror: <c>HF_ENDPOINT</c>, else https://huggingface.co.</summary>
    /// <exception cref="ModelDownloadException"><c>HF_ENDPOINT</c> is not an http(s) address.</exception>
    public Uri HuggingFaceEndpoint
    {
        get
        {
            if (Variable("HF_ENDPOINT") is not { } value)
            {
                return DefaultEndpoint;
            }

            return Uri.TryCreate(value.TrimEnd('/'), UriKind.Absolute, out Uri? endpoint) && (endpoint.Scheme == Uri.UriSchemeHttps || endpoint.Scheme == Uri.UriSchemeHttp)
                ? endpoint
                : throw new ModelDownloadException($"HF_ENDPOINT is \"{value}\", which is not an http(s) address.");
        }
    }

    /// <summary>
    /// The user's Hugging Face token: <c>HF_TOKEN</c>, the older <c>HUGGING_FACE_HUB_TOKEN</c>, else the file
    /// <c>huggingface-cli login</c> writes (<c>HF_TOKEN_PATH</c>, by default <c>$HF_HOME/token</c>).
    /// </summary>
    public string? HuggingFaceToken
    {
        get
        {
            if ((Variable("HF_TOKEN") ?? Variable("HUGGING_FACE_HUB_TOKEN")) is { } token)
            {
                return token.Trim();
            }

            string file = ExpandHome(Variable("HF_TOKEN_PATH") ?? Path.Combine(HuggingFaceHome, "token"));
            try
            {
                return File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } stored ? stored : null;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return null;
            }
        }
    }

    /// <summary><c>HF_HUB_OFFLINE</c> is set to 1 (or ON, YES, TRUE): no network call at all.</summary>
    public bool Offline => Variable("HF_HUB_OFFLINE") is { } value && s_truthy.Contains(value.Trim(), StringComparer.OrdinalIgnoreCase);

    private string HuggingFaceHome => ExpandHome(Variable("HF_HOME") ?? Path.Combine(Variable("XDG_CACHE_HOME") ?? Path.Combine(Home, ".cache"), "huggingface"));

    /// <summary>This process's environment, home and config folder.</summary>
    public static ModelEnvironment FromProcess() =>
        new(Environment.GetEnvironmentVariable, AppDirectories.Home, AppDirectories.Config);

    /// <summary>A path with a leading <c>~/</c> taken as the home folder, as a shell would.</summary>
    public string ExpandHome(string path) =>
        path == "~" ? Home
        : path.StartsWith("~/", StringComparison.Ordinal) ? Path.Combine(Home, path[2..])
        : path;

    private string? Variable(string name) => Variables(name) is { Length: > 0 } value ? value : null;
}
