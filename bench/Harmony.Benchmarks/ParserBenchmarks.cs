using BenchmarkDotNet.Attributes;
using Harmony.Parsing;

namespace Harmony.Benchmarks;

/// <summary>
/// The streaming parser over a 1M-token completion. Goal: at most 10 ns and 0 bytes per token in steady state.
/// The baseline is the naive decode of the same stream, fetching each token's bytes and widening them one by one:
/// the parser, which also tracks Harmony structure, should not cost more.
/// </summary>
[MemoryDiagnoser]
public class ParserBenchmarks
{
    private const int TokenCount = 1_000_000;

    private readonly CompletionStream _stream = CompletionStream.Create(TokenCount);
    private readonly char[] _decoded = new char[64];
    private readonly CountingListener _listener = new();

    [Benchmark(Baseline = true, OperationsPerInvoke = TokenCount)]
    public long DecodeOnly()
    {
        long characters = 0;
        foreach (int token in _stream.Tokens)
        {
            ReadOnlySpan<byte> bytes = _stream.GetTokenBytes(token);
            for (int i = 0; i < bytes.Length; i++)
            {
                _decoded[i] = (char)bytes[i];
            }

            characters += bytes.Length;
        }

        return characters;
    }

    [Benchmark(OperationsPerInvoke = TokenCount)]
    public long Parse()
    {
        // One parser per completion, as in the agent; its few buffers are spread over a million tokens.
        var parser = new HarmonyStreamParser(_stream, _listener);
        parser.Push(_stream.Tokens);
        return _listener.Characters;
    }

    private sealed class CountingListener : IHarmonyStreamListener
    {
        public long Characters { get; private set; }

        public void OnText(HarmonyRoute route, ReadOnlySpan<char> text) => Characters += text.Length;

        public void OnMessageCompleted(in HarmonyCompletedMessage message)
        {
        }

        public void OnToolCall(in HarmonyToolCall toolCall)
        {
        }

        public void OnStopped(HarmonyStopReason reason)
        {
        }
    }
}
