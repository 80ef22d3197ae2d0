using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Harmony.Parsing;
using Harmony.Tests.Support;

namespace Harmony.Tests;

/// <summary>Properties over random streams: the parser never throws, never shows analysis, and does not care how text is split.</summary>
public sealed class ParserPropertyTests
{
    private static readonly HarmonySpecialTokens s_specials = HarmonySpecialTokens.O200kHarmony;
    private static readonly Config s_config = Config.QuickThrowOnFailure.WithMaxTest(400).WithEndSize(120);

    // Message headers as the model writes them, malformed ones included; each at most a few dozen bytes.
    private static readonly string[] s_headers =
    [
        "<|channel|>final", "<|channel|>commentary", "<|channel|>analysis",
        "<|channel|>commentary to=functions.read_file <|constrain|>json", " to=functions.list<|channel|>commentary json",
        "<|channel|>commentary to=functions.q<|channel|>commentary json", "<|channel|>final <|constrain|>json",
        "<|channel|>finalx", "<|channel|>??", "<|channel|>", "<|channel|>commentary to=assistant<|channel|>analysis",
        "<|channel|>final <|constrain|>functions.f", " to=python<|channel|>analysis code", "", "<|channel|>commentary Checking now",
    ];

    private static readonly byte[][] s_visibleContent =
    [
        "Hello"u8.ToArray(), " world"u8.ToArray(), ","u8.ToArray(), "\n"u8.ToArray(), "{\"a\":1}"u8.ToArray(),
        "é"u8.ToArray(), [0xE2, 0x98], [0x95], [0xF0, 0x9F], [0x92, 0x96], [0xFF], "<|end|>"u8.ToArray(), " to=x"u8.ToArray(),
    ];

    // Analysis text is made of 'Q' only, and nothing else ever contains a 'Q'.
    private static readonly byte[][] s_secretContent = ["Q"u8.ToArray(), "QQ"u8.ToArray(), " QQQ"u8.ToArray()];

    [Fact]
    public void Random_token_streams_never_throw_and_always_end_with_one_stop()
    {
        var tokenizer = new PieceTokenizer();
        int[] pieces = [.. new[] { "final", "analysis", "commentary", "comment", "ary", " to", "=functions", ".read", " json", "assistant", "é", "💖", "Hi there" }
            .Select(p => tokenizer.GetOrAdd(Encoding.UTF8.GetBytes(p)))];
        Gen<int> token = Gen.Frequency(
            (6, Gen.Choose(0, 255)),
            (3, Gen.Elements(pieces)),
            (4, Gen.Choose(199998, 200018)),
            (1, Gen.Elements(-1, 201087, int.MaxValue, 250000, 1_000_000)));
        Gen<(int[] Tokens, bool Cancel)> stream =
            from tokens in Gen.ArrayOf(token)
            from cancel in Gen.Elements(false, true)
            select (tokens, cancel);

        Check.One(s_config, Prop.ForAll(Arb.From(stream), input =>
        {
            var listener = new RecordingListener();
            var parser = new HarmonyStreamParser(tokenizer, listener);
            parser.Push(input.Tokens);
            if (input.Cancel)
            {
                parser.Cancel();
            }
            else
            {
                parser.Finish();
            }

            listener.AssertWellFormed();
            AssertVisibleTextComesOnlyFromVisibleMessages(listener);
            return true;
        }));
    }

    [Fact]
    public void Analysis_text_never_reaches_a_chunk()
    {
        var tokenizer = new PieceTokenizer();
        Check.One(s_config, Prop.ForAll(Arb.From(Completions(tokenizer)), tokens =>
        {
            foreach (int[] stream in new[] { tokens, tokenizer.SplitIntoBytes(tokens) })
            {
                RecordingListener listener = Run(tokenizer, stream);
                Assert.All(listener.VisibleChunks, chunk => Assert.DoesNotContain('Q', chunk));
                Assert.DoesNotContain(listener.Texts, t => t.Route == HarmonyRoute.Analysis && t.Route.IsVisible());
            }

            return true;
        }));
    }

    [Fact]
    public void Splitting_text_into_bytes_never_changes_messages()
    {
        var tokenizer = new PieceTokenizer();
        Check.One(s_config, Prop.ForAll(Arb.From(Completions(tokenizer)), tokens =>
        {
            RecordingListener whole = Run(tokenizer, tokens);
            RecordingListener split = Run(tokenizer, tokenizer.SplitIntoBytes(tokens));

            Assert.Equal(whole.Messages, split.Messages);
            Assert.Equal(whole.Visible, split.Visible);
            Assert.Equal(whole.ToolCall, split.ToolCall);
            Assert.Equal(whole.Stop, split.Stop);
            return true;
        }));
    }

    // Completions built from messages: header, content with noise, and a terminator that may be missing.
    // Every header stays under 64 bytes: the header limit counts tokens (docs/harmony.md §4.2), so a header longer than
    // 64 bytes overflows at a different point once split into bytes. A header without <|message|> therefore has no
    // content and always a terminator, so that it cannot swallow what follows.
    private static Gen<int[]> Completions(PieceTokenizer tokenizer)
    {
        int[] noise = [200000, 200004, 200013, 199998, s_specials.Message, s_specials.Constrain];
        Gen<int[]> content(byte[][] parts) => Gen.ListOf(Gen.Frequency(
                (8, Gen.Elements(parts).Select(part => tokenizer.GetOrAdd(part))),
                (1, Gen.Elements(noise))))
            .Select(list => list.ToArray());
        Gen<int> terminator(bool optional) => Gen.Frequency(
            (10, Gen.Constant(s_specials.End)), (1, Gen.Constant(s_specials.Return)), (1, Gen.Constant(s_specials.Call)),
            (1, Gen.Constant(s_specials.EndOfText)), (optional ? 1 : 0, Gen.Constant(-1)));
        Gen<int[]> message =
            from start in Gen.Elements(true, true, false)
            from header in Gen.Frequency((3, Gen.Constant("<|channel|>analysis")), (5, Gen.Elements(s_headers)))
            // Analysis always gets its <|message|>: without one its words would be header text, and could end up anywhere.
            from messageToken in Gen.Frequency((12, Gen.Constant(true)), (header == "<|channel|>analysis" ? 0 : 1, Gen.Constant(false)))
            from text in messageToken ? content(header == "<|channel|>analysis" ? s_secretContent : s_visibleContent) : Gen.Constant(Array.Empty<int>())
            from end in terminator(optional: messageToken)
            select Message(tokenizer, start, header, messageToken, text, end);
        return Gen.ListOf(message).Select(messages => messages.SelectMany(m => m).ToArray());
    }

    private static int[] Message(PieceTokenizer tokenizer, bool start, string header, bool messageToken, int[] content, int terminator)
    {
        var tokens = new List<int>();
        if (start)
        {
            tokens.Add(s_specials.Start);
            tokenizer.EncodeOrdinary("assistant"u8, tokens);
        }

        HarmonyLiteralText.Tokenize(header, tokenizer, tokens);
        if (messageToken)
        {
            tokens.Add(s_specials.Message);
        }

        tokens.AddRange(content);
        if (terminator >= 0)
        {
            tokens.Add(terminator);
        }

        return [.. tokens];
    }

    private static RecordingListener Run(IHarmonyTokenizer tokenizer, int[] tokens)
    {
        var listener = new RecordingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);
        parser.Push(tokens);
        parser.Finish();
        listener.AssertWellFormed();
        return listener;
    }

    // Visible text comes from a final or commentary message, or is an unknown message's whole text when it ends the turn.
    private static void AssertVisibleTextComesOnlyFromVisibleMessages(RecordingListener listener)
    {
        HarmonyRoute? current = null;
        var delivered = new StringBuilder();
        for (int i = 0; i < listener.Events.Count; i++)
        {
            switch (listener.Events[i])
            {
                case HarmonyHeader header:
                    current = header.Route;
                    delivered.Clear();
                    break;
                case RecordedText text when text.Route != current:
                    Assert.Equal((HarmonyRoute.Unknown, HarmonyRoute.Final), (current, text.Route));
                    RecordedMessage completed = Assert.IsType<RecordedMessage>(listener.Events[i + 1]);
                    Assert.Equal(completed.Text, text.Text);
                    Assert.Equal(delivered.ToString(), text.Text);
                    break;
                case RecordedText text:
                    delivered.Append(text.Text);
                    break;
                case RecordedMessage message:
                    Assert.Equal(delivered.ToString(), message.Text);
                    break;
            }
        }
    }
}
