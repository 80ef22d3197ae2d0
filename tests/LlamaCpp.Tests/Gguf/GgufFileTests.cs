using System.Buffers.Binary;
using System.Text;
using LlamaCpp.Gguf;

namespace LlamaCpp.Tests.Gguf;

/// <summary>
/// The preflight reader against files our writer makes, then against every way such a file can be cut short or
/// damaged: each must be a <see cref="GgufFormatException"/> naming the problem, never another exception, because
/// the alternative is llama.cpp's assertion taking the process down.
/// </summary>
public sealed class GgufFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("gguf-tests-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public void What_the_writer_writes_the_reader_reads_back()
    {
        byte[] weights = [.. Enumerable.Range(0, 8 * 4).Select(i => (byte)i)];
        string path = Write(new GgufWriter()
            .Add("general.architecture", "gpt-oss")
            .Add("gpt-oss.block_count", 4u)
            .Add("gpt-oss.offset", -3)
            .Add("gpt-oss.rope.freq_base", 150000f)
            .Add("gpt-oss.flag", true)
            .Add("tokenizer.ggml.tokens", ["a", "b", "<|start|>"])
            .Add("tokenizer.ggml.token_type", [1, 1, 3])
            .AddTensor("norm.weight", [8], GgmlType.F32, s => s.Write(weights))
            .AddTensor("embd.weight", [32, 3], GgmlType.F16, s => s.Write(new byte[32 * 3 * 2]))
            .AddTensor("experts.weight", [64, 2, 2], GgmlType.MXFP4, s => s.Write(new byte[2 * 17 * 2 * 2])));

        GgufFile file = GgufFile.Read(path);

        Assert.Equal(3u, file.Version);
        Assert.Equal("gpt-oss", file.Architecture);
        Assert.Equal(4, file.GetInteger("gpt-oss.block_count"));
        Assert.Equal(-3, file.GetInteger("gpt-oss.offset"));
        Assert.Equal(150000.0, file.GetFloat("gpt-oss.rope.freq_base"));
        Assert.Equal(true, file.Metadata["gpt-oss.flag"].Value);
        Assert.Equal(3, file.GetArrayLength("tokenizer.ggml.tokens"));
        Assert.Equal(GgufValueType.Int32, file.Metadata["tokenizer.ggml.token_type"].ElementType);
        Assert.Null(file.GetString("no.such.key"));
        Assert.Equal(["norm.weight", "embd.weight", "experts.weight"], file.Tensors.Select(t => t.Name));
        Assert.Equal([32L, 32 * 3 * 2, 2 * 17 * 2 * 2], file.Tensors.Select(t => t.Size));
        Assert.Equal([64L, 2, 2], file.Tensors[2].Dimensions);
        Assert.All(file.Tensors, t => Assert.Equal(0, (file.DataOffset + t.Offset) % file.Alignment));
        Assert.Equal(file.Length, new FileInfo(path).Length);

        byte[] bytes = File.ReadAllBytes(path);
        Assert.Equal(weights, bytes.AsSpan((int)(file.DataOffset + file.Tensors[0].Offset), weights.Length).ToArray());
    }

    [Fact]
    public void Every_truncation_is_a_format_error()
    {
        byte[] bytes = File.ReadAllBytes(Write(SmallModel()));

        for (int length = 0; length < bytes.Length; length++)
        {
            string path = WriteBytes(bytes.AsSpan(0, length));
            var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));
            Assert.Contains(path, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void A_tensor_whose_data_runs_past_the_end_names_the_tensor_and_the_sizes()
    {
        byte[] bytes = File.ReadAllBytes(Write(SmallModel()));

        string path = WriteBytes(bytes.AsSpan(0, bytes.Length - 32));

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(path));
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
        Assert.Contains("embd.weight", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0x46554746u, "not a GGUF file")]
    [InlineData(4, 1u, "version 1")]
    [InlineData(4, 4u, "version 4")]
    public void Wrong_magic_or_version_is_refused(int offset, uint value, string expected)
    {
        byte[] bytes = File.ReadAllBytes(Write(SmallModel()));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset), value);

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(WriteBytes(bytes)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(8, "tensor count")]
    [InlineData(16, "metadata count")]
    public void Absurd_counts_are_refused_before_anything_is_allocated(int offset, string expected)
    {
        byte[] bytes = File.ReadAllBytes(Write(SmallModel()));
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(offset), 1UL << 40);

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(WriteBytes(bytes)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0, 0UL, "0 dimensions")]
    [InlineData(0, 5UL, "5 dimensions")]
    [InlineData(4, 0UL, "invalid dimension 0")]
    [InlineData(4, 1UL << 62, "invalid dimension")]
    [InlineData(20, 99UL, "unknown type 99")]
    [InlineData(24, 8UL, "not a multiple of the alignment")]
    public void A_damaged_tensor_description_is_refused(int fieldOffset, ulong value, string expected)
    {
        // After "embd.weight": n_dims (u32) at +0, dims (2 × u64) at +4, type (u32) at +20, offset (u64) at +24.
        byte[] bytes = File.ReadAllBytes(Write(SmallModel()));
        int field = AfterString(bytes, "embd.weight") + fieldOffset;
        if (fieldOffset is 0 or 20)
        {
            BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(field), (uint)value);
        }
        else
        {
            BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(field), value);
        }

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(WriteBytes(bytes)));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_block_type_with_a_row_that_is_not_whole_blocks_is_refused()
    {
        byte[] bytes = File.ReadAllBytes(Write(SmallModel()));
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(AfterString(bytes, "embd.weight") + 20), GgmlType.MXFP4);

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(WriteBytes(bytes)));

        Assert.Contains("block size 32", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Duplicate_keys_and_tensors_are_refused()
    {
        string keys = Write(new GgufWriter().Add("general.architecture", "gpt-oss").Add("general.architecture", "llama"));
        string tensors = Write(new GgufWriter()
            .AddTensor("w", [8], GgmlType.F32, s => s.Write(new byte[32]))
            .AddTensor("w", [8], GgmlType.F32, s => s.Write(new byte[32])));

        Assert.Contains("appears twice", Assert.Throws<GgufFormatException>(() => GgufFile.Read(keys)).Message, StringComparison.Ordinal);
        Assert.Contains("appears twice", Assert.Throws<GgufFormatException>(() => GgufFile.Read(tensors)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_string_longer_than_the_file_is_refused()
    {
        byte[] bytes = File.ReadAllBytes(Write(SmallModel()));
        // The first key's length: it follows the 24-byte header.
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(24), (ulong)bytes.Length);

        var error = Assert.Throws<GgufFormatException>(() => GgufFile.Read(WriteBytes(bytes)));

        Assert.Contains("claims", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Random_damage_is_read_or_refused_never_anything_else()
    {
        byte[] original = File.ReadAllBytes(Write(SmallModel()));
        int headerLength = (int)GgufFile.Read(Write(SmallModel())).DataOffset;
        var random = new Random(20261122);

        for (int trial = 0; trial < 2000; trial++)
        {
            byte[] bytes = (byte[])original.Clone();
            for (int flips = random.Next(1, 4); flips > 0; flips--)
            {
                bytes[random.Next(headerLength)] = (byte)random.Next(256);
            }

            string path = WriteBytes(bytes);
            Exception? error = Record.Exception(() => GgufFile.Read(path));
            Assert.True(error is null or GgufFormatException, $"Trial {trial}: {error}");
        }
    }

    [Fact]
    public void The_writer_refuses_a_shape_its_type_cannot_have_and_data_of_the_wrong_size()
    {
        Assert.Throws<ArgumentException>(() => new GgufWriter().AddTensor("w", [31], GgmlType.MXFP4, _ => { }));
        Assert.Throws<ArgumentException>(() => new GgufWriter().AddTensor("w", [], GgmlType.F32, _ => { }));
        Assert.Throws<ArgumentException>(() => new GgufWriter().AddTensor("w", [8], 1000, _ => { }));

        var shortData = new GgufWriter().AddTensor("w", [8], GgmlType.F32, s => s.Write(new byte[31]));
        string path = Path.Combine(_directory, "short.gguf");
        Assert.Throws<InvalidOperationException>(() => shortData.Write(path));
        Assert.False(File.Exists(path));
        Assert.Empty(Directory.EnumerateFiles(_directory));
    }

    private static GgufWriter SmallModel() => new GgufWriter()
        .Add("general.architecture", "gpt-oss")
        .Add("gpt-oss.block_count", 1u)
        .Add("tokenizer.ggml.tokens", ["a", "b"])
        .AddTensor("norm.weight", [8], GgmlType.F32, s => s.Write(new byte[32]))
        .AddTensor("embd.weight", [16, 4], GgmlType.F16, s => s.Write(new byte[128]));

    private static int AfterString(byte[] bytes, string text)
    {
        byte[] needle = Encoding.UTF8.GetBytes(text);
        int at = bytes.AsSpan().IndexOf(needle);
        Assert.True(at >= 8, $"{text} is not in the file");
        return at + needle.Length;
    }

    private string Write(GgufWriter writer)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.gguf");
        writer.Write(path);
        return path;
    }

    private string WriteBytes(ReadOnlySpan<byte> bytes)
    {
        string path = Path.Combine(_directory, $"{Guid.NewGuid():N}.gguf");
        File.WriteAllBytes(path, bytes.ToArray());
        return path;
    }
}
