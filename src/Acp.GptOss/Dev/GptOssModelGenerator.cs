using System.Buffers.Binary;
using System.Text;
using LlamaCpp;
using LlamaCpp.Gguf;

namespace Acp.GptOss.Dev;

/// <summary>The shape of a generated gpt-oss model.</summary>
internal sealed record GptOssModelShape
{
    public int Layers { get; init; } = 1;

    public int EmbeddingLength { get; init; } = 64;

    public int Heads { get; init; } = 1;

    public int KeyValueHeads { get; init; } = 1;

    public int HeadDimension { get; init; } = 64;

    public int Experts { get; init; } = 2;

    public int ExpertsUsed { get; init; } = 1;

    public int ExpertFeedForwardLength { get; init; } = 64;

    public int ContextLength { get; init; } = 8192;

    /// <summary>The tensor types of the weights.</summary>
    public GptOssWeightTypes Weights { get; init; } = GptOssWeightTypes.F16;

    /// <summary>
    /// The shape the benchmarks use: 4 layers, n_embd 512, 8 heads, 2 KV heads, 8 experts, top-2, with the released
    /// models' tensor types.
    /// </summary>
    public static GptOssModelShape Benchmark { get; } = new()
    {
        Layers = 4, EmbeddingLength = 512, Heads = 8, KeyValueHeads = 2, HeadDimension = 64, Experts = 8, ExpertsUsed = 2, ExpertFeedForwardLength = 512,
        Weights = GptOssWeightTypes.Released,
    };
}

/// <summary>The tensor types a generated model's weights are written in; norms, biases, sinks and the router are F32 in both.</summary>
internal enum GptOssWeightTypes
{
    /// <summary>Every weight matrix in F16: exact for the small values of chain models.</summary>
    F16,

    /// <summary>
    /// As OpenAI's gpt-oss GGUFs are released (ggml-org's gpt-oss-20b: 98 Q8_0 tensors, 72 MXFP4, the rest F32):
    /// embeddings, output head and attention in Q8_0, experts in MXFP4. What a model costs to run depends on these
    /// types as much as on its shape: an F16 head, say, is bound by arithmetic on a CPU, a Q8_0 one by memory.
    /// </summary>
    Released,
}

/// <summary>
/// Writes tiny gpt-oss GGUFs for tests and benchmarks, with the real o200k_harmony vocabulary:
/// <list type="bullet">
/// <item>chain models, whose greedy continuation of a prompt ending in <c>&lt;|start|&gt;assistant</c> is a chosen token
/// sequence: attention and expert outputs are zero, so each token's embedding reaches the output head unchanged; each
/// chain token gets its own one-hot embedding, and the output row of its successor a large weight at that dimension;</item>
/// <item>random-weight models of realistic shape, to measure speed;</item>
/// <item>vocabulary-only files, to tokenize without weights.</item>
/// </list>
/// </summary>
internal static class GptOssModelGenerator
{
    public const string Architecture = "gpt-oss";

    /// <summary>Changes whenever the files written change, so that caches of generated models know to regenerate.</summary>
    public const int Version = 2;

    /// <summary>The logit a chain token's successor gets, in units of the normalized embedding.</summary>
    private const float ChainWeight = 16f;

    /// <summary>
    /// The chain that makes a model answer <paramref name="completion"/> (literal special spellings): the prompt's
    /// last token, <c>assistant</c>, then the completion as the model's own tokenizer splits it.
    /// </summary>
    public static int[] ChainTokens(LlamaVocabulary vocabulary, string completion)
    {
        ArgumentNullException.ThrowIfNull(vocabulary);
        var tokens = new List<int>();
        vocabulary.Tokenize("assistant"u8, tokens, parseSpecial: false);
        vocabulary.Tokenize(Encoding.UTF8.GetBytes(completion), tokens, parseSpecial: true);
        return [.. tokens];
    }

    /// <summary>Writes a file with the vocabulary and hyperparameters but no tensors.</summary>
    public static void WriteVocabularyOnly(string path, HarmonyVocabularyFile vocabulary) =>
        Header(vocabulary, new GptOssModelShape(), "acp-gptoss vocabulary").Write(path);

    /// <summary>
    /// Writes a chain model. <paramref name="chain"/> starts with the prompt's last token (<c>assistant</c>); each
    /// token is followed by the next; the last one, unless the sampler stops on it, follows itself. With a
    /// <paramref name="seed"/>, every other weight is small and random, so the model has the cost of a real one of
    /// its <paramref name="shape"/> and still answers the chain: the one-hot embeddings outweigh the noise.
    /// </summary>
    /// <param name="path">The GGUF to write.</param>
    /// <param name="vocabulary">The o200k_harmony vocabulary.</param>
    /// <param name="chain">The tokens, from the prompt's last one.</param>
    /// <param name="shape">The shape; by default the narrowest that holds the chain.</param>
    /// <param name="seed">Random weights around the chain, or null for zeros.</param>
    /// <param name="chatTemplate">
    /// Written as <c>tokenizer.chat_template</c>, for models that answer through their own template rather than Harmony;
    /// null writes none.
    /// </param>
    /// <exception cref="ArgumentException">A token recurs with a different successor, or the shape is too narrow for the chain.</exception>
    public static void WriteChain(
        string path, HarmonyVocabularyFile vocabulary, IReadOnlyList<int> chain, GptOssModelShape? shape = null, int? seed = null, string? chatTemplate = null)
    {
        var dimensions = new Dictionary<int, int>();
        var successors = new Dictionary<int, int>();
        for (int i = 0; i < chain.Count; i++)
        {
            int token = chain[i];
            int next = i + 1 < chain.Count ? chain[i + 1] : token;
            if (successors.TryGetValue(token, out int known) && known != next && i + 1 < chain.Count)
            {
                throw new ArgumentException(
                    $"Token {token} ({vocabulary.Tokens[token]}) comes twice with different successors: a chain model cannot say that.", nameof(chain));
            }

            successors.TryAdd(token, next);
            dimensions.TryAdd(token, dimensions.Count);
        }

        shape ??= new GptOssModelShape { EmbeddingLength = Math.Max(64, (dimensions.Count + 63) / 64 * 64) };
        if (shape.EmbeddingLength < dimensions.Count)
        {
            throw new ArgumentException($"The chain has {dimensions.Count} distinct tokens; an embedding of {shape.EmbeddingLength} cannot give each its own dimension.", nameof(shape));
        }

        Random? random = seed is { } s ? new Random(s) : null;
        int embedding = shape.EmbeddingLength;
        long vocabularySize = vocabulary.Tokens.Length;
        GgufWriter writer = Header(vocabulary, shape, "acp-gptoss chain model");
        if (chatTemplate is not null)
        {
            writer.Add("tokenizer.chat_template", chatTemplate);
        }

        int matrixType = MatrixType(shape);
        AddMatrix(writer, "token_embd.weight", [embedding, vocabularySize], matrixType, random, (row, values) =>
        {
            if (dimensions.TryGetValue((int)row, out int dimension))
            {
                Array.Clear(values);
                values[dimension] = 1f;
            }
        });
        AddNorm(writer, "output_norm.weight", embedding);
        var incoming = successors.GroupBy(p => p.Value).ToDictionary(g => g.Key, g => g.Select(p => dimensions[p.Key]).ToArray());
        AddMatrix(writer, "output.weight", [embedding, vocabularySize], matrixType, random, (row, values) =>
        {
            if (incoming.TryGetValue((int)row, out int[]? fromDimensions))
            {
                foreach (int dimension in fromDimensions)
                {
                    values[dimension] = ChainWeight;
                }
            }
        });
        AddLayers(writer, shape, random);
        writer.Write(path);
    }

    /// <summary>Writes a model of the given shape with small random weights.</summary>
    public static void WriteRandom(string path, HarmonyVocabularyFile vocabulary, GptOssModelShape shape, int seed)
    {
        var random = new Random(seed);
        long vocabularySize = vocabulary.Tokens.Length;
        GgufWriter writer = Header(vocabulary, shape, "acp-gptoss random model");
        AddMatrix(writer, "token_embd.weight", [shape.EmbeddingLength, vocabularySize], MatrixType(shape), random);
        AddNorm(writer, "output_norm.weight", shape.EmbeddingLength);
        AddMatrix(writer, "output.weight", [shape.EmbeddingLength, vocabularySize], MatrixType(shape), random);
        AddLayers(writer, shape, random);
        writer.Write(path);
    }

    private static GgufWriter Header(HarmonyVocabularyFile vocabulary, GptOssModelShape shape, string name)
    {
        const string A = Architecture;
        return new GgufWriter()
            .Add("general.architecture", A)
            .Add("general.name", name)
            .Add($"{A}.context_length", (uint)shape.ContextLength)
            .Add($"{A}.embedding_length", (uint)shape.EmbeddingLength)
            .Add($"{A}.block_count", (uint)shape.Layers)
            .Add($"{A}.feed_forward_length", (uint)shape.ExpertFeedForwardLength)
            .Add($"{A}.expert_feed_forward_length", (uint)shape.ExpertFeedForwardLength)
            .Add($"{A}.attention.head_count", (uint)shape.Heads)
            .Add($"{A}.attention.head_count_kv", (uint)shape.KeyValueHeads)
            .Add($"{A}.attention.key_length", (uint)shape.HeadDimension)
            .Add($"{A}.attention.value_length", (uint)shape.HeadDimension)
            .Add($"{A}.attention.layer_norm_rms_epsilon", 1e-5f)
            .Add($"{A}.attention.sliding_window", 128u)
            .Add($"{A}.expert_count", (uint)shape.Experts)
            .Add($"{A}.expert_used_count", (uint)shape.ExpertsUsed)
            .Add($"{A}.rope.freq_base", 150000f)
            .Add("tokenizer.ggml.model", "gpt2")
            .Add("tokenizer.ggml.pre", "gpt-4o")
            .Add("tokenizer.ggml.tokens", vocabulary.Tokens)
            .Add("tokenizer.ggml.token_type", vocabulary.TokenTypes)
            .Add("tokenizer.ggml.merges", vocabulary.Merges)
            .Add("tokenizer.ggml.bos_token_id", 199998u)
            .Add("tokenizer.ggml.eos_token_id", 200002u)
            .Add("tokenizer.ggml.padding_token_id", 199999u);
    }

    // Per layer: norms of one; attention and expert down-projections that are zero in a chain model, random otherwise.
    private static void AddLayers(GgufWriter writer, GptOssModelShape shape, Random? random)
    {
        int e = shape.EmbeddingLength;
        int q = shape.Heads * shape.HeadDimension;
        int kv = shape.KeyValueHeads * shape.HeadDimension;
        int ff = shape.ExpertFeedForwardLength;
        int experts = shape.Experts;
        int matrix = MatrixType(shape);
        int expert = shape.Weights == GptOssWeightTypes.Released ? GgmlType.MXFP4 : GgmlType.F16;
        for (int layer = 0; layer < shape.Layers; layer++)
        {
            string b = $"blk.{layer}.";
            AddNorm(writer, b + "attn_norm.weight", e);
            AddNorm(writer, b + "post_attention_norm.weight", e);
            AddMatrix(writer, b + "attn_q.weight", [e, q], matrix, random);
            AddMatrix(writer, b + "attn_k.weight", [e, kv], matrix, random);
            AddMatrix(writer, b + "attn_v.weight", [e, kv], matrix, random);
            AddMatrix(writer, b + "attn_output.weight", [q, e], matrix, random);
            AddFloats(writer, b + "attn_output.bias", [e], random);
            AddFloats(writer, b + "attn_sinks.weight", [shape.Heads], random);
            AddFloats(writer, b + "ffn_gate_inp.weight", [e, experts], random);
            AddFloats(writer, b + "ffn_gate_inp.bias", [experts], random);
            AddMatrix(writer, b + "ffn_gate_exps.weight", [e, ff, experts], expert, random);
            AddFloats(writer, b + "ffn_gate_exps.bias", [ff, experts], random);
            AddMatrix(writer, b + "ffn_up_exps.weight", [e, ff, experts], expert, random);
            AddFloats(writer, b + "ffn_up_exps.bias", [ff, experts], random);
            AddMatrix(writer, b + "ffn_down_exps.weight", [ff, e, experts], expert, random);
            AddFloats(writer, b + "ffn_down_exps.bias", [e, experts], random);
        }
    }

    private static void AddNorm(GgufWriter writer, string name, int length) =>
        writer.AddTensor(name, [length], GgmlType.F32, stream =>
        {
            Span<byte> one = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(one, 1f);
            for (int i = 0; i < length; i++)
            {
                stream.Write(one);
            }
        });

    private static void AddFloats(GgufWriter writer, string name, long[] shape, Random? random)
    {
        long count = shape.Aggregate(1L, (a, b) => a * b);
        writer.AddTensor(name, shape, GgmlType.F32, stream =>
        {
            Span<byte> value = stackalloc byte[4];
            for (long i = 0; i < count; i++)
            {
                BinaryPrimitives.WriteSingleLittleEndian(value, random is null ? 0f : (float)((random.NextDouble() - 0.5) * 0.04));
                stream.Write(value);
            }
        });
    }

    private static int MatrixType(GptOssModelShape shape) => shape.Weights == GptOssWeightTypes.Released ? GgmlType.Q80 : GgmlType.F16;

    // A weight matrix, row by row: zeros, or small random values, that fill then adjusts. MXFP4 rows are random bits
    // at one small scale (or zeros): no fill, and no need to quantize noise.
    private static void AddMatrix(GgufWriter writer, string name, long[] shape, int type, Random? random, Action<long, float[]>? fill = null)
    {
        int length = (int)shape[0];
        long rows = shape.Skip(1).Aggregate(1L, (a, b) => a * b);
        writer.AddTensor(name, shape, type, stream =>
        {
            if (random is null && fill is null)
            {
                GgmlType.TryGet(type, out _, out int blockSize, out int blockBytes);
                WriteZeros(stream, rows * length / blockSize * blockBytes);
                return;
            }

            var values = new float[length];
            byte[] bytes = new byte[type switch { GgmlType.F16 => length * 2, GgmlType.Q80 => length / 32 * 34, _ => length / 32 * 17 }];
            for (long row = 0; row < rows; row++)
            {
                if (type == GgmlType.MXFP4)
                {
                    WriteRandomMxfp4(bytes, random!);
                    stream.Write(bytes);
                    continue;
                }

                for (int i = 0; i < length; i++)
                {
                    values[i] = random is null ? 0f : SmallRandom(random);
                }

                fill?.Invoke(row, values);
                if (type == GgmlType.Q80)
                {
                    EncodeQ80(values, bytes);
                }
                else
                {
                    for (int i = 0; i < length; i++)
                    {
                        BinaryPrimitives.WriteHalfLittleEndian(bytes.AsSpan(i * 2), (Half)values[i]);
                    }
                }

                stream.Write(bytes);
            }
        });
    }

    // Uniform in ±0.02: small enough that activations stay finite through any number of layers.
    private static float SmallRandom(Random random) => (random.NextSingle() - 0.5f) * 0.04f;

    // ggml's Q8_0: blocks of 32 values, each an F16 scale (the block's largest magnitude / 127) and 32 signed bytes.
    private static void EncodeQ80(ReadOnlySpan<float> values, Span<byte> bytes)
    {
        for (int block = 0; block < values.Length / 32; block++)
        {
            ReadOnlySpan<float> x = values.Slice(block * 32, 32);
            Span<byte> output = bytes.Slice(block * 34, 34);
            float largest = 0f;
            foreach (float v in x)
            {
                largest = MathF.Max(largest, MathF.Abs(v));
            }

            float scale = largest / 127f;
            BinaryPrimitives.WriteHalfLittleEndian(output, (Half)scale);
            for (int i = 0; i < 32; i++)
            {
                output[2 + i] = (byte)(sbyte)(scale == 0f ? 0 : Math.Clamp(MathF.Round(x[i] / scale), -127f, 127f));
            }
        }
    }

    // ggml's MXFP4: blocks of 32 values, each an E8M0 scale byte and 16 bytes of 4-bit E2M1 codes. Scale 119 puts the
    // largest code (6, stored doubled as 12 times 2^(e-128)) at about 0.023, as small as the other random weights.
    private static void WriteRandomMxfp4(Span<byte> bytes, Random random)
    {
        random.NextBytes(bytes);
        for (int block = 0; block < bytes.Length; block += 17)
        {
            bytes[block] = 119;
        }
    }

    private static void WriteZeros(Stream stream, long count)
    {
        var zeros = new byte[(int)Math.Min(count, 1 << 16)];
        for (long written = 0; written < count; written += zeros.Length)
        {
            stream.Write(zeros, 0, (int)Math.Min(zeros.Length, count - written));
        }
    }
}
