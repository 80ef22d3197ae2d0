using Harmony.Conversations;
using Harmony.Rendering;

namespace Harmony.Tests;

public sealed class RenderTests
{
    private static readonly HarmonyEncoding s_encoding = new(O200kByteTokenizer.Instance);

    [Fact]
    public void System_message_follows_effort_and_leaves_out_missing_lines()
    {
        var conversation = new HarmonyConversation(
            new HarmonySystemContent { KnowledgeCutoff = null, ReasoningEffort = ReasoningEffort.High },
            null,
            [HarmonyMessage.User("Hi")]);

        string text = s_encoding.RenderForCompletionText(conversation);

        Assert.StartsWith(
            "<|start|>system<|message|>You are ChatGPT, a large language model trained by OpenAI.\n\nReasoning: high\n\n# Valid channels: analysis, commentary, final. Channel must be included for every message.<|end|>",
            text,
            StringComparison.Ordinal);
        Assert.DoesNotContain("Calls to these tools", text, StringComparison.Ordinal);
        Assert.DoesNotContain("developer", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Developer_message_without_tools_holds_only_instructions()
    {
        var conversation = new HarmonyConversation(new HarmonySystemContent(), new HarmonyDeveloperContent("Be terse."), [HarmonyMessage.User("Hi")]);

        string text = s_encoding.RenderForCompletionText(conversation);

        Assert.Contains("<|start|>developer<|message|># Instructions\n\nBe terse.<|end|><|start|>user", text, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void The_history_is_what_the_next_turns_prompt_begins_with(bool answered)
    {
        // A turn that ended in a final answer, or one cut off in its tool loop (a cancel): the reasoning still in the
        // second's prompt is gone from the next turn's.
        HarmonyMessage[] turn =
        [
            HarmonyMessage.User("Q1"),
            HarmonyMessage.Assistant(HarmonyChannel.Analysis, "thought"),
            HarmonyMessage.ToolCall("functions.f", "{}"),
            HarmonyMessage.ToolResult("functions.f", "ok"),
            .. answered ? new[] { HarmonyMessage.Assistant(HarmonyChannel.Final, "A1") } : [],
        ];
        var conversation = new HarmonyConversation(new(), new HarmonyDeveloperContent("Be terse."), turn);

        int[] history = s_encoding.RenderHistory(conversation);
        int[] next = s_encoding.RenderForCompletion(conversation with { Messages = [.. turn, HarmonyMessage.User("Q2")] });

        Assert.Equal(history, next.AsSpan(0, history.Length).ToArray());
        Assert.Equal(s_encoding.SpecialTokens.Start, next[history.Length]);
        string text = string.Concat(history.Select(t => System.Text.Encoding.UTF8.GetString(O200kByteTokenizer.Instance.GetTokenBytes(t))));
        Assert.DoesNotContain("thought", text, StringComparison.Ordinal);
        Assert.Contains("Q1", text, StringComparison.Ordinal);
    }

    [Fact]
    public void Analysis_is_kept_while_the_turn_runs_and_dropped_once_a_final_ends_it()
    {
        HarmonyMessage[] running =
        [
            HarmonyMessage.User("Q1"),
            HarmonyMessage.Assistant(HarmonyChannel.Analysis, "old thought"),
            HarmonyMessage.Assistant(HarmonyChannel.Final, "A1"),
            HarmonyMessage.User("Q2"),
            HarmonyMessage.Assistant(HarmonyChannel.Analysis, "new thought"),
            HarmonyMessage.ToolCall("functions.f", "{}"),
            HarmonyMessage.ToolResult("functions.f", "ok"),
        ];

        string during = s_encoding.RenderForCompletionText(new HarmonyConversation(new(), null, running));
        string after = s_encoding.RenderForCompletionText(new HarmonyConversation(new(), null, [.. running, HarmonyMessage.Assistant(HarmonyChannel.Final, "A2")]));

        Assert.DoesNotContain("old thought", during, StringComparison.Ordinal);
        Assert.Contains("<|start|>assistant<|channel|>analysis<|message|>new thought<|end|>", during, StringComparison.Ordinal);
        Assert.DoesNotContain("new thought", after, StringComparison.Ordinal);
        Assert.Contains("<|channel|>final<|message|>A1<|end|>", during, StringComparison.Ordinal);
        Assert.Contains("<|start|>assistant<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>", after, StringComparison.Ordinal);
    }

    [Fact]
    public void History_never_holds_return()
    {
        var conversation = new HarmonyConversation(new(), null, [HarmonyMessage.User("Q"), HarmonyMessage.Assistant(HarmonyChannel.Final, "A"), HarmonyMessage.User("Q2")]);

        int[] tokens = s_encoding.RenderForCompletion(conversation);

        Assert.DoesNotContain(HarmonySpecialTokens.O200kHarmony.Return, tokens);
        Assert.Contains(HarmonySpecialTokens.O200kHarmony.End, tokens);
    }

    [Fact]
    public void Content_type_is_rendered_as_written()
    {
        string constrained = Render(HarmonyMessage.ToolCall("functions.a", "{}", HarmonyChannel.Commentary, "<|constrain|>json"));
        string bare = Render(HarmonyMessage.ToolCall("python", "print(1)", HarmonyChannel.Analysis, "code"));
        string none = Render(HarmonyMessage.ToolCall("functions.b", "{}", HarmonyChannel.Commentary, null));

        Assert.Equal("<|start|>assistant<|channel|>commentary to=functions.a <|constrain|>json<|message|>{}<|call|>", constrained);
        Assert.Equal("<|start|>assistant<|channel|>analysis to=python code<|message|>print(1)<|call|>", bare);
        Assert.Equal("<|start|>assistant<|channel|>commentary to=functions.b<|message|>{}<|call|>", none);
    }

    [Fact]
    public void A_constrain_content_type_is_one_special_token()
    {
        var tokens = new List<int>();
        s_encoding.RenderMessage(HarmonyMessage.ToolCall("functions.a", "{}"), tokens);

        Assert.Single(tokens, HarmonySpecialTokens.O200kHarmony.Constrain);
        Assert.Equal(HarmonySpecialTokens.O200kHarmony.Call, tokens[^1]);
    }

    [Fact]
    public void Sampling_stops_are_return_call_and_endoftext_never_end()
    {
        int[] stops = s_encoding.SamplingStops.ToArray();

        Assert.Equal([200002, 200012, 199999], stops);
        Assert.DoesNotContain(200007, stops);
    }

    private static string Render(HarmonyMessage message)
    {
        var tokens = new List<int>();
        s_encoding.RenderMessage(message, tokens);
        return HarmonyLiteralText.Render([.. tokens], O200kByteTokenizer.Instance);
    }
}
