using Harmony.Parsing;
using Harmony.Tests.Support;

namespace Harmony.Tests;

/// <summary>The golden cases, fed one token per step and again one byte per step.</summary>
public sealed class ParserGoldenTests
{
    public static TheoryData<string> Cases() => [.. GoldenCase.Files().Select(f => Path.GetFileName(f))];

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_gives_its_expected_output_one_token_per_step(string file)
    {
        var tokenizer = new PieceTokenizer();
        GoldenCase golden = GoldenCase.Load(Path.Combine(GoldenCase.Directory, file));

        RecordingListener result = Run(golden, golden.Tokens(tokenizer), tokenizer);

        AssertMatches(golden, result);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Case_gives_the_same_output_one_byte_per_step(string file)
    {
        var tokenizer = new PieceTokenizer();
        GoldenCase golden = GoldenCase.Load(Path.Combine(GoldenCase.Directory, file));
        int[] tokens = golden.Tokens(tokenizer);
        int[] bytes = tokenizer.SplitIntoBytes(tokens);
        Assert.True(bytes.Length > tokens.Length || tokens.All(t => tokenizer.GetTokenBytes(t).Length <= 1), "The split must change the stream.");

        RecordingListener whole = Run(golden, tokens, tokenizer);
        RecordingListener split = Run(golden, bytes, tokenizer);

        AssertMatches(golden, split);
        Assert.Equal(whole.Messages, split.Messages);
        Assert.Equal(whole.Visible, split.Visible);
        Assert.Equal(whole.ToolCall, split.ToolCall);
        Assert.Equal(whole.Stop, split.Stop);
    }

    private static RecordingListener Run(GoldenCase golden, int[] tokens, IHarmonyTokenizer tokenizer)
    {
        var listener = new RecordingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);
        foreach (int token in tokens)
        {
            parser.Push(token);
        }

        if (golden.CancelAfterLast)
        {
            parser.Cancel();
        }
        else
        {
            parser.Finish();
        }

        listener.AssertWellFormed();
        return listener;
    }

    private static void AssertMatches(GoldenCase golden, RecordingListener result)
    {
        Assert.Equal(golden.Expect.Messages, result.Messages.Select(GoldenMessage.From));
        Assert.Equal(golden.Expect.Visible, result.Visible);
        Assert.Equal(golden.Expect.ToolCall, result.ToolCall);
        Assert.Equal(golden.Expect.Stop, Names.Stop(result.Stop!.Value));
        string allVisible = string.Concat(result.VisibleChunks);
        foreach (string hidden in golden.Expect.HiddenTexts)
        {
            Assert.DoesNotContain(hidden, allVisible, StringComparison.Ordinal);
            Assert.All(result.VisibleChunks, chunk => Assert.DoesNotContain(hidden, chunk, StringComparison.Ordinal));
        }
    }
}
