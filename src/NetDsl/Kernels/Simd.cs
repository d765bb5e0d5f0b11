using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>Which vector width the kernels run at.</summary>
/// <remarks>
/// The kernels give bit-identical results at 512 and 256 bits: every reduction adds in the order of a 16-lane vector
/// (at 256 bits, two registers stand for its halves), and every elementwise function computes each element with the
/// same formula. So a JIT run on an AVX-512 machine and a NativeAOT build for <c>x86-64-v3</c> (AVX2) train the same
/// weights. Setting <see cref="Allow512"/> to false runs the 256-bit kernels on an AVX-512 machine: the tests use it to
/// check that claim in one process.
/// <para>The kernels' entry points and loops are <c>[MethodImpl(MethodImplOptions.AggressiveOptimization)]</c>: compiled
/// once, fully optimized, outside tiered compilation's dynamic PGO. With PGO the same binary ran the sample cnn's batch-1
/// inference at 107–186 µs depending on the profile a process happened to collect; without it, 87 µs in every process.</para>
/// </remarks>
public static class Simd
{
    /// <summary>When false, the kernels use their 256-bit (AVX2) paths even where AVX-512 is available. Default true.</summary>
    public static bool Allow512 { get; set; } = true;

    /// <summary>True when the 512-bit paths run: AVX-512 is accelerated and <see cref="Allow512"/> is on.</summary>
    public static bool Use512 => Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Allow512;
}
