using System.Text.Json;
using Acp.GptOss.Tests.Support;

namespace Acp.GptOss.Tests.Clients;

/// <summary>
/// A conversation that outgrows a tiny context, through acpx: every prompt still ends <c>end_turn</c>, the user reads
/// that the oldest turns were set aside, and the model's prompt loses the oldest turn but keeps its instructions and
/// the latest turns.
/// </summary>
public sealed class AcpxCompactionTests : IDisposable
{
    private const int MaxTokens = 64;
    private const string Notice = "The conversation had grown too long for the model's context";
    private readonly Acpx _acpx = new();

    public void Dispose() => _acpx.Dispose();

    [ClientsFact]
    public async Task A_conversation_longer_than_a_tiny_context_sets_aside_its_oldest_turns_and_every_prompt_ends_end_turn()
    {
        string script = _acpx.Script("script", Answer(1), Answer(2), Answer(3), Answer(4));

        // What the first prompt takes (system, developer, tools, one request, its answer), measured on the default
        // context: the agent's instructions can grow without this test's numbers changing.
        ProcessResult measured = await _acpx.RunAsync(Acpx.Agent(script, "--max-tokens", $"{MaxTokens}"), "--format", "json", "--approve-all", "exec", Request(1));
        Assert.True(measured.ExitCode == 0, measured.Output + measured.Error);
        long first = Updates.OfKind(Notifications(measured.Output), "usage_update").Single().GetProperty("used").GetInt64();
        // Each turn adds about its request, its short answer and their framing. Room for one turn and a half beyond
        // the first: prompt 2 fits, prompt 3 does not until the oldest turn goes (the note that replaces it quotes
        // at most 200 characters of it), and prompt 4 sets aside the next oldest.
        int turn = Request(2).Length + 40;
        int contextSize = (int)first + (turn * 3 / 2) + MaxTokens;

        string log = Path.Combine(_acpx.Workspace, "prompts.log");
        string agent = Acpx.Agent(script, "--max-tokens", $"{MaxTokens}", "--ctx-size", $"{contextSize}", "--prompt-log", log);
        ProcessResult created = await _acpx.RunAsync(agent, "sessions", "new");
        Assert.True(created.ExitCode == 0, created.Output + created.Error);
        var shown = new List<ProcessResult>();
        for (int n = 1; n <= 3; n++)
        {
            shown.Add(await _acpx.RunAsync(agent, "--approve-all", "prompt", Request(n)));
        }

        // The last prompt's raw updates, to read the usage the agent reported.
        ProcessResult raw = await _acpx.RunAsync(agent, "--format", "json", "--approve-all", "prompt", Request(4));

        foreach (ProcessResult step in shown.Append(raw))
        {
            Assert.True(step.ExitCode == 0, step.Output + step.Error);
        }

        // Never a failure for length while one turn fits; the user is told when turns were set aside, and only then.
        Assert.All(shown, step => Assert.Contains("[done] end_turn", step.Output, StringComparison.Ordinal));
        Assert.Contains("\"stopReason\":\"end_turn\"", raw.Output, StringComparison.Ordinal);
        Assert.DoesNotContain(Notice, shown[0].Output + shown[1].Output, StringComparison.Ordinal);
        Assert.Contains(Notice, shown[2].Output, StringComparison.Ordinal);
        Assert.Contains("no longer sees the oldest turn", shown[2].Output, StringComparison.Ordinal);
        // acpx 0.19.1 does not declare the session.compaction capability, so the notice comes as a message, not as
        // compaction_update.
        List<JsonElement> updates = Notifications(raw.Output);
        Assert.Empty(Updates.OfKind(updates, "compaction_update"));
        Assert.Contains(Notice, Updates.Text(updates, "agent_message_chunk"), StringComparison.Ordinal);
        JsonElement usage = Updates.OfKind(updates, "usage_update").Last();
        Assert.Equal(contextSize, usage.GetProperty("size").GetInt64());
        Assert.InRange(usage.GetProperty("used").GetInt64(), 1, contextSize);
        ProcessResult validation = await AcpValidator.RunAsync(raw.Output);
        Assert.True(validation.ExitCode == 0, validation.Output + validation.Error);
        Assert.Contains(" 0 problems", validation.Output, StringComparison.Ordinal);

        // One agent process played the four rounds; the model read the whole conversation until it no longer fit.
        string[] prompts = (await File.ReadAllTextAsync(log)).Split("--- prompt ", StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(4, prompts.Length);
        Assert.Contains(Request(1), prompts[1], StringComparison.Ordinal);
        Assert.DoesNotContain("removed to fit", prompts[1], StringComparison.Ordinal);
        Assert.DoesNotContain(Request(1), prompts[2], StringComparison.Ordinal);
        Assert.Contains(Request(2), prompts[2], StringComparison.Ordinal);

        // The last prompt: the instructions first, a note for the two oldest turns, then the latest turns whole.
        string last = prompts[3];
        Assert.StartsWith("4 ---\n<|start|>system<|message|>", last, StringComparison.Ordinal);
        Assert.Contains("<|start|>developer<|message|>", last, StringComparison.Ordinal);
        Assert.Contains("the earlier conversation, 2 turns, was removed to fit the model's context", last, StringComparison.Ordinal);
        Assert.Contains("Its first request was: \"Request 1: ", last, StringComparison.Ordinal);
        Assert.DoesNotContain(Request(1), last, StringComparison.Ordinal);
        Assert.DoesNotContain(Request(2), last, StringComparison.Ordinal);
        Assert.DoesNotContain("Answer 2.", last, StringComparison.Ordinal);
        Assert.Contains(Request(3), last, StringComparison.Ordinal);
        Assert.Contains("Answer 3.", last, StringComparison.Ordinal);
        Assert.Contains(Request(4), last, StringComparison.Ordinal);
    }

    // Long enough that the note quoting the first one (200 characters) is much shorter than a turn; the end marker
    // lies past what the note quotes.
    private static string Request(int n) => $"Request {n}: " + new string((char)('a' + n), 1500) + $" END-{n}";

    private static string Answer(int n) => $"<|channel|>final<|message|>Answer {n}.<|return|>";

    /// <summary>The session/update notifications in acpx's JSON output, one JSON-RPC message a line.</summary>
    private static List<JsonElement> Notifications(string traffic)
    {
        var notifications = new List<JsonElement>();
        foreach (string line in traffic.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!line.StartsWith('{'))
            {
                continue;
            }

            using JsonDocument document = JsonDocument.Parse(line);
            if (document.RootElement.TryGetProperty("method", out JsonElement method) && method.GetString() == "session/update")
            {
                notifications.Add(document.RootElement.Clone());
            }
        }

        return notifications;
    }
}
