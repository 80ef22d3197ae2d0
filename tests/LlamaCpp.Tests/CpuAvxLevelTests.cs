using System.Runtime.Intrinsics.X86;
using LLama.Native;

namespace LlamaCpp.Tests;

/// <summary>The AVX level read from CPUID, which a NativeAOT build needs (its intrinsics answer for its compile target).</summary>
public sealed class CpuAvxLevelTests
{
    [Fact]
    public void On_this_processor_cpuid_agrees_with_what_the_jit_says_it_runs()
    {
        // The rule LLamaSharp applies with the JIT's answers.
        AvxLevel expected = Avx512F.IsSupported && Avx512BW.IsSupported && Avx512Vbmi.IsSupported
            && (X86Base.CpuId(7, 0).Ecx & (1 << 11)) != 0
            ? AvxLevel.Avx512
            : Avx2.IsSupported ? AvxLevel.Avx2 : Avx.IsSupported ? AvxLevel.Avx : AvxLevel.None;

        Assert.Equal(expected, CpuAvxLevel.Detect());
    }

    [Theory]
    [InlineData(0, 0, 0, 0, AvxLevel.None)]
    [InlineData(7, 1 << 28, 0, 0, AvxLevel.None)] // AVX without the OS saving its registers
    [InlineData(1, (1 << 27) | (1 << 28), 0, 0, AvxLevel.Avx)] // no leaf 7
    [InlineData(7, (1 << 27) | (1 << 28), 1 << 5, 0, AvxLevel.Avx2)]
    [InlineData(7, (1 << 27) | (1 << 28), (1 << 5) | (1 << 16) | (1 << 30), 1 << 1, AvxLevel.Avx2)] // AVX-512 without VNNI
    [InlineData(7, (1 << 27) | (1 << 28), (1 << 5) | (1 << 16) | (1 << 30), (1 << 1) | (1 << 11), AvxLevel.Avx512)]
    public void The_level_follows_the_cpuid_bits(int maxLeaf, int leaf1Ecx, int leaf7Ebx, int leaf7Ecx, AvxLevel expected)
    {
        AvxLevel level = CpuAvxLevel.FromCpuId((leaf, _) => leaf switch
        {
            0 => (maxLeaf, 0, 0, 0),
            1 => (0, 0, leaf1Ecx, 0),
            7 => (0, leaf7Ebx, leaf7Ecx, 0),
            _ => (0, 0, 0, 0),
        });

        Assert.Equal(expected, level);
    }
}
