using Acp.GptOss.Tests.Support;
using static Acp.GptOss.Tests.Support.RawPrompts;
using Harmony;
using LlamaCpp;

namespace Acp.GptOss.Tests.Inference;

/// <summary>
/// Many sequences decoded together in one context, on real llama.cpp with generated chain models (whose answer
/// depends only on the prompt's last token, so each sequence's exact answer is known): prompts read in chunks
/// between other sequences' tokens, each sequence's own answer and prefix reuse, and a cancel that ends one
/// sequence while the others go on.
/// </summary>
public sealed class LlamaBatchDecoderTests
{
    private const string Hello = "<|channel|>final<|message|>Hello world<|return|>";

    // " world" follows itself once the chain ends, so this model never stops by itself.
    private const string Endless = "<|channel|>final<|message|>Hello world";

    private static readonly int[] s_stops = [.. HarmonySpecialTokens.O200kHarmony.SamplingStops];
    private static readonly LlamaSamplingOptions s_greedy = new() { Temperature = 0 };

    // A small batch: long prompts are read over several steps, between the other sequences' tokens.
    private static readonly LlamaContextOptions s_context = new() { ContextSize = 1024, BatchSize = 32, Threads = 2 };

    [ModelFact]
    public void Four_sequences_read_and_answer_together_each_its_own_answer_as_one_alone_would()
    {
        using LlamaModel model = LlamaModel.Load(LlamaBackend.Initialize(), TestModels.Chain(Hello), new LlamaModelOptions { RequiredArchitecture = "gpt-oss" });
        int[] chain = Tokenize(Hello);
        // Each prompt stops at another point of the chain, after prompts of other lengths: each continues from there.
        int[][] prompts = [.. Enumerable.Range(0, 4).Select(i => (int[])[.. Prompt(Words(20 + (37 * i))), .. chain[..i]])];
        int[][] alone = [.. prompts.Select(p => Alone(model, p))];

        using var decoder = new LlamaBatchDecoder(model, s_context, 4);
        LlamaSequence[] sequences = [.. Enumerable.Range(0, 4).Select(i => decoder.Sequence(i, s_greedy))];
        for (int i = 0; i < 4; i++)
        {
            sequences[i].Start(prompts[i], 64, s_stops);
        }

        List<int>[] answers = Run(decoder, sequences, out int steps);

        for (int i = 0; i < 4; i++)
        {
            Assert.Equal(chain[i..], answers[i]);
            Assert.Equal(alone[i], answers[i]);
            Assert.Equal(LlamaSequenceEnd.Stop, sequences[i].Ended);
            Assert.Equal(prompts[i].Length + answers[i].Count - 1, sequences[i].CachedTokenCount);
        }

        // Together, not one after another: fewer steps than the sequences' prompt chunks and tokens added up.
        int oneAtATime = prompts.Sum(p => (p.Length + s_context.BatchSize - 1) / s_context.BatchSize) + answers.Sum(a => a.Count - 1);
        Assert.True(steps < oneAtATime, $"{steps} steps, {oneAtATime} one at a time");

        // The next turn of sequence 2 reuses its history; the others' caches are untouched.
        int[] next = [.. prompts[2], .. answers[2].SkipLast(1), .. Tokenize("<|end|><|start|>user<|message|>Again<|end|><|start|>assistant")];
        sequences[2].Start(next, 64, s_stops);
        List<int>[] again = Run(decoder, [sequences[2]], out _);
        Assert.Equal(chain, again[0]);
        Assert.Equal(prompts[2].Length + answers[2].Count - 1, sequences[2].Statistics.ReusedTokens);
        Assert.Equal(prompts[0].Length + answers[0].Count - 1, sequences[0].CachedTokenCount);
    }

    [ModelFact]
    public void A_cancelled_sequence_ends_and_the_others_answer_exactly_as_before()
    {
        using LlamaModel model = LlamaModel.Load(LlamaBackend.Initialize(), TestModels.Chain(Endless), new LlamaModelOptions { RequiredArchitecture = "gpt-oss" });
        int[] prompt = Prompt(Words(50));
        int[] expected = Alone(model, prompt, 24);
        using var decoder = new LlamaBatchDecoder(model, s_context, 3);
        LlamaSequence[] sequences = [.. Enumerable.Range(0, 3).Select(i => decoder.Sequence(i, s_greedy))];
        long[] jobs = [.. sequences.Select(s => s.Start(prompt, 24, s_stops))];
        var answers = new List<int>[] { [], [], [] };

        // Sequence 1 is cancelled after its fifth token, between steps: the flag also aborts the next decode, which
        // is then done again without it.
        while (sequences.Any(s => s.Ended == LlamaSequenceEnd.Running))
        {
            decoder.Step();
            for (int i = 0; i < 3; i++)
            {
                if (sequences[i].TryTakeToken(out int token))
                {
                    answers[i].Add(token);
                }
            }

            if (answers[1].Count == 5 && sequences[1].Ended == LlamaSequenceEnd.Running)
            {
                sequences[1].Cancel(jobs[1]);
            }
        }

        Assert.Equal(LlamaSequenceEnd.Cancelled, sequences[1].Ended);
        Assert.Equal(expected[..5], answers[1]);
        Assert.Equal(prompt.Length + 4, sequences[1].CachedTokenCount);
        Assert.Equal(expected, answers[0]);
        Assert.Equal(expected, answers[2]);
        Assert.Equal(LlamaSequenceEnd.Length, sequences[0].Ended);

        // A cancel of a job that is over changes nothing.
        sequences[1].Cancel(jobs[1]);
        sequences[1].Start(prompt.Concat(answers[1]).ToArray(), 3, s_stops);
        Assert.Equal(3, Run(decoder, [sequences[1]], out _)[0].Count);
    }

    private static List<int>[] Run(LlamaBatchDecoder decoder, LlamaSequence[] sequences, out int steps)
    {
        var answers = sequences.Select(_ => new List<int>()).ToArray();
        steps = 0;
        while (decoder.Step())
        {
            steps++;
            for (int i = 0; i < sequences.Length; i++)
            {
                if (sequences[i].TryTakeToken(out int token))
                {
                    answers[i].Add(token);
                }
            }
        }

        return answers;
    }

    private static int[] Alone(LlamaModel model, int[] prompt, int maxTokens = 64)
    {
        using var generator = new LlamaGenerator(model, s_context, s_greedy);
        return [.. generator.Generate(prompt, maxTokens, s_stops, CancellationToken.None)];
    }
}
