using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Clients;

/// <summary>
/// Each tool through acpx, which advertises fs and terminals: reads and writes go through its fs methods, commands
/// through its terminals, and --approve-all / --deny-all answer the permission requests.
/// </summary>
public sealed class AcpxToolTests : IDisposable
{
    private const string Answer = "<|channel|>final<|message|>All done here.<|return|>";

    private readonly Acpx _acpx = new();

    public void Dispose() => _acpx.Dispose();

    private string PromptLog => Path.Combine(_acpx.Workspace, "prompts.log");

    private static string Call(string name, string json) => $"<|channel|>commentary to=functions.{name} <|constrain|>json<|message|>{json}<|call|>";

    /// <summary>One prompt through acpx exec: the call, then the answer; returns acpx's output and the prompts the model got.</summary>
    private async Task<(ProcessResult Result, string[] Prompts)> ExecAsync(string permission, string call, params string[] more)
    {
        string agent = Acpx.Agent(_acpx.Script("script", call, Answer), ["--prompt-log", PromptLog, .. more]);
        ProcessResult result = await _acpx.RunAsync(agent, permission, "exec", "do it");
        string[] prompts = File.Exists(PromptLog) ? (await File.ReadAllTextAsync(PromptLog)).Split("--- prompt ", StringSplitOptions.RemoveEmptyEntries) : [];
        // acpx exits 5 (PERMISSION_DENIED) after a turn in which it denied something.
        Assert.True(result.ExitCode == (permission == "--deny-all" && DeniesSomething(call) ? 5 : 0), $"exit {result.ExitCode}\n{result.Output}{result.Error}");
        Assert.Contains("All done here.", result.Output, StringComparison.Ordinal);
        Assert.Contains("[done] end_turn", result.Output, StringComparison.Ordinal);
        Assert.Equal(2, prompts.Length);
        return (result, prompts);
    }

    private static bool DeniesSomething(string call) => !call.Contains("list_files", StringComparison.Ordinal) && !call.Contains("to=functions.search", StringComparison.Ordinal);

    private static string ToolResult(string prompt, string name)
    {
        string start = $"<|start|>functions.{name} to=assistant<|channel|>commentary<|message|>";
        int at = prompt.LastIndexOf(start, StringComparison.Ordinal);
        Assert.True(at >= 0, prompt);
        string rest = prompt[(at + start.Length)..];
        return rest[..rest.IndexOf("<|end|>", StringComparison.Ordinal)];
    }

    [ClientsFact]
    public async Task Read_file_goes_through_acpx_and_the_text_reaches_the_model()
    {
        await File.WriteAllTextAsync(Path.Combine(_acpx.Workspace, "notes.txt"), "remember the milk\n");

        (ProcessResult result, string[] prompts) = await ExecAsync("--approve-all", Call("read_file", """{"path":"notes.txt"}"""));

        Assert.Contains("[tool] Read notes.txt (completed)", result.Output, StringComparison.Ordinal);
        Assert.Contains("[client] fs/read_text_file", result.Output, StringComparison.Ordinal);
        Assert.Equal("remember the milk\n", ToolResult(prompts[1], "read_file"));
    }

    [ClientsTheory]
    [InlineData("--approve-all", true)]
    [InlineData("--deny-all", false)]
    public async Task Edit_file_changes_the_file_only_when_allowed(string permission, bool allowed)
    {
        string file = Path.Combine(_acpx.Workspace, "app.py");
        await File.WriteAllTextAsync(file, "print('hello')\n");

        (ProcessResult result, string[] prompts) = await ExecAsync(
            permission, Call("edit_file", """{"path":"app.py","old_text":"'hello'","new_text":"'hello, world'"}"""));

        Assert.Equal(allowed ? "print('hello, world')\n" : "print('hello')\n", await File.ReadAllTextAsync(file));
        string outcome = ToolResult(prompts[1], "edit_file");
        if (allowed)
        {
            Assert.Contains("[tool] Edit app.py (completed)", result.Output, StringComparison.Ordinal);
            Assert.Equal("Edited app.py at line 1.", outcome);
        }
        else
        {
            // acpx --deny-all refuses even the read that prepares the edit.
            Assert.Contains("Permission denied for fs/read_text_file (--deny-all)", result.Output, StringComparison.Ordinal);
            Assert.Contains("(failed)", result.Output, StringComparison.Ordinal);
            Assert.StartsWith("{\"error\":", outcome, StringComparison.Ordinal);
        }
    }

    [ClientsTheory]
    [InlineData("--approve-all", true)]
    [InlineData("--deny-all", false)]
    public async Task Write_file_creates_a_file_only_when_allowed(string permission, bool allowed)
    {
        string file = Path.Combine(_acpx.Workspace, "docs", "new.md");

        (ProcessResult result, string[] prompts) = await ExecAsync(permission, Call("write_file", """{"path":"docs/new.md","content":"# New\n"}"""));

        Assert.Equal(allowed, File.Exists(file));
        if (allowed)
        {
            Assert.Equal("# New\n", await File.ReadAllTextAsync(file));
            Assert.Contains("[tool] Write docs/new.md (completed)", result.Output, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("[tool] Write docs/new.md (failed)", result.Output, StringComparison.Ordinal);
            Assert.StartsWith("{\"error\":", ToolResult(prompts[1], "write_file"), StringComparison.Ordinal);
        }
    }

    [ClientsTheory]
    [InlineData("--approve-all", true)]
    [InlineData("--deny-all", false)]
    public async Task Run_command_runs_in_an_acpx_terminal_only_when_allowed(string permission, bool allowed)
    {
        (ProcessResult result, string[] prompts) = await ExecAsync(permission, Call("run_command", """{"command":"echo tool-ran > marker.txt; echo out-$((40 + 2))"}"""));

        Assert.Equal(allowed, File.Exists(Path.Combine(_acpx.Workspace, "marker.txt")));
        string outcome = ToolResult(prompts[1], "run_command");
        if (allowed)
        {
            Assert.Contains("[client] terminal/create", result.Output, StringComparison.Ordinal);
            Assert.Contains("[client] terminal/release", result.Output, StringComparison.Ordinal);
            Assert.Contains("\"exitCode\":0", outcome, StringComparison.Ordinal);
            Assert.Contains("out-42", outcome, StringComparison.Ordinal);
        }
        else
        {
            Assert.DoesNotContain("[client] terminal/create", result.Output, StringComparison.Ordinal);
            Assert.StartsWith("{\"error\":", outcome, StringComparison.Ordinal);
        }
    }

    [ClientsFact]
    public async Task List_files_and_search_need_no_permission()
    {
        Directory.CreateDirectory(Path.Combine(_acpx.Workspace, "src"));
        await File.WriteAllTextAsync(Path.Combine(_acpx.Workspace, "src", "main.c"), "int main(void) { return 42; }\n");

        (ProcessResult listed, string[] listPrompts) = await ExecAsync("--deny-all", Call("list_files", """{"path":"src"}"""));
        File.Delete(PromptLog);
        (ProcessResult searched, string[] searchPrompts) = await ExecAsync("--deny-all", Call("search", """{"pattern":"return 42","path":"src"}"""));

        Assert.Contains("[tool] List src (completed)", listed.Output, StringComparison.Ordinal);
        Assert.Equal("main.c", ToolResult(listPrompts[1], "list_files"));
        Assert.Contains("[tool] Search for \"return 42\" in src (completed)", searched.Output, StringComparison.Ordinal);
        Assert.Equal("src/main.c:1: int main(void) { return 42; }", ToolResult(searchPrompts[1], "search"));
    }

    [ClientsFact]
    public async Task The_json_traffic_of_a_tool_turn_follows_the_ACP_schema()
    {
        await File.WriteAllTextAsync(Path.Combine(_acpx.Workspace, "a.txt"), "alpha\n");
        string agent = Acpx.Agent(_acpx.Script(
            "script",
            Call("edit_file", """{"path":"a.txt","old_text":"alpha","new_text":"beta"}"""),
            Call("run_command", """{"command":"cat a.txt"}"""),
            Answer));

        ProcessResult result = await _acpx.RunAsync(agent, "--format", "json", "--approve-all", "exec", "edit and show");
        ProcessResult validation = await AcpValidator.RunAsync(result.Output);

        Assert.True(result.ExitCode == 0, result.Output + result.Error);
        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error);
        Assert.Contains(" 0 problems", validation.Output, StringComparison.Ordinal);
        foreach (string expected in new[] { "\"sessionUpdate\":\"tool_call\"", "\"type\":\"diff\"", "session/request_permission", "terminal/create", "\"stopReason\":\"end_turn\"" })
        {
            Assert.Contains(expected, result.Output, StringComparison.Ordinal);
        }

        Assert.Equal("beta\n", await File.ReadAllTextAsync(Path.Combine(_acpx.Workspace, "a.txt")));
    }
}
