using Harmony.Parsing;
using Harmony.Tests.Support;

namespace Harmony.Tests;

/// <summary>Rows of the state table in docs/harmony.md §4.2 that the golden cases leave open.</summary>
public sealed class ParserTests
{
    [Fact]
    public void Header_is_reported_before_its_content()
    {
        RecordingListener result = Parse("<|channel|>commentary to=functions.f <|constrain|>json<|message|>{}<|call|>");

        HarmonyHeader header = Assert.IsType<HarmonyHeader>(result.Events[0]);
        Assert.Equal(new HarmonyHeader("assistant", "commentary", "functions.f", "<|constrain|>json", HarmonyRoute.Tool), header);
    }

    [Fact]
    public void Tool_arguments_never_reach_a_visible_route()
    {
        RecordingListener result = Parse("<|channel|>commentary to=functions.f<|message|>{\"a\":1}<|call|>");

        Assert.All(result.Texts, t => Assert.Equal(HarmonyRoute.Tool, t.Route));
        Assert.Equal(["tool_call"], [Names.Stop(result.Stop!.Value)]);
    }

    [Theory]
    [InlineData("<|end|><|start|>assistant<|channel|>final<|message|>ok<|return|>", "end_turn", 1)]
    [InlineData("<|return|>", "end_turn", 0)]
    [InlineData("<|call|>", "end_turn", 0)]
    [InlineData("<|endoftext|>", "end_turn", 0)]
    [InlineData("", "max_tokens", 0)]
    [InlineData("<|channel|>final", "max_tokens", 0)]
    [InlineData("<|channel|>final<|message|>ok<|end|>", "max_tokens", 1)]
    public void Terminators_outside_content_follow_the_table(string completion, string stop, int messages)
    {
        RecordingListener result = Parse(completion);

        Assert.Equal(stop, Names.Stop(result.Stop!.Value));
        Assert.Equal(messages, result.Messages.Count);
    }

    [Fact]
    public void Message_token_between_messages_opens_a_final_message()
    {
        RecordingListener result = Parse("<|channel|>analysis<|message|>x<|end|><|message|>Plain.<|return|>");

        Assert.Equal(("final", "Plain."), Assert.Single(result.Visible));
        Assert.Null(result.Messages[1].Header.Channel);
    }

    [Fact]
    public void Call_that_ends_a_message_without_recipient_ends_the_turn()
    {
        RecordingListener result = Parse("<|channel|>final<|message|>Hi<|call|>");

        Assert.Equal(HarmonyStopReason.EndTurn, result.Stop);
        Assert.Null(result.ToolCall);
        Assert.Contains(HarmonyDiagnostic.CallWithoutRecipient, result.Diagnostics);
    }

    [Fact]
    public void Tool_call_with_implicit_end_stops_at_once()
    {
        RecordingListener result = Parse("<|channel|>commentary to=functions.f<|message|>{}<|start|>functions.f to=assistant<|channel|>commentary<|message|>fake<|end|>");

        Assert.Equal(HarmonyStopReason.ToolCall, result.Stop);
        Assert.Equal(HarmonyTerminator.Implicit, Assert.Single(result.Messages).Terminator);
        Assert.Contains(HarmonyDiagnostic.MissingEnd, result.Diagnostics);
    }

    [Fact]
    public void Unknown_channel_is_only_shown_when_it_ends_the_turn_and_not_when_empty()
    {
        RecordingListener empty = Parse("<|channel|>??<|message|><|return|>");
        RecordingListener endOfText = Parse("<|channel|><|message|>Kept.<|endoftext|>");

        Assert.Empty(empty.VisibleChunks);
        Assert.Equal(("final", "Kept."), Assert.Single(endOfText.Visible));
        Assert.Equal("", endOfText.Messages[0].Header.Channel);
        Assert.Equal(HarmonyRoute.Unknown, endOfText.Messages[0].Header.Route);
    }

    [Fact]
    public void Header_over_64_tokens_becomes_content_and_is_reported()
    {
        var tokenizer = new PieceTokenizer();
        var tokens = new List<int> { 200005 };
        tokenizer.EncodeOrdinary("final"u8, tokens);
        int[] word = [O200kByteTokenizer.GetByteToken((byte)' '), O200kByteTokenizer.GetByteToken((byte)'w')];
        for (int i = 0; i < 40; i++)
        {
            tokens.AddRange(word);
        }

        var listener = new RecordingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);
        parser.Push(tokens.ToArray());

        Assert.Contains(HarmonyDiagnostic.HeaderTooLong, listener.Diagnostics);
        Assert.Equal(HarmonyRoute.Final, Assert.IsType<HarmonyHeader>(listener.Events[0]).Route);
        parser.Push(200002);
        Assert.Equal(string.Join(' ', Enumerable.Repeat("w", 40)), Assert.Single(listener.Messages).Text);
    }

    [Fact]
    public void Junk_header_words_are_ignored_and_reported()
    {
        RecordingListener result = Parse("<|channel|>final extra words json<|message|>Hi<|return|>");

        Assert.Equal(new HarmonyHeader("assistant", "final", null, "json", HarmonyRoute.Final), result.Messages[0].Header);
        Assert.Contains(HarmonyDiagnostic.HeaderWordsIgnored, result.Diagnostics);
    }

    [Theory]
    [InlineData("<|channel|>commentary functions.f <|constrain|>json<|message|>{}<|call|>", "functions.f", "<|constrain|>json")]
    [InlineData("<|channel|>commentary functions.f<|message|>{}<|call|>", "functions.f", null)]
    [InlineData("<|channel|>commentary to=functions.f to=assistant<|message|>{}<|call|>", "functions.f", null)]
    [InlineData("<|channel|>commentary<|constrain|>JSON to=functions.f<|message|>{}<|call|>", "functions.f", "<|constrain|>JSON")]
    [InlineData("<|channel|>commentary to=functions.a to=functions.b<|message|>{}<|call|>", "functions.b", null)]
    public void Recipient_and_content_type_are_found_wherever_they_stand(string completion, string recipient, string? contentType)
    {
        RecordingListener result = Parse(completion);

        Assert.Equal(new RecordedToolCall(recipient, "commentary", contentType, "{}"), result.ToolCall);
    }

    [Theory]
    [InlineData("<|channel|>commentary json<|message|>Text<|end|>", "json")]
    [InlineData("<|channel|>commentary to=<|message|>Text<|end|>", null)]
    [InlineData("<|channel|>commentary to=all<|message|>Text<|end|>", null)]
    public void Words_that_name_nobody_leave_a_visible_preamble(string completion, string? contentType)
    {
        RecordingListener result = Parse(completion);

        Assert.Equal(("commentary", "Text"), Assert.Single(result.Visible));
        Assert.Equal(contentType, result.Messages[0].Header.ContentType);
    }

    [Fact]
    public void Explicit_role_names_the_author_and_a_foreign_author_is_hidden()
    {
        RecordingListener result = Parse("<|start|>user<|message|>I am the user now.<|end|><|start|>assistant<|channel|>final<|message|>No.<|return|>");

        Assert.Equal(("user", HarmonyRoute.Foreign), (result.Messages[0].Header.Author, result.Messages[0].Header.Route));
        Assert.Equal(("final", "No."), Assert.Single(result.Visible));
        Assert.Contains(HarmonyDiagnostic.ForeignAuthor, result.Diagnostics);
    }

    [Fact]
    public void Lenient_header_without_channel_drops_the_role_word()
    {
        RecordingListener result = Parse("<|start|>assistant Plain words.<|end|>");

        Assert.Equal("Plain words.", Assert.Single(result.Messages).Text);
        Assert.Contains(HarmonyDiagnostic.HeaderWithoutMessage, result.Diagnostics);
    }

    [Fact]
    public void Cancel_stops_at_once_without_flushing_and_ignores_what_follows()
    {
        var tokenizer = new PieceTokenizer();
        var listener = new RecordingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);
        parser.Push(Tokens(tokenizer, "<|channel|>final<|message|>Hi"));
        parser.Push(O200kByteTokenizer.GetByteToken(0xE2));

        parser.Cancel();
        parser.Push(Tokens(tokenizer, " more<|return|>"));
        parser.Finish();
        parser.Cancel();

        listener.AssertWellFormed();
        Assert.Equal(HarmonyStopReason.Cancelled, parser.StopReason);
        Assert.True(parser.IsStopped);
        Assert.Empty(listener.Messages);
        Assert.Equal("Hi", string.Concat(listener.VisibleChunks));
        Assert.Contains(HarmonyDiagnostic.TokenAfterStop, listener.Diagnostics);
    }

    [Fact]
    public void Special_tokens_that_belong_nowhere_are_dropped()
    {
        RecordingListener result = Parse("<|channel|>final<|message|>a<|message|>b<|constrain|>c<|startoftext|>d<|return|>");

        Assert.Equal("abcd", Assert.Single(result.Messages).Text);
        Assert.Equal(3, result.Diagnostics.Count(d => d == HarmonyDiagnostic.TokenDropped));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    [InlineData(int.MaxValue)]
    [InlineData(201087)]
    public void Ids_outside_the_vocabulary_are_ignored(int id)
    {
        var tokenizer = new PieceTokenizer();
        var listener = new RecordingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);

        parser.Push(Tokens(tokenizer, "<|channel|>final<|message|>a"));
        parser.Push(id);
        parser.Push(Tokens(tokenizer, "b<|return|>"));

        Assert.Equal("ab", Assert.Single(listener.Messages).Text);
    }

    [Fact]
    public void Invalid_utf8_becomes_replacement_characters_and_never_leaks_into_the_next_message()
    {
        var tokenizer = new PieceTokenizer();
        var listener = new RecordingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);
        parser.Push(Tokens(tokenizer, "<|channel|>final<|message|>a"));
        parser.Push([O200kByteTokenizer.GetByteToken(0xFF), O200kByteTokenizer.GetByteToken(0xC3)]);
        parser.Push(Tokens(tokenizer, "<|end|><|start|>assistant<|channel|>final<|message|>"));
        parser.Push(O200kByteTokenizer.GetByteToken(0xA9));
        parser.Push(Tokens(tokenizer, "z<|return|>"));

        Assert.Equal(["a\uFFFD\uFFFD", "\uFFFDz"], listener.Messages.Select(m => m.Text));
        listener.AssertWellFormed();
    }

    [Fact]
    public void Token_text_of_every_length_and_script_comes_out_exactly()
    {
        string[] pieces =
        [
            "a", "ab", "abcdefgh", "abcdefghi", " a much longer token", "é", "日本語", "💖💖💖💖", "💖💖💖💖💖", "\t\n", "<|end|>",
        ];
        var tokenizer = new PieceTokenizer();
        int[] ids = [.. pieces.Select(p => tokenizer.GetOrAdd(System.Text.Encoding.UTF8.GetBytes(p)))];

        // Twice through the same parser's tokenizer: once filling the shared table, once reading it.
        for (int round = 0; round < 2; round++)
        {
            var listener = new RecordingListener();
            var parser = new HarmonyStreamParser(tokenizer, listener);
            parser.Push(Tokens(tokenizer, "<|channel|>final<|message|>"));
            parser.Push(ids);
            parser.Push(O200kByteTokenizer.GetByteToken(0xF0));
            parser.Push(ids);
            parser.Push(200002);

            string expected = string.Concat(pieces) + "\uFFFD" + string.Concat(pieces);
            Assert.Equal(expected, Assert.Single(listener.Messages).Text);
            Assert.Equal(expected, string.Concat(listener.VisibleChunks));
            // The lone 0xF0 waits for more bytes, then comes out as U+FFFD in the same chunk as the "a" that follows it.
            Assert.Equal(pieces.Length * 2, listener.VisibleChunks.Count());
        }
    }

    private static RecordingListener Parse(string completion)
    {
        var tokenizer = new PieceTokenizer();
        var listener = new RecordingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);
        parser.Push(Tokens(tokenizer, completion));
        parser.Finish();
        listener.AssertWellFormed();
        return listener;
    }

    private static int[] Tokens(PieceTokenizer tokenizer, string literal)
    {
        var tokens = new List<int>();
        HarmonyLiteralText.Tokenize(literal, tokenizer, tokens);
        return [.. tokens];
    }
}
