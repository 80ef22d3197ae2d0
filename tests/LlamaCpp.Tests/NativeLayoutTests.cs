using System.Runtime.InteropServices;
using LLama.Native;

namespace LlamaCpp.Tests;

/// <summary>
/// What we bind by hand against LLamaSharp's structs, without loading any native library: <c>llama_decode</c> takes
/// LLamaSharp's <see cref="LLamaNativeBatch"/> by value, and the generator writes its token, position and sequence
/// arrays as plain ints. The expected numbers are offsetof() and sizeof() of <c>struct llama_batch</c> on x86-64.
/// </summary>
public sealed class NativeLayoutTests
{
    [Theory]
    [InlineData(nameof(LLamaNativeBatch.n_tokens), 0)]
    [InlineData(nameof(LLamaNativeBatch.tokens), 8)]
    [InlineData(nameof(LLamaNativeBatch.embd), 16)]
    [InlineData(nameof(LLamaNativeBatch.pos), 24)]
    [InlineData(nameof(LLamaNativeBatch.n_seq_id), 32)]
    [InlineData(nameof(LLamaNativeBatch.seq_id), 40)]
    [InlineData(nameof(LLamaNativeBatch.logits), 48)]
    public void Batch_fields_sit_where_llama_h_puts_them(string field, int offset)
    {
        Assert.Equal(offset, (int)Marshal.OffsetOf<LLamaNativeBatch>(field));
    }

    [Fact]
    public unsafe void The_batch_and_the_ids_we_write_as_ints_have_the_sizes_of_llama_h()
    {
        Assert.Equal(56, sizeof(LLamaNativeBatch));
        Assert.Equal(sizeof(int), sizeof(LLamaToken));
        Assert.Equal(sizeof(int), sizeof(LLamaPos));
        Assert.Equal(sizeof(int), sizeof(LLamaSeqId));
    }
}
