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
}
