namespace Acp.GptOss.Tests.Support;

/// <summary>acpx, the headless ACP client, with a temporary home and workspace of its own.</summary>
internal sealed class Acpx : IDisposable
{
    /// <summary>acpx's HOME, where it keeps its sessions.</summary>
    public string Home { get; } = Directory.CreateTempSubdirectory("acpx-home-").FullName;

    /// <summary>acpx's working directory, so the session's cwd.</summary>
    public string Workspace { get; } = Directory.CreateTempSubdirectory("acpx-work-").FullName;

    /// <summary>The agent's command line with the scripted engine playing <paramref name="script"/>.</summary>
    public static string Agent(string script, params string[] options) =>
        string.Join(' ', ["dotnet", Repository.Agent, "--engine", "script", "--script", script, .. options]);

    public Task<ProcessResult> RunAsync(string agent, params string[] args) =>
        ChildProcess.RunAsync("node", Arguments(agent, args), Workspace, Environment());

    public ChildProcess Start(string agent, params string[] args) => ChildProcess.Start("node", Arguments(agent, args), Workspace, Environment());

    /// <summary>acpx's arguments; a short queue-owner lifetime, so that its background process does not outlive the test.</summary>
    public static string[] Arguments(string agent, string[] args) => [Repository.Acpx, "--agent", agent, "--ttl", "2", .. args];

    public Dictionary<string, string> Environment() => new() { ["HOME"] = Home };

    /// <summary>Writes a scripted completion, or with <paramref name="rounds"/> a folder of 1.txt, 2.txt, ...; returns its path.</summary>
    public string Script(string name, params string[] rounds)
    {
        string path = Path.Combine(Workspace, name);
        if (rounds.Length == 1 && name.EndsWith(".txt", StringComparison.Ordinal))
        {
            File.WriteAllText(path, rounds[0]);
            return path;
        }

        Directory.CreateDirectory(path);
        for (int i = 0; i < rounds.Length; i++)
        {
            File.WriteAllText(Path.Combine(path, $"{i + 1}.txt"), rounds[i]);
        }

        return path;
    }

    public void Dispose()
    {
        Directory.Delete(Home, recursive: true);
        Directory.Delete(Workspace, recursive: true);
    }
}
