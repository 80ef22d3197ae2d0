namespace Acp.GptOss.Hosting;

/// <summary>Where the agent keeps its own files, by the XDG base-directory rules.</summary>
internal static class AppDirectories
{
    private const string Name = "acp-gptoss";

    /// <summary>Settings the user writes: <c>$XDG_CONFIG_HOME/acp-gptoss</c>, by default <c>~/.config/acp-gptoss</c>.</summary>
    public static string Config => Path.Combine(Base("XDG_CONFIG_HOME", ".config"), Name);

    /// <summary>What the agent records and keeps: <c>$XDG_STATE_HOME/acp-gptoss</c>, by default <c>~/.local/state/acp-gptoss</c>.</summary>
    public static string State => Path.Combine(Base("XDG_STATE_HOME", Path.Combine(".local", "state")), Name);

    // A relative value is invalid by the specification and is ignored.
    private static string Base(string variable, string underHome) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value && Path.IsPathFullyQualified(value)
            ? value
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), underHome);
}
