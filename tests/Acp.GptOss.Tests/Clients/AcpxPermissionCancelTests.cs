using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Clients;

/// <summary>
/// acpx asks its user about a permission only on a terminal: run under <c>script</c>'s pseudo-terminal, its question
/// stays open until acpx's own <c>--timeout</c> cancels the turn, which is the cancel mid-permission an editor makes.
/// </summary>
public sealed class AcpxPermissionCancelTests : IDisposable
{
    private const string Script = "/usr/bin/script";

    private readonly Acpx _acpx = new();

    public void Dispose() => _acpx.Dispose();

    [ClientsFact]
    public async Task Cancel_while_acpx_asks_the_user_fails_the_call_ends_the_turn_cancelled_and_the_command_never_runs()
    {
        Assert.True(File.Exists(Script), $"{Script} (util-linux) is needed to give acpx a terminal");
        string agent = Acpx.Agent(_acpx.Script(
            "script",
            "<|channel|>commentary to=functions.run_command <|constrain|>json<|message|>{\"command\":\"touch never.txt\"}<|call|>",
            "<|channel|>final<|message|>Not reached.<|return|>"));
        // Long enough for the question to be asked whatever the machine: the order is checked below.
        string acpx = $"node {Quote(Repository.Acpx)} --agent {Quote(agent)} --ttl 2 --timeout 10 exec 'touch it'";

        ProcessResult result = await ChildProcess.RunWithOpenInputAsync(Script, ["-qfc", acpx, "/dev/null"], _acpx.Workspace, _acpx.Environment());

        string output = result.Output.Replace("\r", "", StringComparison.Ordinal);
        int asked = output.IndexOf("[permission] Allow touch never.txt", StringComparison.Ordinal);
        int failed = output.IndexOf("Cancelled by the user.", StringComparison.Ordinal);
        int done = output.IndexOf("[done] cancelled", StringComparison.Ordinal);
        Assert.True(asked >= 0 && failed > asked && done > failed, output);
        Assert.DoesNotContain("Not reached.", output, StringComparison.Ordinal);
        Assert.False(File.Exists(Path.Combine(_acpx.Workspace, "never.txt")));
    }

    private static string Quote(string text) => "'" + text.Replace("'", "'\\''", StringComparison.Ordinal) + "'";
}
