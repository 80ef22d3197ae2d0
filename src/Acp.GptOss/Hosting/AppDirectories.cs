namespace Acp.GptOss.Hosting;

/// <summary>Where the agent keeps its own files, by the XDG base-directory rules.</summary>
internal static class AppDirectories
{
    private const string Name = "acp-gptoss";

    /// <summary>Settings the user writes: <c>$XDG_CONFIG_HOME/acp-gptoss</c>, by default <c>~/.config/acp-gptoss</c>.</summary>
    public static string Config => Path.Combine(Base("XDG_CONFIG_HOME", ".config"), Name);

    /// <summary>What the agent records and keeps: <c>$XDG_STATE_HOME/acp-gptoss</c>, by default <c>~/.local/state/acp-gptoss</c>.</summary>
    public static string State => Path.Combine(Base("XDG_STATE_HOME", Path.Combine(".local", "state")), Name);

    /// <summary>
    /// The user's home: <c>$HOME</c> (or the account's home when it is unset), whether or not it exists yet: the
    /// folders under it are made when needed. Never relative: without any home, a folder in the temp directory.
    /// </summary>
    /// <remarks>
    /// Not <c>GetFolderPath(UserProfile)</c> alone: it answers "" for a home that does not exist, and every path
    /// under it would then be relative to the working folder, which for an editor is the user's project: the
    /// journals, and a downloaded model, would land there.
    /// </remarks>
    public static string Home =>
        Environment.GetFolderPath(Environment.SpecialFolder.UserProfile, Environment.SpecialFolderOption.DoNotVerify) is { } home && Path.IsPathFullyQualified(home)
            ? home
            : Path.Combine(Path.GetTempPath(), $"{Name}-home-{Environment.UserName}");

    // A relative value is invalid by the specification and is ignored.
    private static string Base(string variable, string underHome) =>
        Environment.GetEnvironmentVariable(variable) is { Length: > 0 } value && Path.IsPathFullyQualified(value)
            ? value
            : Path.Combine(Home, underHome);
}
