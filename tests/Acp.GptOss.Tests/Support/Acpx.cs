using System.Diagnostics;
using System.Text.Json;

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

    /// <summary>
    /// acpx's arguments. The queue owner (acpx's background process that keeps the agent between commands) lives
    /// longer than any gap between one test's commands on a loaded machine: a command that reaches an owner whose
    /// idle time ran out fails ("Queue owner is shutting down") or starts a fresh agent. <see cref="Dispose"/> ends it.
    /// </summary>
    public static string[] Arguments(string agent, string[] args) => [Repository.Acpx, "--agent", agent, "--ttl", "120", .. args];

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
        EndQueueOwners();
        Directory.Delete(Home, recursive: true);
        Directory.Delete(Workspace, recursive: true);
    }

    /// <summary>Ends acpx's queue owners and so their agents, as a restart would. Each owner writes its pid to a lock
    /// file under this home (~/.acpx/queues/*.lock); its agent is its child.</summary>
    public void EndQueueOwners()
    {
        string queues = Path.Combine(Home, ".acpx", "queues");
        if (!Directory.Exists(queues))
        {
            return;
        }

        foreach (string lockFile in Directory.EnumerateFiles(queues, "*.lock"))
        {
            try
            {
                using JsonDocument owner = JsonDocument.Parse(File.ReadAllText(lockFile));
                using Process process = Process.GetProcessById(owner.RootElement.GetProperty("pid").GetInt32());
                process.Kill(entireProcessTree: true);
            }
            catch (Exception e) when (e is IOException or JsonException or KeyNotFoundException or InvalidOperationException or ArgumentException or System.ComponentModel.Win32Exception)
            {
                // Gone already, or a lock file being rewritten: nothing left to end.
            }
        }
    }
}
