using System.Text.Json;
using Acp.GptOss.Agent;
using Acp.GptOss.Tests.Support;
using Harmony;

namespace Acp.GptOss.Tests.Agent;

/// <summary>
/// Conversations longer than the context, on a fake engine with a tiny context: reasoning goes first, then the oldest
/// turns, the prompt sent always fits, the client hears of it, and a turn that alone cannot fit ends clearly.
/// </summary>
public sealed class CompactionTests
{
    private const int MaxTokens = 64;
    private const string Answer = "<|channel|>analysis<|message|>Hmm.<|end|><|start|>assistant<|channel|>final<|message|>Short answer.<|return|>";
    private static readonly AgentOptions s_options = new() { MaxTokens = MaxTokens };
    private static readonly object s_compactionClient = new { session = new { compaction = new { } } };

    private static string Request(int n) => $"Request {n}: " + new string((char)('a' + n), 120);

    [Fact]
    public async Task The_oldest_turns_are_compacted_the_latest_kept_and_every_prompt_fits()
    {
        // The same five prompts on a context large enough, to size the tiny one from what they really render.
        int[] lengths = await PromptLengthsAsync(new FakeEngine(Answer), 6);
        int contextSize = lengths[3] + MaxTokens - 1;
        var engine = new FakeEngine(Answer) { ContextSize = contextSize };
        await using var agent = new AgentHarness(engine, s_options);
        string session = await agent.NewSessionAsync();

        var notifications = new List<JsonElement>();
        for (int n = 1; n <= 6; n++)
        {
            (JsonElement response, List<JsonElement> updates) = await agent.PromptAsync(session, Request(n));
            Assert.Equal("end_turn", Updates.StopReason(response));
            notifications.AddRange(updates);

            // The prompt sent leaves the answer its room; usage says what the context holds.
            int[] prompt = engine.PromptTokens[^1];
            Assert.True(prompt.Length + MaxTokens <= contextSize, $"prompt {n}: {prompt.Length} tokens");
            JsonElement usage = Updates.OfKind(updates, "usage_update").Last();
            Assert.Equal(prompt.Length + Tokens(Answer), usage.GetProperty("used").GetInt64());
            Assert.Equal(contextSize, usage.GetProperty("size").GetInt64());
        }

        // Prompts 1 to 3 fit as they were; from the fourth on, the oldest turns make way.
        Assert.DoesNotContain("removed to fit", engine.Prompts[2], StringComparison.Ordinal);
        Assert.Contains("removed to fit", engine.Prompts[3], StringComparison.Ordinal);
        string last = engine.Prompts[^1];
        Assert.Contains(Request(6), last, StringComparison.Ordinal);
        Assert.Contains(Request(5), last, StringComparison.Ordinal);
        Assert.Contains("was removed to fit the model's context", last, StringComparison.Ordinal);
        Assert.Contains($"Its first request was: \"{Request(1)}\"", last, StringComparison.Ordinal);
        Assert.DoesNotContain(Request(2), last, StringComparison.Ordinal);
        Assert.DoesNotContain(Request(3), last, StringComparison.Ordinal);
        // The system and developer messages stay, first.
        Assert.StartsWith("<|start|>system<|message|>", last, StringComparison.Ordinal);
        Assert.Contains("<|start|>developer<|message|>", last, StringComparison.Ordinal);

        // A client without the compaction capability reads a short message instead, once per compaction.
        Assert.Empty(Updates.OfKind(notifications, "compaction_update"));
        string[] notices = [.. Updates.OfKind(notifications, "agent_message_chunk")
            .Select(u => u.GetProperty("content").GetProperty("text").GetString()!)
            .Where(t => t.Contains("too long for the model's context", StringComparison.Ordinal))];
        Assert.NotEmpty(notices);
        Assert.Contains("oldest turn", notices[0], StringComparison.Ordinal);
        Assert.Equal(engine.Prompts.Count(p => p.Contains("removed to fit", StringComparison.Ordinal) && !PreviousHadSameNote(engine, p)), notices.Length);
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task The_compaction_is_kept_in_the_history_so_the_next_turn_starts_from_it()
    {
        int[] lengths = await PromptLengthsAsync(new FakeEngine(Answer), 4);
        // Room for three turns once compacted, but not four: the third prompt compacts, the fourth need not.
        int contextSize = lengths[2] + MaxTokens - 1;
        var engine = new FakeEngine(Answer) { ContextSize = contextSize };
        await using var agent = new AgentHarness(engine, s_options);
        string session = await agent.NewSessionAsync();

        for (int n = 1; n <= 3; n++)
        {
            await agent.PromptAsync(session, Request(n));
        }

        (_, List<JsonElement> fourth) = await agent.PromptAsync(session, "ok");

        Assert.Contains("removed to fit", engine.Prompts[2], StringComparison.Ordinal);
        // The fourth prompt begins as the third did after its compaction: the note, then what was kept.
        string note = NoteOf(engine.Prompts[2]);
        Assert.Equal(note, NoteOf(engine.Prompts[3]));
        Assert.DoesNotContain(Updates.OfKind(fourth, "agent_message_chunk"), u => u.GetProperty("content").GetProperty("text").GetString()!.Contains("too long", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_with_the_compaction_capability_gets_compaction_updates_valid_against_the_schema()
    {
        int[] lengths = await PromptLengthsAsync(new FakeEngine(Answer), 3);
        var engine = new FakeEngine(Answer) { ContextSize = lengths[2] + MaxTokens - 1 };
        await using var agent = new AgentHarness(engine, s_options);
        string session = (await agent.NewSessionAsync("/workspace", s_compactionClient)).GetProperty("sessionId").GetString()!;

        await agent.PromptAsync(session, Request(1));
        await agent.PromptAsync(session, Request(2));
        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, Request(3));

        Assert.Equal("end_turn", Updates.StopReason(response));
        JsonElement[] compaction = [.. Updates.OfKind(notifications, "compaction_update")];
        Assert.Equal(["in_progress", "completed"], compaction.Select(u => u.GetProperty("status").GetString()));
        Assert.Single(compaction.Select(u => u.GetProperty("compactionId").GetString()).Distinct());
        Assert.Contains("oldest turn", compaction[1].GetProperty("summary")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.False(compaction[0].TryGetProperty("summary", out _));
        // Told once, in one place: no message besides.
        Assert.DoesNotContain("too long", Updates.Text(notifications, "agent_message_chunk"), StringComparison.Ordinal);
        // Before the model's answer.
        Assert.True(notifications.FindIndex(n => Updates.Kind(n) == "compaction_update") < notifications.FindIndex(n => Updates.Kind(n) == "agent_message_chunk"));
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task Reasoning_of_earlier_tool_rounds_goes_before_any_turn()
    {
        string analysis1 = "FIRST-ROUND " + new string('r', 300);
        string analysis2 = "SECOND-ROUND " + new string('s', 60);
        string[] completions =
        [
            "<|channel|>final<|message|>Hello.<|return|>",
            $"<|channel|>analysis<|message|>{analysis1}<|end|><|start|>assistant<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{{\"path\":\"a.txt\"}}<|call|>",
            $"<|channel|>analysis<|message|>{analysis2}<|end|><|start|>assistant<|channel|>commentary to=functions.read_file <|constrain|>json<|message|>{{\"path\":\"b.txt\"}}<|call|>",
            "<|channel|>final<|message|>Neither exists.<|return|>",
        ];
        string cwd = Directory.CreateTempSubdirectory("compaction-").FullName;
        var options = new AgentOptions { MaxTokens = 400 };
        var sizing = new FakeEngine(completions);
        await using (var measure = new AgentHarness(sizing, options))
        {
            string id = await measure.NewSessionAsync(cwd);
            await measure.PromptAsync(id, "hi");
            await measure.PromptAsync(id, "Read a.txt and b.txt");
        }

        // The last round's prompt, less 100 tokens: dropping the first round's reasoning (300 and more) makes room.
        Assert.Contains("FIRST-ROUND", sizing.Prompts[3], StringComparison.Ordinal);
        int contextSize = sizing.PromptTokens[3].Length - 100 + options.MaxTokens;
        Assert.True(options.MaxTokens <= contextSize / 4, "the reserve is the budget");
        var engine = new FakeEngine(completions) { ContextSize = contextSize };
        await using var agent = new AgentHarness(engine, options);
        string session = (await agent.NewSessionAsync(cwd, s_compactionClient)).GetProperty("sessionId").GetString()!;
        await agent.PromptAsync(session, "hi");

        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, "Read a.txt and b.txt");

        Assert.Equal("end_turn", Updates.StopReason(response));
        Assert.Equal(4, engine.Prompts.Count);
        string last = engine.Prompts[3];
        Assert.DoesNotContain("FIRST-ROUND", last, StringComparison.Ordinal);
        Assert.Contains(analysis2, last, StringComparison.Ordinal);
        // The earlier turn stays whole, and so do the open tool results.
        Assert.Contains("<|start|>user<|message|>hi<|end|>", last, StringComparison.Ordinal);
        Assert.DoesNotContain("removed to fit", last, StringComparison.Ordinal);
        Assert.Contains("functions.read_file to=assistant", last, StringComparison.Ordinal);
        Assert.True(engine.PromptTokens[3].Length + options.MaxTokens <= contextSize);
        JsonElement completed = Updates.OfKind(notifications, "compaction_update").Last();
        Assert.Equal("completed", completed.GetProperty("status").GetString());
        Assert.Contains("reasoning of earlier tool rounds", completed.GetProperty("summary")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("oldest", completed.GetProperty("summary")[0].GetProperty("text").GetString(), StringComparison.Ordinal);
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task A_turn_that_alone_cannot_fit_ends_max_tokens_with_a_clear_message_and_no_model_call()
    {
        int[] lengths = await PromptLengthsAsync(new FakeEngine(Answer), 1);
        var engine = new FakeEngine(Answer) { ContextSize = lengths[0] + 400 };
        await using var agent = new AgentHarness(engine, s_options);
        string session = await agent.NewSessionAsync();
        await agent.PromptAsync(session, Request(1));

        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, new string('z', 2000));

        Assert.Equal("max_tokens", Updates.StopReason(response));
        Assert.Single(engine.Prompts);
        string text = Updates.Text(notifications, "agent_message_chunk");
        Assert.Contains("does not fit the model's context", text, StringComparison.Ordinal);
        Assert.Contains("the oldest turn", text, StringComparison.Ordinal);
        Assert.Empty(Updates.OfKind(notifications, "usage_update"));

        // The session goes on: a short prompt after it fits again.
        (JsonElement next, _) = await agent.PromptAsync(session, "short");
        Assert.Equal("end_turn", Updates.StopReason(next));
        await AssertValidAsync(agent);
    }

    [Fact]
    public async Task A_turn_that_cannot_fit_fails_the_compaction_update_with_its_reason()
    {
        int[] lengths = await PromptLengthsAsync(new FakeEngine(Answer), 1);
        var engine = new FakeEngine(Answer) { ContextSize = lengths[0] + MaxTokens };
        await using var agent = new AgentHarness(engine, s_options);
        string session = (await agent.NewSessionAsync("/workspace", s_compactionClient)).GetProperty("sessionId").GetString()!;
        await agent.PromptAsync(session, Request(1));

        (JsonElement response, List<JsonElement> notifications) = await agent.PromptAsync(session, new string('z', 2000));

        Assert.Equal("max_tokens", Updates.StopReason(response));
        JsonElement[] compaction = [.. Updates.OfKind(notifications, "compaction_update")];
        Assert.Equal(["in_progress", "failed"], compaction.Select(u => u.GetProperty("status").GetString()));
        Assert.Contains("does not fit", compaction[1].GetProperty("error").GetString(), StringComparison.Ordinal);
        Assert.Contains("does not fit", Updates.Text(notifications, "agent_message_chunk"), StringComparison.Ordinal);
        await AssertValidAsync(agent);
    }

    /// <summary>The lengths of the prompts <paramref name="count"/> turns send on a context that never fills.</summary>
    private static async Task<int[]> PromptLengthsAsync(FakeEngine engine, int count)
    {
        await using var agent = new AgentHarness(engine, s_options);
        string session = await agent.NewSessionAsync();
        for (int n = 1; n <= count; n++)
        {
            await agent.PromptAsync(session, Request(n));
        }

        return [.. engine.PromptTokens.Select(p => p.Length)];
    }

    private static string NoteOf(string prompt)
    {
        int start = prompt.IndexOf("(Note from the agent", StringComparison.Ordinal);
        Assert.True(start >= 0, "no note");
        return prompt[start..prompt.IndexOf("<|end|>", start, StringComparison.Ordinal)];
    }

    // A prompt whose note is the one of the prompt before it carries an old compaction, not a new one.
    private static bool PreviousHadSameNote(FakeEngine engine, string prompt)
    {
        int index = engine.Prompts.IndexOf(prompt);
        return index > 0 && engine.Prompts[index - 1].Contains("removed to fit", StringComparison.Ordinal) && NoteOf(engine.Prompts[index - 1]) == NoteOf(prompt);
    }

    /// <summary>Every session/update the agent wrote passes the ACP SDK's schema.</summary>
    private static async Task AssertValidAsync(AgentHarness agent)
    {
        string traffic = string.Join('\n', agent.Written
            .Where(w => w.TryGetProperty("method", out JsonElement method) && method.GetString() == "session/update")
            .Select(w => w.GetRawText()));
        ProcessResult validation = await AcpValidator.RunAsync(traffic + "\n");
        Assert.True(validation.ExitCode == 0, validation.Output);
    }

    private static int Tokens(string literal)
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize(literal, O200kByteTokenizer.Instance, tokens);
        return tokens.Count;
    }
}
