using Acp.GptOss.Inference;
using Acp.GptOss.Routing;
using Acp.Protocol;

namespace Acp.GptOss.Tests.Routing;

public sealed class PromptRouterTests
{
    private static Route Decide(int tokens, ModelChoice choice = ModelChoice.Auto, bool hasFast = true, bool escalated = false, params string[] signals) =>
        PromptRouter.Decide(new RouteInput(choice, hasFast, escalated, tokens, PromptRouter.DefaultThreshold, signals));

    [Fact]
    public void A_short_plain_request_goes_to_the_fast_model()
    {
        Route route = Decide(12);

        Assert.Equal(ModelRole.Fast, route.Model);
        Assert.Equal([PromptRouter.ShortRequest], route.Reasons);
    }

    [Theory]
    [InlineData(140, "fast")]
    [InlineData(141, "gpt-oss")]
    public void The_threshold_is_the_most_tokens_the_fast_model_takes(int tokens, string model)
    {
        Route route = Decide(tokens);

        Assert.Equal(model, route.Model.WireName());
        Assert.Equal(model == ModelRoles.GptOssName, route.Reasons.Contains(PromptRouter.OverThreshold));
    }

    [Fact]
    public void A_code_request_goes_to_gpt_oss_however_short()
    {
        Route route = Decide(9, signals: CodeSignals.ImperativeCode);

        Assert.Equal(ModelRole.GptOss, route.Model);
        Assert.Equal([PromptRouter.CodeGeneration], route.Reasons);
    }

    [Fact]
    public void Without_a_fast_model_everything_goes_to_gpt_oss_and_says_so()
    {
        Route route = Decide(5, hasFast: false);

        Assert.Equal(ModelRole.GptOss, route.Model);
        Assert.Equal([PromptRouter.NoFastModel], route.Reasons);
    }

    [Fact]
    public void A_session_that_went_to_gpt_oss_stays_there()
    {
        Route route = Decide(5, escalated: true);

        Assert.Equal(ModelRole.GptOss, route.Model);
        Assert.Equal([PromptRouter.Escalated], route.Reasons);
    }

    [Fact]
    public void Every_reason_that_holds_is_given()
    {
        Route route = Decide(500, hasFast: false, escalated: true, signals: CodeSignals.CodeFence);

        Assert.Equal([PromptRouter.NoFastModel, PromptRouter.OverThreshold, PromptRouter.CodeGeneration, PromptRouter.Escalated], route.Reasons);
    }

    [Theory]
    [InlineData(nameof(ModelChoice.GptOss), 3, "gpt-oss")]
    [InlineData(nameof(ModelChoice.Fast), 900, "fast")]
    public void The_user_s_choice_wins_over_the_router(string choice, int tokens, string model)
    {
        Route route = Decide(tokens, Enum.Parse<ModelChoice>(choice), escalated: true, signals: CodeSignals.Diff);

        Assert.Equal(model, route.Model.WireName());
        Assert.Equal([PromptRouter.UserChoice], route.Reasons);
    }

    [Fact]
    public void Choosing_fast_without_a_fast_model_still_routes_to_gpt_oss()
    {
        Route route = Decide(3, ModelChoice.Fast, hasFast: false);

        Assert.Equal(ModelRole.GptOss, route.Model);
        Assert.Contains(PromptRouter.NoFastModel, route.Reasons);
    }
}

public sealed class CodeSignalsTests
{
    private static IReadOnlyList<string> Find(string text, params ContentBlock[] blocks) => CodeSignals.Find(text, blocks);

    [Theory]
    [InlineData("Write a function that reverses a string", CodeSignals.ImperativeCode)]
    [InlineData("please implement the parser for me", CodeSignals.ImperativeCode)]
    [InlineData("Can you fix the failing unit test?", CodeSignals.ImperativeCode)]
    [InlineData("Refactor this class into two", CodeSignals.ImperativeCode)]
    [InlineData("generate SQL for the report", CodeSignals.ImperativeCode)]
    [InlineData("Look:\n```\nint x = 1;\n```", CodeSignals.CodeFence)]
    [InlineData("diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -1,2 +1,3 @@\n", CodeSignals.Diff)]
    [InlineData("Why does Program.cs not build?", CodeSignals.SourceFile)]
    [InlineData("what's in src/main.py", CodeSignals.SourceFile)]
    [InlineData("Unhandled exception. System.NullReferenceException\n   at Foo.Bar.Baz() in /x.cs:line 3", CodeSignals.StackTrace)]
    [InlineData("Traceback (most recent call last):\n  File \"a.py\", line 1, in <module>", CodeSignals.StackTrace)]
    [InlineData("TypeError: x is undefined\n    at run (/app/index.js:10:5)", CodeSignals.StackTrace)]
    public void Each_signal_is_found(string text, string signal)
    {
        Assert.Contains(signal, Find(text));
    }

    [Theory]
    [InlineData("What is the capital of France?")]
    [InlineData("Write me a poem about autumn")]
    [InlineData("Thanks, that fixed it!")]
    [InlineData("How do I add a row to a table in Word?")]
    [InlineData("The meeting is at 3.30 today")]
    public void Plain_conversation_has_no_signal(string text)
    {
        Assert.Empty(Find(text));
    }

    [Fact]
    public void Attached_and_linked_files_are_signals()
    {
        IReadOnlyList<string> signals = Find(
            "look at these",
            new TextContent("look at these"),
            new EmbeddedResourceContent(new EmbeddedResource("file:///w/a.txt") { Text = "hello" }),
            new ResourceLinkContent("file:///w/b.txt", "b.txt"));

        Assert.Equal([CodeSignals.EmbeddedFile, CodeSignals.LinkedFile], signals);
    }

    [Fact]
    public void A_web_link_is_not_a_file()
    {
        Assert.Empty(Find("see", new ResourceLinkContent("https://example.com/", "example")));
    }
}
