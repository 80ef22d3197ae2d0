using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Clients;

/// <summary>Stored sessions through acpx: a session outlives its agent process, is listed, and continues.</summary>
public sealed class AcpxSessionTests : IDisposable
{
    private readonly Acpx _acpx = new();

    public void Dispose() => _acpx.Dispose();

    [ClientsFact]
    public async Task A_session_outlives_the_agent_is_listed_and_continues_with_its_history()
    {
        string script = _acpx.Script("script", "<|channel|>final<|message|>Noted: PELICAN.<|return|>", "<|channel|>final<|message|>It was PELICAN.<|return|>");
        string log = Path.Combine(_acpx.Workspace, "prompts.log");
        string agent = Acpx.Agent(script, "--prompt-log", log);

        ProcessResult created = await _acpx.RunAsync(agent, "sessions", "new");
        ProcessResult first = await _acpx.RunAsync(agent, "--approve-all", "prompt", "Remember the word PELICAN");
        // The agent ends with acpx's queue owner: the next command starts a fresh one, which must find the session on disk.
        _acpx.EndQueueOwners();
        ProcessResult listed = await _acpx.RunAsync(agent, "sessions", "list");
        ProcessResult second = await _acpx.RunAsync(agent, "--approve-all", "prompt", "Which word was it?");

        foreach (ProcessResult step in new[] { created, first, listed, second })
        {
            Assert.True(step.ExitCode == 0, step.Output + step.Error);
        }

        Assert.Contains("Remember the word PELICAN", listed.Output, StringComparison.Ordinal);
        Assert.Contains("[done] end_turn", second.Output, StringComparison.Ordinal);
        string[] prompts = (await File.ReadAllTextAsync(log)).Split("--- prompt ", StringSplitOptions.RemoveEmptyEntries);
        // Each agent process numbers its scripted rounds from 1: two first rounds mean two processes.
        Assert.Equal(2, prompts.Count(p => p.StartsWith("1 ---", StringComparison.Ordinal)));
        string last = prompts[^1];
        Assert.Contains("Which word was it?", last, StringComparison.Ordinal);
        Assert.Contains("Remember the word PELICAN", last, StringComparison.Ordinal);
        Assert.Contains("Noted: PELICAN.", last, StringComparison.Ordinal);
    }
}
