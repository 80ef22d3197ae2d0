using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Tests.Support;
using Acp.Protocol.JsonRpc;
using Microsoft.Extensions.Time.Testing;

namespace Acp.GptOss.Tests.Agent;

/// <summary>Function calls through an in-process client: the ACP tool-call flow, permissions, modes, fs and terminal delegation, cancel.</summary>
public sealed class ToolCallTests : IDisposable
{
    private const string Answer = "<|channel|>final<|message|>Done.<|return|>";

    private static readonly object s_noCapabilities = new { };
    private static readonly object s_editorCapabilities = new { fs = new { readTextFile = true, writeTextFile = true }, terminal = true };

    private readonly string _workspace = Directory.CreateTempSubdirectory("tools-").FullName;

    public void Dispose() => Directory.Delete(_workspace, recursive: true);

    private static string Call(string name, string json, string recipientPrefix = "functions.") =>
        $"<|channel|>commentary to={recipientPrefix}{name} <|constrain|>json<|message|>{json}<|call|>";

    private static object Allow(string option = "allow_once") => new { outcome = new { outcome = "selected", optionId = option } };

    private static string Status(JsonElement update) => update.GetProperty("status").GetString()!;

    private static string[] Statuses(List<JsonElement> notifications) =>
        [.. notifications.Where(n => Updates.Kind(n) is "tool_call" or "tool_call_update").Select(Updates.Update).Where(u => u.TryGetProperty("status", out _)).Select(Status)];

    private static string[] Methods(List<JsonElement> requests) => [.. requests.Select(r => r.GetProperty("method").GetString()!)];

    private static string ContentText(JsonElement update) => update.GetProperty("content")[0].GetProperty("content").GetProperty("text").GetString()!;

    private async Task<(AgentHarness Agent, string Session)> StartAsync(FakeEngine engine, object capabilities, AgentOptions? options = null)
    {
        var agent = new AgentHarness(engine, options);
        JsonElement session = await agent.NewSessionAsync(_workspace, capabilities);
        return (agent, session.GetProperty("sessionId").GetString()!);
    }

    [Fact]
    public async Task Read_file_runs_without_permission_and_its_text_goes_back_to_the_model()
    {
        await File.WriteAllTextAsync(Path.Combine(_workspace, "notes.txt"), "line one\nline two\n");
        var engine = new FakeEngine(Call("read_file", """{"path":"notes.txt"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(session, "read it", _ => throw new InvalidOperationException("no request expected"));

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Empty(requests);
            JsonElement call = Assert.Single(Updates.OfKind(updates, "tool_call"));
            Assert.Equal(("read", "Read notes.txt", "read_file"), (call.GetProperty("kind").GetString(), call.GetProperty("title").GetString(), call.GetProperty("name").GetString()));
            Assert.Equal(Path.Combine(_workspace, "notes.txt"), call.GetProperty("locations")[0].GetProperty("path").GetString());
            Assert.Equal(["pending", "in_progress", "completed"], Statuses(updates));
            Assert.Contains("line two", ContentText(Updates.OfKind(updates, "tool_call_update").Last()), StringComparison.Ordinal);
            Assert.EndsWith(
                "<|start|>functions.read_file to=assistant<|channel|>commentary<|message|>line one\nline two\n<|end|><|start|>assistant", engine.Prompts[1], StringComparison.Ordinal);
            Assert.Equal("Done.", Updates.Text(updates, "agent_message_chunk"));
        }
    }

    [Fact]
    public async Task The_functions_are_declared_to_the_model()
    {
        var engine = new FakeEngine(Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            await agent.PromptAsync(session, "hi");

            string prompt = Assert.Single(engine.Prompts);
            Assert.Contains("Calls to these tools must go to the commentary channel: 'functions'.", prompt, StringComparison.Ordinal);
            foreach (string name in new[] { "read_file", "write_file", "edit_file", "list_files", "search", "run_command" })
            {
                Assert.Contains($"type {name} = (_: {{", prompt, StringComparison.Ordinal);
            }

            Assert.Contains("old_text: string,", prompt, StringComparison.Ordinal);
            Assert.Contains("line?: number,", prompt, StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("allow_once", true)]
    [InlineData("reject_once", false)]
    public async Task An_edit_asks_first_showing_the_diff_and_runs_only_when_allowed(string option, bool allowed)
    {
        string file = Path.Combine(_workspace, "a.cs");
        await File.WriteAllTextAsync(file, "class A { }\n");
        var engine = new FakeEngine(Call("edit_file", """{"path":"a.cs","old_text":"class A { }","new_text":"class A { int x; }"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(session, "edit", _ => Allow(option));

            Assert.Equal("end_turn", Updates.StopReason(response));
            JsonElement permission = Assert.Single(requests);
            Assert.Equal("session/request_permission", permission.GetProperty("method").GetString());
            JsonElement toolCall = permission.GetProperty("params").GetProperty("toolCall");
            JsonElement call = Assert.Single(Updates.OfKind(updates, "tool_call"));
            Assert.Equal(call.GetProperty("toolCallId").GetString(), toolCall.GetProperty("toolCallId").GetString());
            JsonElement diff = toolCall.GetProperty("content")[0];
            Assert.Equal(("diff", file, "class A { }\n", "class A { int x; }\n"), (diff.GetProperty("type").GetString(), diff.GetProperty("path").GetString(), diff.GetProperty("oldText").GetString(), diff.GetProperty("newText").GetString()));
            Assert.Equal(
                ["allow_once", "allow_always", "reject_once", "reject_always"],
                permission.GetProperty("params").GetProperty("options").EnumerateArray().Select(o => o.GetProperty("kind").GetString()));
            Assert.Equal(allowed ? "class A { int x; }\n" : "class A { }\n", await File.ReadAllTextAsync(file));
            Assert.Equal(allowed ? ["pending", "in_progress", "completed"] : ["pending", "failed"], Statuses(updates));
            Assert.Contains(
                allowed ? "<|message|>Edited a.cs at line 1.<|end|>" : ToolCallRunner.RejectedMessage,
                engine.Prompts[1], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Always_answers_are_remembered_for_the_session()
    {
        string file = Path.Combine(_workspace, "b.txt");
        await File.WriteAllTextAsync(file, "one two three");
        var engine = new FakeEngine(
            Call("edit_file", """{"path":"b.txt","old_text":"one","new_text":"1"}"""),
            Call("edit_file", """{"path":"b.txt","old_text":"two","new_text":"2"}"""),
            Call("run_command", """{"command":"echo hi"}"""),
            Call("run_command", """{"command":"echo hi"}"""),
            Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(
                session, "go", r => r.GetProperty("params").GetProperty("toolCall").GetProperty("kind").GetString() == "edit" ? Allow("allow_always") : Allow("reject_always"));

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Equal(["session/request_permission", "session/request_permission"], Methods(requests));
            Assert.Equal("1 2 three", await File.ReadAllTextAsync(file));
            Assert.Equal(["pending", "in_progress", "completed", "pending", "in_progress", "completed", "pending", "failed", "pending", "failed"], Statuses(updates));
        }
    }

    [Fact]
    public async Task Code_mode_makes_edits_without_asking_but_asks_before_commands()
    {
        string file = Path.Combine(_workspace, "c.txt");
        var engine = new FakeEngine(
            Call("write_file", """{"path":"sub/c.txt","content":"new file"}"""),
            Call("run_command", """{"command":"echo ran > ran.txt"}"""),
            Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement set, List<JsonElement> before) = await agent.RequestAsync("session/set_mode", new { sessionId = session, modeId = "code" });
            (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(session, "go", _ => Allow());

            Assert.True(set.TryGetProperty("result", out _), set.ToString());
            JsonElement options = Assert.Single(Updates.OfKind(before, "config_option_update")).GetProperty("configOptions");
            Assert.Equal("code", options.EnumerateArray().Single(o => o.GetProperty("id").GetString() == "mode").GetProperty("currentValue").GetString());
            Assert.Equal("end_turn", Updates.StopReason(response));
            JsonElement permission = Assert.Single(requests);
            Assert.Equal("execute", permission.GetProperty("params").GetProperty("toolCall").GetProperty("kind").GetString());
            Assert.Equal("new file", await File.ReadAllTextAsync(Path.Combine(_workspace, "sub", "c.txt")));
            Assert.Equal("ran\n", await File.ReadAllTextAsync(Path.Combine(_workspace, "ran.txt")));
            Assert.False(File.Exists(file));
        }
    }

    [Fact]
    public async Task Modes_and_the_mode_option_stay_in_sync()
    {
        (AgentHarness agent, string session) = await StartAsync(new FakeEngine(Answer), s_noCapabilities);
        await using (agent)
        {
            (JsonElement set, List<JsonElement> notes) = await agent.RequestAsync("session/set_config_option", new { sessionId = session, configId = "mode", value = "code" });
            (JsonElement bad, _) = await agent.RequestAsync("session/set_mode", new { sessionId = session, modeId = "yolo" });
            (JsonElement back, List<JsonElement> notes2) = await agent.RequestAsync("session/set_mode", new { sessionId = session, modeId = "ask" });

            Assert.Equal("code", set.GetProperty("result").GetProperty("configOptions")[0].GetProperty("currentValue").GetString());
            Assert.Equal("code", Assert.Single(Updates.OfKind(notes, "current_mode_update")).GetProperty("currentModeId").GetString());
            Assert.Equal(JsonRpcErrorCodes.InvalidParams, Updates.ErrorCode(bad));
            Assert.True(back.TryGetProperty("result", out _));
            Assert.Equal("ask", Assert.Single(Updates.OfKind(notes2, "config_option_update")).GetProperty("configOptions")[0].GetProperty("currentValue").GetString());
        }
    }

    [Fact]
    public async Task A_local_command_runs_in_the_workspace_and_its_result_goes_back_as_json()
    {
        var engine = new FakeEngine(Call("run_command", """{"command":"pwd; echo oops >&2; exit 3"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, _) = await agent.PromptAnsweringAsync(session, "go", _ => Allow());

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Equal(["pending", "in_progress", "failed"], Statuses(updates));
            string result = engine.Prompts[1][(engine.Prompts[1].LastIndexOf("<|message|>", StringComparison.Ordinal) + "<|message|>".Length)..engine.Prompts[1].LastIndexOf("<|end|>", StringComparison.Ordinal)];
            using JsonDocument json = JsonDocument.Parse(result);
            Assert.Equal(3, json.RootElement.GetProperty("exitCode").GetInt32());
            Assert.Equal($"{new DirectoryInfo(_workspace).FullName}\noops\n", json.RootElement.GetProperty("output").GetString());
            Assert.Contains("exit code 3", ContentText(Updates.OfKind(updates, "tool_call_update").Last()), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task With_an_editor_files_go_through_fs_requests_and_commands_through_its_terminal()
    {
        string file = Path.Combine(_workspace, "d.txt");
        await File.WriteAllTextAsync(file, "on disk");
        var engine = new FakeEngine(
            Call("read_file", """{"path":"d.txt","line":2,"limit":1}"""),
            Call("edit_file", """{"path":"d.txt","old_text":"buffer","new_text":"edited"}"""),
            Call("run_command", """{"command":"make test"}"""),
            Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_editorCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(session, "go", r => r.GetProperty("method").GetString() switch
            {
                "fs/read_text_file" => new { content = "unsaved buffer" },
                "fs/write_text_file" => new { },
                "session/request_permission" => Allow(),
                "terminal/create" => new { terminalId = "term_1" },
                "terminal/wait_for_exit" => new { exitCode = 0 },
                "terminal/output" => new { output = "all passed\n", truncated = false, exitStatus = new { exitCode = 0 } },
                _ => new { },
            });

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Equal(
                ["fs/read_text_file", "fs/read_text_file", "session/request_permission", "fs/write_text_file", "session/request_permission",
                 "terminal/create", "terminal/wait_for_exit", "terminal/output", "terminal/release"],
                Methods(requests));
            JsonElement read = requests[0].GetProperty("params");
            Assert.Equal((file, 2, 1), (read.GetProperty("path").GetString()!, read.GetProperty("line").GetInt32(), read.GetProperty("limit").GetInt32()));
            JsonElement write = requests[3].GetProperty("params");
            Assert.Equal((file, "unsaved edited"), (write.GetProperty("path").GetString()!, write.GetProperty("content").GetString()!));
            Assert.Equal("on disk", await File.ReadAllTextAsync(file));
            JsonElement create = requests[5].GetProperty("params");
            Assert.Equal(("/bin/sh", "-c", "make test", new DirectoryInfo(_workspace).FullName), (create.GetProperty("command").GetString(), create.GetProperty("args")[0].GetString(), create.GetProperty("args")[1].GetString(), create.GetProperty("cwd").GetString()));
            Assert.Contains(
                Updates.OfKind(updates, "tool_call_update"),
                u => u.TryGetProperty("content", out JsonElement c) && c[0].GetProperty("type").GetString() == "terminal" && c[0].GetProperty("terminalId").GetString() == "term_1");
            Assert.Contains("<|message|>unsaved buffer<|end|>", engine.Prompts[1], StringComparison.Ordinal);
            Assert.Contains("\"output\":\"all passed\\n\"", engine.Prompts[3], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_client_error_fails_the_call_and_tells_the_model()
    {
        var engine = new FakeEngine(Call("read_file", """{"path":"e.txt"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_editorCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, _) = await agent.PromptAnsweringAsync(session, "go", _ => new ClientError(-32001, "permission denied"));

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Equal(["pending", "in_progress", "failed"], Statuses(updates));
            Assert.Contains("{\"error\":\"permission denied\"}", engine.Prompts[1], StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("read_file", """{"path":"h.txt"}""")]
    [InlineData("edit_file", """{"path":"h.txt","old_text":"a","new_text":"b"}""")]
    public async Task A_malformed_client_answer_fails_the_call_and_the_turn_goes_on(string name, string arguments)
    {
        var engine = new FakeEngine(Call(name, arguments), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_editorCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, _) = await agent.PromptAnsweringAsync(session, "go", _ => new { content = 5 });
            (JsonElement next, _) = await agent.PromptAsync(session, "still there?");

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Equal("failed", Status(Updates.OfKind(updates, "tool_call_update").Last()));
            Assert.Contains($"{name} failed unexpectedly", engine.Prompts[1], StringComparison.Ordinal);
            Assert.Equal("end_turn", Updates.StopReason(next));
        }
    }

    [Theory]
    [InlineData("functions.", "list_files", "functions.list_files")]
    [InlineData("", "list_files", "functions.list_files")]
    [InlineData("functions.", "list_filesjson", "functions.list_files")]
    public async Task Slips_in_the_recipient_resolve_and_are_recorded_canonically(string prefix, string name, string recorded)
    {
        await File.WriteAllTextAsync(Path.Combine(_workspace, "f.txt"), "x");
        var engine = new FakeEngine(Call(name, "{}", prefix), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, _) = await agent.PromptAnsweringAsync(session, "go", _ => Allow());

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Equal(["pending", "in_progress", "completed"], Statuses(updates));
            Assert.Contains($"<|start|>assistant<|channel|>commentary to={recorded} <|constrain|>json<|message|>{{}}<|call|><|start|>{recorded} to=assistant<|channel|>commentary<|message|>f.txt<|end|>", engine.Prompts[1], StringComparison.Ordinal);
        }
    }

    [Theory]
    [InlineData("<|channel|>analysis to=python code<|message|>print(1)<|call|>", "python", "Error: tool python is not available; use functions.*")]
    [InlineData("<|channel|>commentary to=browser.search <|constrain|>json<|message|>{}<|call|>", "browser.search", "Error: tool browser.search is not available; use functions.*")]
    [InlineData("<|channel|>commentary to=functions.delete_everything <|constrain|>json<|message|>{}<|call|>", "functions.delete_everything", "Error: there is no tool functions.delete_everything")]
    [InlineData("<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{\"path\": \"a.txt\",<|call|>", "functions.read_file", "{\"error\":\"invalid JSON arguments: ")]
    [InlineData("<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{\"path\": 7}<|call|>", "functions.read_file", "{\"error\":\"\\\"path\\\" of read_file must be a string.\"}")]
    [InlineData("<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{\"path\": \"../../etc/passwd\"}<|call|>", "functions.read_file", "outside")]
    public async Task Calls_that_cannot_run_fail_visibly_and_the_model_reads_why(string completion, string author, string result)
    {
        var engine = new FakeEngine(completion, Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, List<JsonElement> requests) = await agent.PromptAnsweringAsync(session, "go", _ => Allow());

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Empty(requests);
            Assert.Equal("failed", Status(Updates.OfKind(updates, "tool_call_update").Last()));
            Assert.Single(Updates.OfKind(updates, "tool_call"));
            Assert.Contains($"<|start|>{author} to=assistant<|channel|>", engine.Prompts[1], StringComparison.Ordinal);
            string message = engine.Prompts[1][engine.Prompts[1].LastIndexOf($"<|start|>{author} to=assistant", StringComparison.Ordinal)..];
            Assert.Contains(result, message, StringComparison.Ordinal);
            Assert.Equal("Done.", Updates.Text(updates, "agent_message_chunk"));
        }
    }

    [Fact]
    public async Task Cancel_during_the_permission_request_rejects_it_and_a_late_allow_runs_nothing()
    {
        string file = Path.Combine(_workspace, "g.txt");
        await File.WriteAllTextAsync(file, "before");
        var engine = new FakeEngine(Call("write_file", """{"path":"g.txt","content":"after"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            int prompt = await agent.SendPromptAsync(session, "go");
            var before = new List<JsonElement>();
            JsonElement permission = await agent.NextRequestAsync(before);
            await agent.NotifyAsync("session/cancel", new { sessionId = session });
            (JsonElement response, List<JsonElement> after) = await agent.ResponseAsync(prompt);
            await agent.AnswerAsync(permission, Allow());
            (JsonElement next, List<JsonElement> nextUpdates) = await agent.PromptAsync(session, "and now?");

            Assert.Equal("session/request_permission", permission.GetProperty("method").GetString());
            Assert.Equal("cancelled", Updates.StopReason(response));
            JsonElement cancelRequest = Assert.Single(after, l => l.GetProperty("method").GetString() == "$/cancel_request");
            Assert.Equal(permission.GetProperty("id").GetInt32(), cancelRequest.GetProperty("params").GetProperty("requestId").GetInt32());
            JsonElement last = Updates.OfKind(after.Where(l => l.GetProperty("method").GetString() == "session/update"), "tool_call_update").Last();
            Assert.Equal(("failed", ToolCallRunner.CancelledMessage), (Status(last), ContentText(last)));
            Assert.Equal("before", await File.ReadAllTextAsync(file));
            Assert.Equal("end_turn", Updates.StopReason(next));
            Assert.Equal("Done.", Updates.Text(nextUpdates, "agent_message_chunk"));
            Assert.Contains($"{ToolCallRunner.CancelledMessage}\"}}<|end|><|start|>user<|message|>and now?", engine.Prompts[^1], StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task The_permission_outcome_cancelled_ends_the_turn_cancelled()
    {
        var engine = new FakeEngine(Call("run_command", """{"command":"touch never.txt"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            (JsonElement response, List<JsonElement> updates, _) = await agent.PromptAnsweringAsync(session, "go", _ => new { outcome = new { outcome = "cancelled" } });

            Assert.Equal("cancelled", Updates.StopReason(response));
            Assert.Equal(["pending", "failed"], Statuses(updates));
            Assert.False(File.Exists(Path.Combine(_workspace, "never.txt")));
        }
    }

    [Fact]
    public async Task Cancel_during_a_local_command_kills_it_and_the_call_ends_failed()
    {
        string marker = Path.Combine(_workspace, "started.txt");
        var engine = new FakeEngine(Call("run_command", """{"command":"echo $$ > started.txt; sleep 60; touch late.txt"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities);
        await using (agent)
        {
            int prompt = await agent.SendPromptAsync(session, "go");
            JsonElement permission = await agent.NextRequestAsync();
            await agent.AnswerAsync(permission, Allow());
            int pid = await WaitForPidAsync(marker);
            await agent.NotifyAsync("session/cancel", new { sessionId = session });
            (JsonElement response, List<JsonElement> after) = await agent.ResponseAsync(prompt);

            Assert.Equal("cancelled", Updates.StopReason(response));
            Assert.Equal("failed", Status(Updates.OfKind(after, "tool_call_update").Last()));
            Assert.True(await ProcessState.IsGoneAsync(pid, AgentHarness.Timeout), $"the command's shell (pid {pid}) still runs after the cancel");
            Assert.False(File.Exists(Path.Combine(_workspace, "late.txt")));
        }
    }

    [Fact]
    public async Task Cancel_during_an_editor_terminal_kills_and_releases_it()
    {
        var engine = new FakeEngine(Call("run_command", """{"command":"sleep 60"}"""), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_editorCapabilities);
        await using (agent)
        {
            int prompt = await agent.SendPromptAsync(session, "go");
            await agent.AnswerAsync(await agent.NextRequestAsync(), Allow());
            await agent.AnswerAsync(await agent.NextRequestAsync(), new { terminalId = "term_9" });
            JsonElement wait = await agent.NextRequestAsync();
            await agent.NotifyAsync("session/cancel", new { sessionId = session });
            (JsonElement response, List<JsonElement> after, List<JsonElement> requests) = await agent.AnswerUntilResponseAsync(prompt, _ => new { });

            Assert.Equal("terminal/wait_for_exit", wait.GetProperty("method").GetString());
            Assert.Equal("cancelled", Updates.StopReason(response));
            Assert.Equal(["$/cancel_request", "terminal/kill", "terminal/release"], Methods(requests));
            Assert.All(requests.Skip(1), r => Assert.Equal("term_9", r.GetProperty("params").GetProperty("terminalId").GetString()));
            Assert.Equal("failed", Status(Updates.OfKind(after, "tool_call_update").Last()));
        }
    }

    [Fact]
    public async Task Additional_directories_widen_the_workspace_and_nothing_else_does()
    {
        string other = Directory.CreateTempSubdirectory("tools-other-").FullName;
        string outside = Directory.CreateTempSubdirectory("tools-outside-").FullName;
        await File.WriteAllTextAsync(Path.Combine(other, "shared.txt"), "shared text");
        await File.WriteAllTextAsync(Path.Combine(outside, "secret.txt"), "secret text");
        var engine = new FakeEngine(
            Call("read_file", $$"""{"path":"{{Path.Combine(other, "shared.txt")}}"}"""),
            Call("read_file", $$"""{"path":"{{Path.Combine(outside, "secret.txt")}}"}"""),
            Answer);
        await using var agent = new AgentHarness(engine);
        await agent.RequestAsync("initialize", new { protocolVersion = 1, clientCapabilities = new { } });
        (JsonElement relative, _) = await agent.RequestAsync("session/new", new { cwd = _workspace, mcpServers = Array.Empty<object>(), additionalDirectories = new[] { "relative/dir" } });
        (JsonElement created, _) = await agent.RequestAsync("session/new", new { cwd = _workspace, mcpServers = Array.Empty<object>(), additionalDirectories = new[] { other } });

        (JsonElement response, List<JsonElement> updates, _) = await agent.PromptAnsweringAsync(
            created.GetProperty("result").GetProperty("sessionId").GetString()!, "read both", _ => Allow());

        Assert.Equal(JsonRpcErrorCodes.InvalidParams, Updates.ErrorCode(relative));
        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal(["pending", "in_progress", "completed", "pending", "failed"], Statuses(updates));
        Assert.Contains("<|message|>shared text<|end|>", engine.Prompts[1], StringComparison.Ordinal);
        Assert.DoesNotContain("secret text", string.Concat(engine.Prompts), StringComparison.Ordinal);
        Directory.Delete(other, recursive: true);
        Directory.Delete(outside, recursive: true);
    }

    [Fact]
    public async Task A_command_past_its_timeout_is_killed_and_reported()
    {
        // The timeout runs on a fake clock, moved on once the command has started.
        var time = new FakeTimeProvider();
        string pidFile = Path.Combine(_workspace, "sleep.pid");
        string command = $"sleep 30 & echo $! > '{pidFile}.tmp'; mv '{pidFile}.tmp' '{pidFile}'; wait";
        var engine = new FakeEngine(Call("run_command", JsonSerializer.Serialize(new { command, timeout_seconds = 1 })), Answer);
        (AgentHarness agent, string session) = await StartAsync(engine, s_noCapabilities, new AgentOptions { Time = time });
        await using (agent)
        {
            var prompt = agent.PromptAnsweringAsync(session, "go", _ => Allow());
            await WaitForPidAsync(pidFile);
            time.Advance(TimeSpan.FromSeconds(1));
            (JsonElement response, List<JsonElement> updates, _) = await prompt;

            Assert.Equal("end_turn", Updates.StopReason(response));
            Assert.Equal("failed", Status(Updates.OfKind(updates, "tool_call_update").Last()));
            Assert.Contains("\"timedOut\":true", engine.Prompts[1], StringComparison.Ordinal);
        }
    }

    private static async Task<int> WaitForPidAsync(string file)
    {
        int pid = 0;
        await WaitUntilAsync(() => File.Exists(file) && int.TryParse(File.ReadAllText(file).Trim(), out pid));
        return pid;
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        using var timeout = new CancellationTokenSource(AgentHarness.Timeout);
        while (!condition())
        {
            await Task.Delay(20, timeout.Token);
        }
    }
}
