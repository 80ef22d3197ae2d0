using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Clients;

/// <summary>The agent driven by acpx, a real headless ACP client, with the scripted engine.</summary>
public sealed class AcpxTests : IDisposable
{
    private const string Secret = "SECRET-ANALYSIS-7f3a";

    private readonly Acpx _acpx = new();

    [ClientsFact]
    public async Task Exec_prints_the_scripted_answer_and_end_turn()
    {
        string script = Script("answer.txt", $"<|channel|>analysis<|message|>{Secret}<|end|><|start|>assistant<|channel|>final<|message|>Hello from the script.<|return|>");

        ProcessResult result = await AcpxAsync(Agent(script), "--approve-all", "exec", "hello");

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.Contains("Hello from the script.", result.Output, StringComparison.Ordinal);
        Assert.Contains("[done] end_turn", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, result.Output + result.Error, StringComparison.Ordinal);
    }

    [ClientsFact]
    public async Task Json_traffic_follows_the_ACP_schema_and_never_carries_the_analysis()
    {
        string script = Script("answer.txt",
            $"<|channel|>analysis<|message|>{Secret}<|end|><|start|>assistant<|channel|>commentary<|message|>Checking.<|end|>"
            + "<|start|>assistant<|channel|>final<|message|>Done: 2 + 2 = 4.<|return|>");

        ProcessResult result = await AcpxAsync(Agent(script), "--format", "json", "--approve-all", "exec", "what is 2 + 2?");
        ProcessResult validation = await AcpValidator.RunAsync(result.Output);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error);
        Assert.Contains(" 0 problems", validation.Output, StringComparison.Ordinal);
        Assert.Contains("\"stopReason\":\"end_turn\"", result.Output, StringComparison.Ordinal);
        Assert.Contains("agent_message_chunk", result.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, result.Output + result.Error, StringComparison.Ordinal);
    }

    [ClientsFact]
    public async Task Cancel_ends_a_slow_turn_cancelled_and_the_next_prompt_works()
    {
        string folder = Path.Combine(_acpx.Workspace, "script");
        Directory.CreateDirectory(folder);
        await File.WriteAllTextAsync(Path.Combine(folder, "1.txt"),
            $"<|channel|>analysis<|message|>{Secret}<|end|><|start|>assistant<|channel|>final<|message|>{string.Concat(Enumerable.Repeat("word ", 200))}<|return|>");
        await File.WriteAllTextAsync(Path.Combine(folder, "2.txt"), "<|channel|>final<|message|>Second answer.<|return|>");
        string agent = Agent(folder, "--token-delay-ms", "20");
        ProcessResult created = await AcpxAsync(agent, "sessions", "new");
        Assert.True(created.ExitCode == 0, created.Output + created.Error);

        await using (ChildProcess prompt = StartAcpx(agent, "--approve-all", "prompt", "a long answer please"))
        {
            // The thought status comes with the first analysis token: the turn is running.
            await prompt.WaitForLineAsync(line => line.Contains("[thinking]", StringComparison.Ordinal));
            ProcessResult cancel = await AcpxAsync(agent, "cancel");
            ProcessResult cancelled = await prompt.WaitAsync();

            Assert.True(cancel.ExitCode == 0, cancel.Output + cancel.Error);
            Assert.Contains("[done] cancelled", cancelled.Output, StringComparison.Ordinal);
            Assert.DoesNotContain(Secret, cancelled.Output + cancelled.Error, StringComparison.Ordinal);
        }

        ProcessResult next = await AcpxAsync(agent, "--approve-all", "prompt", "and now?");
        Assert.True(next.ExitCode == 0, next.Output + next.Error);
        Assert.Contains("Second answer.", next.Output, StringComparison.Ordinal);
        Assert.Contains("[done] end_turn", next.Output, StringComparison.Ordinal);
    }

    [ClientsFact]
    public async Task Set_reasoning_effort_changes_the_rendered_system_message()
    {
        string script = Script("answer.txt", "<|channel|>final<|message|>ok<|return|>");
        string log = Path.Combine(_acpx.Workspace, "prompts.log");
        string agent = Agent(script, "--prompt-log", log);

        ProcessResult created = await AcpxAsync(agent, "sessions", "new");
        ProcessResult first = await AcpxAsync(agent, "--approve-all", "prompt", "one");
        ProcessResult set = await AcpxAsync(agent, "set", "reasoning_effort", "high");
        ProcessResult second = await AcpxAsync(agent, "--approve-all", "prompt", "two");

        foreach (ProcessResult step in new[] { created, first, set, second })
        {
            Assert.True(step.ExitCode == 0, step.Output + step.Error);
        }

        Assert.Contains("reasoning_effort=high", set.Output + set.Error, StringComparison.Ordinal);
        string[] prompts = (await File.ReadAllTextAsync(log)).Split("--- prompt ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(2, prompts.Length);
        Assert.Contains("\n\nReasoning: medium\n\n", prompts[0], StringComparison.Ordinal);
        Assert.Contains("\n\nReasoning: high\n\n", prompts[1], StringComparison.Ordinal);
    }

    public void Dispose() => _acpx.Dispose();

    private string Script(string name, string completion) => _acpx.Script(name, completion);

    private static string Agent(string script, params string[] options) => Acpx.Agent(script, options);

    private Task<ProcessResult> AcpxAsync(string agent, params string[] args) => _acpx.RunAsync(agent, args);

    private ChildProcess StartAcpx(string agent, params string[] args) => _acpx.Start(agent, args);
}
