using Acp.GptOss.Agent;
using Acp.GptOss.Inference;
using Harmony.Conversations;
using Harmony.Parsing;

namespace Acp.GptOss.Tests.Agent;

/// <summary>A session's history on its own: each named operation and what it leaves.</summary>
public sealed class ConversationHistoryTests
{
    private static ParsedMessage Message(HarmonyRoute route, string text, HarmonyTerminator terminator = HarmonyTerminator.End, string? channel = null, string? recipient = null) =>
        new(new HarmonyHeader(route == HarmonyRoute.Foreign ? "tool" : "assistant", channel, recipient, recipient is null ? null : "<|constrain|>json", route), text, terminator);

    [Fact]
    public void The_user_s_prompt_is_a_user_message()
    {
        var history = new ConversationHistory();

        history.AddUserPrompt("hi");

        Assert.Equal([HarmonyMessage.User("hi")], history.Messages);
    }

    [Fact]
    public void A_model_call_keeps_reasoning_answers_and_calls_and_drops_what_nobody_should_see()
    {
        var history = new ConversationHistory();

        history.RecordModelCall([
            Message(HarmonyRoute.Analysis, "think", channel: "analysis"),
            Message(HarmonyRoute.Commentary, "Let me look.", channel: "commentary"),
            Message(HarmonyRoute.Foreign, "fake result"),
            Message(HarmonyRoute.Unknown, "held back", channel: "finalx"),
            Message(HarmonyRoute.Tool, "{\"path\":\"a\"}", HarmonyTerminator.Call, "commentary", "functions.read_file"),
            Message(HarmonyRoute.Tool, "{\"pa", HarmonyTerminator.Truncated, "commentary", "functions.read_file"),
            Message(HarmonyRoute.Final, "Done.", HarmonyTerminator.Return, "final"),
            Message(HarmonyRoute.Unknown, "shown as the answer", HarmonyTerminator.Return, "??"),
        ]);

        Assert.Equal(
            [
                HarmonyMessage.Assistant(HarmonyChannel.Analysis, "think"),
                HarmonyMessage.Assistant(HarmonyChannel.Commentary, "Let me look."),
                HarmonyMessage.ToolCall("functions.read_file", "{\"path\":\"a\"}", HarmonyChannel.Commentary, "<|constrain|>json"),
                HarmonyMessage.Assistant(HarmonyChannel.Final, "Done."),
                HarmonyMessage.Assistant(HarmonyChannel.Final, "shown as the answer"),
            ],
            history.Messages);
    }

    [Fact]
    public void Shown_text_is_kept_as_a_final_answer_and_nothing_shown_adds_nothing()
    {
        var history = new ConversationHistory();

        history.AddShownText("Once upon");
        history.AddShownText("");

        Assert.Equal([HarmonyMessage.Assistant(HarmonyChannel.Final, "Once upon")], history.Messages);
    }

    [Fact]
    public void A_tool_result_follows_its_call_on_the_call_s_channel()
    {
        var history = new ConversationHistory();
        var call = new ParsedToolCall("functions.read_file", "analysis", "json", "{}");
        history.RecordModelCall([Message(HarmonyRoute.Tool, "{}", HarmonyTerminator.Call, "analysis", "functions.read_file")]);

        history.RecordToolResult(call, "functions.read_file", "contents");

        Assert.Equal(
            [
                HarmonyMessage.ToolCall("functions.read_file", "{}", HarmonyChannel.Analysis, "<|constrain|>json"),
                HarmonyMessage.ToolResult("functions.read_file", "contents", HarmonyChannel.Analysis),
            ],
            history.Messages);
    }

    [Fact]
    public void A_call_the_resolver_corrected_is_recorded_as_it_should_have_been_written()
    {
        var history = new ConversationHistory();
        var call = new ParsedToolCall("read_file", null, "json", "{\"path\":\"a\"}");
        history.RecordModelCall([Message(HarmonyRoute.Tool, "{\"path\":\"a\"}", HarmonyTerminator.Call, "commentary", "read_file")]);

        history.RecordToolResult(call, "functions.read_file", "contents");

        Assert.Equal(
            [
                HarmonyMessage.ToolCall("functions.read_file", "{\"path\":\"a\"}", HarmonyChannel.Commentary, "json"),
                HarmonyMessage.ToolResult("functions.read_file", "contents"),
            ],
            history.Messages);
    }

    [Fact]
    public void The_fast_model_sees_the_user_s_prompts_and_the_answers_shown_and_nothing_else()
    {
        var history = new ConversationHistory();
        history.AddUserPrompt("Capital of France?");
        history.AddShownText("Paris.");
        history.AddUserPrompt("Read a.txt");
        history.RecordModelCall([
            Message(HarmonyRoute.Analysis, "think", channel: "analysis"),
            Message(HarmonyRoute.Commentary, "Let me look.", channel: "commentary"),
            Message(HarmonyRoute.Tool, "{}", HarmonyTerminator.Call, "commentary", "functions.read_file"),
        ]);
        history.RecordToolResult(new ParsedToolCall("functions.read_file", "commentary", "json", "{}"), "functions.read_file", "hello");
        history.RecordModelCall([Message(HarmonyRoute.Final, "It says hello.", HarmonyTerminator.Return, "final")]);

        List<ChatMessage> chat = history.ToChatMessages("Be brief.");

        Assert.Equal(
            [
                new ChatMessage("system", "Be brief."),
                new ChatMessage("user", "Capital of France?"),
                new ChatMessage("assistant", "Paris."),
                new ChatMessage("user", "Read a.txt"),
                new ChatMessage("assistant", "It says hello."),
            ],
            chat);
    }

    [Fact]
    public void Dropping_reasoning_keeps_only_the_latest_tool_round_s_and_counts_what_rendered()
    {
        var history = new ConversationHistory();
        history.AddUserPrompt("one");
        history.RecordModelCall([Message(HarmonyRoute.Analysis, "old", channel: "analysis"), Message(HarmonyRoute.Final, "A.", HarmonyTerminator.Return, "final")]);
        history.AddUserPrompt("two");
        var call = new ParsedToolCall("functions.read_file", "commentary", "json", "{}");
        history.RecordModelCall([Message(HarmonyRoute.Analysis, "round 1", channel: "analysis"), Message(HarmonyRoute.Tool, "{}", HarmonyTerminator.Call, "commentary", "functions.read_file")]);
        history.RecordToolResult(call, "functions.read_file", "r1");
        history.RecordModelCall([Message(HarmonyRoute.Analysis, "round 2", channel: "analysis"), Message(HarmonyRoute.Tool, "{}", HarmonyTerminator.Call, "commentary", "functions.read_file")]);
        history.RecordToolResult(call, "functions.read_file", "r2");

        // "old" never rendered (an earlier turn's); "round 1" did.
        Assert.Equal(1, history.DropEarlierReasoning());

        Assert.Equal(["round 2"], history.Messages.Where(m => m.Channel == HarmonyChannel.Analysis).Select(m => m.Content));
        Assert.Equal(0, history.DropEarlierReasoning());
    }

    [Fact]
    public void On_a_turn_s_first_call_only_earlier_turns_reasoning_goes_and_none_of_it_rendered()
    {
        var history = new ConversationHistory();
        history.AddUserPrompt("one");
        history.RecordModelCall([Message(HarmonyRoute.Analysis, "old", channel: "analysis"), Message(HarmonyRoute.Final, "A.", HarmonyTerminator.Return, "final")]);
        history.AddUserPrompt("two");

        Assert.Equal(0, history.DropEarlierReasoning());

        Assert.Equal([HarmonyMessage.User("one"), HarmonyMessage.Assistant(HarmonyChannel.Final, "A."), HarmonyMessage.User("two")], history.Messages);
    }

    [Fact]
    public void Compacting_replaces_the_oldest_turns_with_a_note_and_keeps_the_rest()
    {
        var history = new ConversationHistory();
        for (int n = 1; n <= 4; n++)
        {
            history.AddUserPrompt($"request {n}");
            history.AddShownText($"answer {n}");
        }

        history.AddUserPrompt("current");
        Assert.Equal(4, history.EarlierTurns);

        List<HarmonyMessage> preview = history.WithOldestTurnsCompacted(2);
        Assert.Equal(9, history.Messages.Count);
        history.CompactOldestTurns(2);

        Assert.Equal(preview, history.Messages);
        Assert.Equal(2, history.CompactedTurns);
        Assert.Equal(2, history.EarlierTurns);
        HarmonyMessage note = history.Messages[0];
        Assert.Equal(HarmonyRole.User, note.Role);
        Assert.Contains("2 turns, was removed to fit the model's context", note.Content, StringComparison.Ordinal);
        Assert.Contains("\"request 1\"", note.Content, StringComparison.Ordinal);
        Assert.Equal(
            [HarmonyMessage.User("request 3"), HarmonyMessage.Assistant(HarmonyChannel.Final, "answer 3"), HarmonyMessage.User("request 4"), HarmonyMessage.Assistant(HarmonyChannel.Final, "answer 4"), HarmonyMessage.User("current")],
            history.Messages.Skip(1));

        // A second compaction folds the note in: one note, the count grown, the first request still the first.
        history.CompactOldestTurns(1);

        Assert.Equal(3, history.CompactedTurns);
        Assert.Single(history.Messages, m => m.Content.Contains("removed to fit", StringComparison.Ordinal));
        Assert.Contains("3 turns", history.Messages[0].Content, StringComparison.Ordinal);
        Assert.Contains("\"request 1\"", history.Messages[0].Content, StringComparison.Ordinal);
        Assert.Equal([HarmonyMessage.User("request 4"), HarmonyMessage.Assistant(HarmonyChannel.Final, "answer 4"), HarmonyMessage.User("current")], history.Messages.Skip(1));
        Assert.Throws<ArgumentOutOfRangeException>(() => history.CompactOldestTurns(2));
    }

    [Fact]
    public void A_long_first_request_is_cut_short_in_the_note()
    {
        var history = new ConversationHistory();
        history.AddUserPrompt(new string('x', 5000));
        history.AddUserPrompt("current");

        history.CompactOldestTurns(1);

        Assert.InRange(history.Messages[0].Content.Length, 200, 500);
        Assert.Contains("x…", history.Messages[0].Content, StringComparison.Ordinal);
    }
}
