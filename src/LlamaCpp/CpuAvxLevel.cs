using System.Runtime.Intrinsics.X86;
using LLama.Native;

namespace LlamaCpp;

/// <summary>
/// The best of LLamaSharp.Backend.Cpu's builds (noavx, avx, avx2, avx512) this processor runs, read from CPUID.
/// </summary>
/// <remarks>
/// LLamaSharp decides this with <c>Avx.IsSupported</c>, <c>Avx2.IsSupported</c> and <c>Avx512F.IsSupported</c>. In a
/// NativeAOT executable those answer for the instruction set the executable was compiled for (x86-64-v2 by default),
/// not for the processor it runs on, so it always picked the noavx build, several times slower. CPUID answers for the
/// processor in both builds; the same rule as LLamaSharp's (its avx512 build also needs AVX512BW, VBMI and VNNI).
/// </remarks>
internal static class CpuAvxLevel
{
    public static AvxLevel Detect() => X86Base.IsSupported ? FromCpuId(X86Base.CpuId) : AvxLevel.None;

    /// <summary>The level from CPUID's answers (leaf, subleaf → eax, ebx, ecx, edx).</summary>
    internal static AvxLevel FromCpuId(Func<int, int, (int Eax, int Ebx, int Ecx, int Edx)> cpuId)
    {
        (int maxLeaf, _, _, _) = cpuId(0, 0);
        (_, _, int features, _) = cpuId(1, 0);
        // OSXSAVE: the operating system saves the wide registers' state on a context switch (Linux sets it whenever
        // the processor has XSAVE); without it no AVX instruction may run.
        const int OsXsave = 1 << 27, Avx = 1 << 28;
        if ((features & (OsXsave | Avx)) != (OsXsave | Avx))
        {
            return AvxLevel.None;
        }

        if (maxLeaf < 7)
        {
            return AvxLevel.Avx;
        }

        (_, int extended, int extendedEcx, _) = cpuId(7, 0);
        const int Avx2 = 1 << 5, Avx512F = 1 << 16, Avx512BW = 1 << 30;
        const int Avx512Vbmi = 1 << 1, Avx512Vnni = 1 << 11;
        if ((extended & Avx2) == 0)
        {
            return AvxLevel.Avx;
        }

        bool avx512 = (extended & (Avx512F | Avx512BW)) == (Avx512F | Avx512BW)
            && (extendedEcx & (Avx512Vbmi | Avx512Vnni)) == (Avx512Vbmi | Avx512Vnni);
        return avx512 ? AvxLevel.Avx512 : AvxLevel.Avx2;
    }
}
