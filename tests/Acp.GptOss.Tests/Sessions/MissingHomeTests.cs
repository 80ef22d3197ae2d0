using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Sessions;

/// <summary>
/// A home folder that does not exist yet (a fresh account, a container's <c>HOME</c>): what the agent keeps goes
/// under it, never into the folder the editor starts the agent in, the user's project. The native executable, as
/// editors run it: <c>dotnet</c> itself would make the home (for its own first-run files) before the agent starts.
/// </summary>
public sealed class MissingHomeTests : IDisposable
{
    private readonly string _folder = Directory.CreateTempSubdirectory("acp-gptoss-home-").FullName;

    public void Dispose() => Directory.Delete(_folder, recursive: true);

    [NativeFact]
    public async Task The_journal_goes_under_a_home_that_does_not_exist_yet_not_into_the_project()
    {
        string home = Path.Combine(_folder, "home");
        string project = Directory.CreateDirectory(Path.Combine(_folder, "project")).FullName;
        string script = Path.Combine(_folder, "answer.txt");
        await File.WriteAllTextAsync(script, "<|channel|>final<|message|>Hello.<|return|>");
        var environment = new Dictionary<string, string>
        {
            ["HOME"] = home,
            ["XDG_STATE_HOME"] = "",
            ["XDG_CONFIG_HOME"] = "",
            ["XDG_CACHE_HOME"] = "",
        };

        await using (AgentHarness agent = AgentHarness.StartNativeIn(project, environment, "--engine", "script", "--script", script))
        {
            string session = await agent.NewSessionAsync(project);
            (_, List<JsonElement> updates) = await agent.PromptAsync(session, "hi");
            Assert.Equal("Hello.", Updates.Text(updates, "agent_message_chunk"));
        }

        Assert.Empty(Directory.EnumerateFileSystemEntries(project));
        string journal = Assert.Single(Directory.EnumerateFiles(Path.Combine(home, ".local", "state", "acp-gptoss", "sessions"), "*.jsonl"));
        Assert.Contains("\"turn_end\"", await File.ReadAllTextAsync(journal), StringComparison.Ordinal);
    }
}
