using Harmony.Parsing;
using Harmony.Tests.Support;

namespace Harmony.Tests;

public sealed class ParserAllocationTests
{
    [Fact]
    public void Steady_state_parsing_allocates_nothing_per_token()
    {
        var tokenizer = new PieceTokenizer();
        var stream = new List<int>();
        foreach (string channel in new[] { "analysis", "commentary", "final" })
        {
            HarmonyLiteralText.Tokenize($"<|start|>assistant<|channel|>{channel}<|message|>", tokenizer, stream);
            for (int i = 0; i < 50; i++)
            {
                tokenizer.EncodeOrdinary("Some words, café and ☕ "u8, stream);
                stream.AddRange([O200kByteTokenizer.GetByteToken(0xF0), O200kByteTokenizer.GetByteToken(0x9F), tokenizer.GetOrAdd([0x92, 0x96])]);
            }

            stream.Add(HarmonySpecialTokens.O200kHarmony.End);
        }

        int[] tokens = [.. stream];
        var listener = new CountingListener();
        var parser = new HarmonyStreamParser(tokenizer, listener);
        parser.Push(tokens);
        int pushes = 1;

        // A collection triggered elsewhere in the process can shift this thread's allocation count by a few
        // kilobytes; an allocation on the parser's path would show in every window, so one clean window settles it.
        long fewest = long.MaxValue;
        for (int window = 0; window < 5 && fewest != 0; window++)
        {
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int i = 0; i < 20; i++)
            {
                parser.Push(tokens);
            }

            fewest = Math.Min(fewest, GC.GetAllocatedBytesForCurrentThread() - before);
            pushes += 20;
        }

        Assert.False(parser.IsStopped);
        Assert.Equal(pushes * 3, listener.Messages);
        Assert.True(listener.Characters > pushes * tokens.Length, "The stream must have been parsed as text.");
        Assert.Equal(0, fewest);
    }

    private sealed class CountingListener : IHarmonyStreamListener
    {
        public long Characters { get; private set; }

        public int Messages { get; private set; }

        public void OnText(HarmonyRoute route, ReadOnlySpan<char> text) => Characters += text.Length;

        public void OnMessageCompleted(in HarmonyCompletedMessage message) => Messages++;

        public void OnToolCall(in HarmonyToolCall toolCall)
        {
        }

        public void OnStopped(HarmonyStopReason reason)
        {
        }
    }
}
