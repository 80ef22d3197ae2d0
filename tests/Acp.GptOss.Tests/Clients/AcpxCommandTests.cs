using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Clients;

/// <summary>Slash commands through acpx, a real headless ACP client, with the scripted engine (docs/acp.md §4.5).</summary>
public sealed class AcpxCommandTests : IDisposable
{
    private readonly Acpx _acpx = new();

    [ClientsFact]
    public async Task Effort_then_status_answer_without_a_model_call_and_the_traffic_follows_the_schema()
    {
        string script = _acpx.Script("answer.txt", "<|channel|>final<|message|>ok<|return|>");
        string log = Path.Combine(_acpx.Workspace, "prompts.log");
        string agent = Acpx.Agent(script, "--prompt-log", log);

        ProcessResult created = await _acpx.RunAsync(agent, "sessions", "new");
        ProcessResult effort = await _acpx.RunAsync(agent, "--format", "json", "--approve-all", "prompt", "/effort high");
        ProcessResult status = await _acpx.RunAsync(agent, "--approve-all", "prompt", "/status");
        ProcessResult answered = await _acpx.RunAsync(agent, "--approve-all", "prompt", "hello");

        foreach (ProcessResult step in new[] { created, effort, status, answered })
        {
            Assert.True(step.ExitCode == 0, step.Output + step.Error);
        }

        ProcessResult validation = await AcpValidator.RunAsync(effort.Output);
        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error);
        Assert.Contains("Reasoning effort: high.", effort.Output, StringComparison.Ordinal);
        Assert.Contains("\"config_option_update\"", effort.Output, StringComparison.Ordinal);
        Assert.Contains("**Last route**: none yet", status.Output, StringComparison.Ordinal);
        Assert.Contains("[done] end_turn", status.Output, StringComparison.Ordinal);
        Assert.Contains("ok", answered.Output, StringComparison.Ordinal);

        // One model call in all: the commands made none, and the prompt after them reads the effort they set.
        string prompt = Assert.Single((await File.ReadAllTextAsync(log)).Split("--- prompt ", StringSplitOptions.RemoveEmptyEntries));
        Assert.Contains("\n\nReasoning: high\n\n", prompt, StringComparison.Ordinal);
        Assert.DoesNotContain("/status", prompt, StringComparison.Ordinal);
    }

    public void Dispose() => _acpx.Dispose();
}
