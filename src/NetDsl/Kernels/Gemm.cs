using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;
using X86Fma = System.Runtime.Intrinsics.X86.Fma;

namespace NetDsl.Kernels;

/// <summary>
/// Single-precision matrix products for the generated layers, row-major.
/// <see cref="Nn"/> computes C (+)= A·B with A read through strides, so Aᵀ·B is the same kernel;
/// <see cref="Nt"/> computes C (+)= A·Bᵀ as dot products along contiguous rows.
/// </summary>
public static unsafe class Gemm
{
    /// <summary>C[M×N] (+)= A·B where A(i,k) = a[i·rsA + k·csA] and B(k,j) = b[k·ldb + j].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Nn(int m, int n, int k, ReadOnlySpan<float> a, int rsA, int csA, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m <= 0 || n <= 0) return;
        CheckExtent(a.Length, (long)(m - 1) * rsA + (long)(k - 1) * csA + 1, k, "A");
        CheckExtent(b.Length, (long)(k - 1) * ldb + n, k, "B");
        CheckExtent(c.Length, (long)(m - 1) * ldc + n, 1, "C");
        if (!accumulate)
            for (int i = 0; i < m; i++) c.Slice(i * ldc, n).Clear();
        if (k <= 0) return;
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (Vector256.IsHardwareAccelerated)
                NnVector(m, n, k, pa, rsA, csA, pb, ldb, pc, ldc);
            else
                NnScalar(m, n, k, pa, rsA, csA, pb, ldb, pc, ldc, 0, 0);
        }
    }

    /// <summary>Floats of A a product keeps in a core's L2 (512 KB, half of the 1 MiB measured) while B streams past.</summary>
    private const int L2Floats = 1 << 17;

    /// <summary>C[M×N] (+)= A·Bᵀ where A(i,k) = a[i·lda + k] and B(j,k) = b[j·ldb + k].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Nt(int m, int n, int k, ReadOnlySpan<float> a, int lda, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate)
    {
        if (m <= 0 || n <= 0) return;
        CheckExtent(a.Length, (long)(m - 1) * lda + k, k, "A");
        CheckExtent(b.Length, (long)(n - 1) * ldb + k, k, "B");
        CheckExtent(c.Length, (long)(m - 1) * ldc + n, 1, "C");
        fixed (float* pa = a, pb = b, pc = c)
        {
            if (Simd.Use512 && k > 0)
            {
                Nt512(m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
                return;
            }
            if (Avx2.IsSupported && System.Runtime.Intrinsics.X86.Fma.IsSupported && k > 0)
            {
                Nt256(m, n, k, pa, lda, pb, ldb, pc, ldc, accumulate);
                return;
            }
            int i = 0;
            for (; i + 2 <= m; i += 2)
            {
                int j = 0;
                for (; j + 4 <= n; j += 4) Dot2x4(k, pa + i * lda, lda, pb + j * ldb, ldb, pc + i * ldc + j, ldc, accumulate);
                for (; j < n; j++)
                {
                    float d0 = Dot(k, pa + i * lda, pb + j * ldb), d1 = Dot(k, pa + (i + 1) * lda, pb + j * ldb);
                    if (accumulate) { pc[i * ldc + j] += d0; pc[(i + 1) * ldc + j] += d1; }
                    else { pc[i * ldc + j] = d0; pc[(i + 1) * ldc + j] = d1; }
                }
            }
            for (; i < m; i++)
            {
                for (int j = 0; j < n; j++)
                {
                    float d = Dot(k, pa + i * lda, pb + j * ldb);
                    if (accumulate) pc[i * ldc + j] += d; else pc[i * ldc + j] = d;
                }
            }
        }
    }

    // ---------------------------------------------------------------- AVX-512 dot-product tiles

    /// <summary>
    /// C (+)= A·Bᵀ in 4×4 tiles of dot products: 16 accumulators of 16 lanes, each step 4 loads of A and 4 of B for
    /// 16 FMAs, the depth's last partial step through a lane mask (no scalar tail). Rows left over (m mod 4) go one at
    /// a time, four columns at once. Both operands are read in place, so nothing is packed or transposed: the right
    /// kernel when the depth is long and the output small (weight gradients of small convolutions, dense layers).
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Nt512(int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool acc)
    {
        var tail = PackedGemm.LaneMask(k & 15);
        // Blocks of A's rows that stay in L2 (512 KB) while B's rows pass by four at a time: B (a dense layer's weight, 1.6 MB
        // in the sample cnn) is read once per block rather than once per four rows. Every tile is the same sum either way.
        int quads = m & ~3, block = Math.Max(4, Math.Min(quads, L2Floats / Math.Max(k, 1)) & ~3);
        for (int i0 = 0; i0 < quads; i0 += block)
        {
            int i1 = Math.Min(quads, i0 + block), j = 0;
            for (; j + 4 <= n; j += 4)
                for (int r = i0; r < i1; r += 4)
                    Tile4x4(k, a + (nint)r * lda, lda, b + (nint)j * ldb, ldb, c + (nint)r * ldc + j, ldc, acc, tail);
            for (; j < n; j++)
                for (int r = i0; r < i1; r += 4)
                    Tile4x1(k, a + (nint)r * lda, lda, b + (nint)j * ldb, c + (nint)r * ldc + j, ldc, acc, tail);
        }
        int i = quads;
        for (; i < m; i++)
        {
            float* ai = a + (nint)i * lda;
            int j = 0;
            for (; j + 4 <= n; j += 4) Tile4x1(k, b + (nint)j * ldb, ldb, ai, c + (nint)i * ldc + j, 1, acc, tail);
            for (; j < n; j++)
            {
                float d = Dot512(k, ai, b + (nint)j * ldb, tail);
                float* cij = c + (nint)i * ldc + j;
                *cij = acc ? *cij + d : d;
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x4(int k, float* a0, int lda, float* b0, int ldb, float* c, int ldc, bool acc, in Vector512<float> tail)
    {
        float* a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        float* b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        Vector512<float> s00 = default, s01 = default, s02 = default, s03 = default, s10 = default, s11 = default, s12 = default, s13 = default;
        Vector512<float> s20 = default, s21 = default, s22 = default, s23 = default, s30 = default, s31 = default, s32 = default, s33 = default;
        int p = 0;
        for (; ; p += 16)
        {
            Vector512<float> x0, x1, x2, x3, y0, y1, y2, y3;
            if (p + 16 <= k)
            {
                x0 = Vector512.Load(a0 + p); x1 = Vector512.Load(a1 + p); x2 = Vector512.Load(a2 + p); x3 = Vector512.Load(a3 + p);
                y0 = Vector512.Load(b0 + p); y1 = Vector512.Load(b1 + p); y2 = Vector512.Load(b2 + p); y3 = Vector512.Load(b3 + p);
            }
            else if (p < k)
            {
                var z = Vector512<float>.Zero;
                x0 = Avx512F.MaskLoad(a0 + p, tail, z); x1 = Avx512F.MaskLoad(a1 + p, tail, z); x2 = Avx512F.MaskLoad(a2 + p, tail, z); x3 = Avx512F.MaskLoad(a3 + p, tail, z);
                y0 = Avx512F.MaskLoad(b0 + p, tail, z); y1 = Avx512F.MaskLoad(b1 + p, tail, z); y2 = Avx512F.MaskLoad(b2 + p, tail, z); y3 = Avx512F.MaskLoad(b3 + p, tail, z);
            }
            else break;
            s00 = Vector512.FusedMultiplyAdd(x0, y0, s00); s01 = Vector512.FusedMultiplyAdd(x0, y1, s01); s02 = Vector512.FusedMultiplyAdd(x0, y2, s02); s03 = Vector512.FusedMultiplyAdd(x0, y3, s03);
            s10 = Vector512.FusedMultiplyAdd(x1, y0, s10); s11 = Vector512.FusedMultiplyAdd(x1, y1, s11); s12 = Vector512.FusedMultiplyAdd(x1, y2, s12); s13 = Vector512.FusedMultiplyAdd(x1, y3, s13);
            s20 = Vector512.FusedMultiplyAdd(x2, y0, s20); s21 = Vector512.FusedMultiplyAdd(x2, y1, s21); s22 = Vector512.FusedMultiplyAdd(x2, y2, s22); s23 = Vector512.FusedMultiplyAdd(x2, y3, s23);
            s30 = Vector512.FusedMultiplyAdd(x3, y0, s30); s31 = Vector512.FusedMultiplyAdd(x3, y1, s31); s32 = Vector512.FusedMultiplyAdd(x3, y2, s32); s33 = Vector512.FusedMultiplyAdd(x3, y3, s33);
            if (p + 16 >= k) break;
        }
        Put4(c, Sum4(s00, s01, s02, s03), acc);
        Put4(c + ldc, Sum4(s10, s11, s12, s13), acc);
        Put4(c + 2 * (nint)ldc, Sum4(s20, s21, s22, s23), acc);
        Put4(c + 3 * (nint)ldc, Sum4(s30, s31, s32, s33), acc);
    }

    /// <summary>Four rows of A against one row of B: c[r·ldc] (+)= A_r · b.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile4x1(int k, float* a0, int lda, float* b, float* c, int ldc, bool acc, in Vector512<float> tail)
    {
        float* a1 = a0 + lda, a2 = a1 + lda, a3 = a2 + lda;
        Vector512<float> s0 = default, s1 = default, s2 = default, s3 = default;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            var y = Vector512.Load(b + p);
            s0 = Vector512.FusedMultiplyAdd(Vector512.Load(a0 + p), y, s0);
            s1 = Vector512.FusedMultiplyAdd(Vector512.Load(a1 + p), y, s1);
            s2 = Vector512.FusedMultiplyAdd(Vector512.Load(a2 + p), y, s2);
            s3 = Vector512.FusedMultiplyAdd(Vector512.Load(a3 + p), y, s3);
        }
        if (p < k)
        {
            var z = Vector512<float>.Zero;
            var y = Avx512F.MaskLoad(b + p, tail, z);
            s0 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(a0 + p, tail, z), y, s0);
            s1 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(a1 + p, tail, z), y, s1);
            s2 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(a2 + p, tail, z), y, s2);
            s3 = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(a3 + p, tail, z), y, s3);
        }
        var sums = Sum4(s0, s1, s2, s3);
        for (int r = 0; r < 4; r++)
        {
            float* cr = c + (nint)r * ldc;
            *cr = acc ? *cr + sums.GetElement(r) : sums.GetElement(r);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot512(int k, float* x, float* y, in Vector512<float> tail)
    {
        var s = Vector512<float>.Zero;
        int p = 0;
        for (; p + 16 <= k; p += 16) s = Vector512.FusedMultiplyAdd(Vector512.Load(x + p), Vector512.Load(y + p), s);
        if (p < k) s = Vector512.FusedMultiplyAdd(Avx512F.MaskLoad(x + p, tail, Vector512<float>.Zero), Avx512F.MaskLoad(y + p, tail, Vector512<float>.Zero), s);
        return Reduce(s.GetLower() + s.GetUpper());
    }

    /// <summary>A 16-lane dot product's sum from its two 8-lane halves already added (lower + upper): the same tree as
    /// one lane of <see cref="Sum4"/>, so <see cref="Dot512"/> and <see cref="Nt256"/> round alike.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static float Reduce(Vector256<float> h)
    {
        var q = h.GetLower() + h.GetUpper();
        return (q.GetElement(0) + q.GetElement(1)) + (q.GetElement(2) + q.GetElement(3));
    }

    // ---------------------------------------------------------------- AVX2 dot products, 512-bit arithmetic

    /// <summary>
    /// <see cref="Nt512"/>'s arithmetic at 256 bits, so AVX2 and AVX-512 machines (and a NativeAOT x86-64-v3 build next to
    /// the JIT) compute the same bits: each dot product keeps two 8-lane accumulators standing for the halves of the 16-lane
    /// one, walks the depth in the same 16-wide blocks (the last partial block through masked loads, zeros beyond k), and is
    /// reduced by <see cref="Reduce"/> (lower + upper, then the same pairwise tree). 2×3 tiles: 12 accumulators, 12
    /// independent FMA chains per step (2×2 tiles had 8, too few to cover the FMA latency at two FMAs a cycle) and all 16
    /// registers in use; 2×2 tiles and single dot products for the columns and row left over.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Nt256(int m, int n, int k, float* a, int lda, float* b, int ldb, float* c, int ldc, bool acc)
    {
        // Blocks of A's rows small enough to stay in the L1 cache (about 16 KB) while B's rows pass by three at a time:
        // B is read from L2 once per block instead of once per pair of rows. Rows too long for that (k > 1024) are blocked
        // for L2 instead, so that a B larger than L2 (a dense layer's weight) is read from memory once per block.
        int pairs = m & ~1;
        int block = Math.Max(2, Math.Min(pairs, (k <= 1024 ? 4096 : L2Floats) / Math.Max(k, 1)) & ~1);
        for (int i0 = 0; i0 < pairs; i0 += block)
        {
            int i1 = Math.Min(pairs, i0 + block);
            int j = 0;
            for (; j + 3 <= n; j += 3)
                for (int i = i0; i < i1; i += 2)
                    Tile2x3(k, a + (nint)i * lda, a + (nint)(i + 1) * lda, b + (nint)j * ldb, ldb, c + (nint)i * ldc + j, ldc, acc);
            for (; j + 2 <= n; j += 2)
                for (int i = i0; i < i1; i += 2)
                    Tile2x2(k, a + (nint)i * lda, a + (nint)(i + 1) * lda, b + (nint)j * ldb, ldb, c + (nint)i * ldc + j, ldc, acc);
            for (; j < n; j++)
                for (int i = i0; i < i1; i += 2)
                {
                    float* bj = b + (nint)j * ldb;
                    Put1(c + (nint)i * ldc + j, Dot256(k, a + (nint)i * lda, bj), acc);
                    Put1(c + (nint)(i + 1) * ldc + j, Dot256(k, a + (nint)(i + 1) * lda, bj), acc);
                }
        }
        for (int i = pairs; i < m; i++)
        {
            float* ai = a + (nint)i * lda;
            float* ci = c + (nint)i * ldc;
            int j = 0;
            for (; j + 6 <= n; j += 6) Tile1x6(k, ai, b + (nint)j * ldb, ldb, ci + j, acc);
            for (; j < n; j++) Put1(ci + j, Dot256(k, ai, b + (nint)j * ldb), acc);
        }
    }

    /// <summary>One row of A against six rows of B from b0 on (a batch-1 dense layer's whole product): 12 accumulators,
    /// two halves of each of six 16-lane dot products (see <see cref="Nt256"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile1x6(int k, float* a0, float* b0, int ldb, float* c, bool acc)
    {
        float* b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb, b4 = b3 + ldb, b5 = b4 + ldb;
        Vector256<float> l0 = default, l1 = default, l2 = default, l3 = default, l4 = default, l5 = default;
        Vector256<float> h0 = default, h1 = default, h2 = default, h3 = default, h4 = default, h5 = default;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            var x = Vector256.Load(a0 + p);
            l0 = X86Fma.MultiplyAdd(x, Vector256.Load(b0 + p), l0); l1 = X86Fma.MultiplyAdd(x, Vector256.Load(b1 + p), l1);
            l2 = X86Fma.MultiplyAdd(x, Vector256.Load(b2 + p), l2); l3 = X86Fma.MultiplyAdd(x, Vector256.Load(b3 + p), l3);
            l4 = X86Fma.MultiplyAdd(x, Vector256.Load(b4 + p), l4); l5 = X86Fma.MultiplyAdd(x, Vector256.Load(b5 + p), l5);
            x = Vector256.Load(a0 + p + 8);
            h0 = X86Fma.MultiplyAdd(x, Vector256.Load(b0 + p + 8), h0); h1 = X86Fma.MultiplyAdd(x, Vector256.Load(b1 + p + 8), h1);
            h2 = X86Fma.MultiplyAdd(x, Vector256.Load(b2 + p + 8), h2); h3 = X86Fma.MultiplyAdd(x, Vector256.Load(b3 + p + 8), h3);
            h4 = X86Fma.MultiplyAdd(x, Vector256.Load(b4 + p + 8), h4); h5 = X86Fma.MultiplyAdd(x, Vector256.Load(b5 + p + 8), h5);
        }
        if (p < k)
        {
            var (tailLo, tailHi) = TailMasks(k);
            var x = Avx.MaskLoad(a0 + p, tailLo);
            l0 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b0 + p, tailLo), l0); l1 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b1 + p, tailLo), l1);
            l2 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b2 + p, tailLo), l2); l3 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b3 + p, tailLo), l3);
            l4 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b4 + p, tailLo), l4); l5 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b5 + p, tailLo), l5);
            x = Avx.MaskLoad(a0 + p + 8, tailHi);
            h0 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b0 + p + 8, tailHi), h0); h1 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b1 + p + 8, tailHi), h1);
            h2 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b2 + p + 8, tailHi), h2); h3 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b3 + p + 8, tailHi), h3);
            h4 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b4 + p + 8, tailHi), h4); h5 = X86Fma.MultiplyAdd(x, Avx.MaskLoad(b5 + p + 8, tailHi), h5);
        }
        Put1(c, Reduce(l0 + h0), acc); Put1(c + 1, Reduce(l1 + h1), acc); Put1(c + 2, Reduce(l2 + h2), acc);
        Put1(c + 3, Reduce(l3 + h3), acc); Put1(c + 4, Reduce(l4 + h4), acc); Put1(c + 5, Reduce(l5 + h5), acc);
    }

    /// <summary>Rows a0 and a1 of A against rows b0 and b0 + ldb of B (see <see cref="Nt256"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x2(int k, float* a0, float* a1, float* b0, int ldb, float* c0, int ldc, bool acc)
    {
        float* b1 = b0 + ldb;
        Vector256<float> l00 = default, h00 = default, l01 = default, h01 = default, l10 = default, h10 = default, l11 = default, h11 = default;
        // Whole blocks: 8 accumulators, A's four half-rows, one B half-row at a time (13 registers: no spill).
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            var x0l = Vector256.Load(a0 + p); var x0h = Vector256.Load(a0 + p + 8);
            var x1l = Vector256.Load(a1 + p); var x1h = Vector256.Load(a1 + p + 8);
            var y = Vector256.Load(b0 + p); l00 = X86Fma.MultiplyAdd(x0l, y, l00); l10 = X86Fma.MultiplyAdd(x1l, y, l10);
            y = Vector256.Load(b0 + p + 8); h00 = X86Fma.MultiplyAdd(x0h, y, h00); h10 = X86Fma.MultiplyAdd(x1h, y, h10);
            y = Vector256.Load(b1 + p); l01 = X86Fma.MultiplyAdd(x0l, y, l01); l11 = X86Fma.MultiplyAdd(x1l, y, l11);
            y = Vector256.Load(b1 + p + 8); h01 = X86Fma.MultiplyAdd(x0h, y, h01); h11 = X86Fma.MultiplyAdd(x1h, y, h11);
        }
        if (p < k)
        {
            // The last partial block through masks (zeros beyond k), as Nt512's masked step; the masks are made
            // here so that they take no registers in the loop above.
            var (tailLo, tailHi) = TailMasks(k);
            var x0l = Avx.MaskLoad(a0 + p, tailLo); var x0h = Avx.MaskLoad(a0 + p + 8, tailHi);
            var x1l = Avx.MaskLoad(a1 + p, tailLo); var x1h = Avx.MaskLoad(a1 + p + 8, tailHi);
            var y = Avx.MaskLoad(b0 + p, tailLo); l00 = X86Fma.MultiplyAdd(x0l, y, l00); l10 = X86Fma.MultiplyAdd(x1l, y, l10);
            y = Avx.MaskLoad(b0 + p + 8, tailHi); h00 = X86Fma.MultiplyAdd(x0h, y, h00); h10 = X86Fma.MultiplyAdd(x1h, y, h10);
            y = Avx.MaskLoad(b1 + p, tailLo); l01 = X86Fma.MultiplyAdd(x0l, y, l01); l11 = X86Fma.MultiplyAdd(x1l, y, l11);
            y = Avx.MaskLoad(b1 + p + 8, tailHi); h01 = X86Fma.MultiplyAdd(x0h, y, h01); h11 = X86Fma.MultiplyAdd(x1h, y, h11);
        }
        float* c1 = c0 + ldc;
        Put1(c0, Reduce(l00 + h00), acc); Put1(c0 + 1, Reduce(l01 + h01), acc);
        Put1(c1, Reduce(l10 + h10), acc); Put1(c1 + 1, Reduce(l11 + h11), acc);
    }

    /// <summary>Rows a0 and a1 of A against rows b0, b0 + ldb and b0 + 2·ldb of B: six dot products, each as two 8-lane
    /// halves of a 16-lane accumulator (see <see cref="Nt256"/>).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Tile2x3(int k, float* a0, float* a1, float* b0, int ldb, float* c, int ldc, bool acc)
    {
        float* b1 = b0 + ldb, b2 = b1 + ldb;
        Vector256<float> l00 = default, l01 = default, l02 = default, l10 = default, l11 = default, l12 = default;
        Vector256<float> h00 = default, h01 = default, h02 = default, h10 = default, h11 = default, h12 = default;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            var y0 = Vector256.Load(b0 + p); var y1 = Vector256.Load(b1 + p); var y2 = Vector256.Load(b2 + p);
            var x = Vector256.Load(a0 + p); l00 = X86Fma.MultiplyAdd(x, y0, l00); l01 = X86Fma.MultiplyAdd(x, y1, l01); l02 = X86Fma.MultiplyAdd(x, y2, l02);
            x = Vector256.Load(a1 + p); l10 = X86Fma.MultiplyAdd(x, y0, l10); l11 = X86Fma.MultiplyAdd(x, y1, l11); l12 = X86Fma.MultiplyAdd(x, y2, l12);
            y0 = Vector256.Load(b0 + p + 8); y1 = Vector256.Load(b1 + p + 8); y2 = Vector256.Load(b2 + p + 8);
            x = Vector256.Load(a0 + p + 8); h00 = X86Fma.MultiplyAdd(x, y0, h00); h01 = X86Fma.MultiplyAdd(x, y1, h01); h02 = X86Fma.MultiplyAdd(x, y2, h02);
            x = Vector256.Load(a1 + p + 8); h10 = X86Fma.MultiplyAdd(x, y0, h10); h11 = X86Fma.MultiplyAdd(x, y1, h11); h12 = X86Fma.MultiplyAdd(x, y2, h12);
        }
        if (p < k)
        {
            var (tailLo, tailHi) = TailMasks(k);
            var y0 = Avx.MaskLoad(b0 + p, tailLo); var y1 = Avx.MaskLoad(b1 + p, tailLo); var y2 = Avx.MaskLoad(b2 + p, tailLo);
            var x = Avx.MaskLoad(a0 + p, tailLo); l00 = X86Fma.MultiplyAdd(x, y0, l00); l01 = X86Fma.MultiplyAdd(x, y1, l01); l02 = X86Fma.MultiplyAdd(x, y2, l02);
            x = Avx.MaskLoad(a1 + p, tailLo); l10 = X86Fma.MultiplyAdd(x, y0, l10); l11 = X86Fma.MultiplyAdd(x, y1, l11); l12 = X86Fma.MultiplyAdd(x, y2, l12);
            y0 = Avx.MaskLoad(b0 + p + 8, tailHi); y1 = Avx.MaskLoad(b1 + p + 8, tailHi); y2 = Avx.MaskLoad(b2 + p + 8, tailHi);
            x = Avx.MaskLoad(a0 + p + 8, tailHi); h00 = X86Fma.MultiplyAdd(x, y0, h00); h01 = X86Fma.MultiplyAdd(x, y1, h01); h02 = X86Fma.MultiplyAdd(x, y2, h02);
            x = Avx.MaskLoad(a1 + p + 8, tailHi); h10 = X86Fma.MultiplyAdd(x, y0, h10); h11 = X86Fma.MultiplyAdd(x, y1, h11); h12 = X86Fma.MultiplyAdd(x, y2, h12);
        }
        float* c1 = c + ldc;
        Put1(c, Reduce(l00 + h00), acc); Put1(c + 1, Reduce(l01 + h01), acc); Put1(c + 2, Reduce(l02 + h02), acc);
        Put1(c1, Reduce(l10 + h10), acc); Put1(c1 + 1, Reduce(l11 + h11), acc); Put1(c1 + 2, Reduce(l12 + h12), acc);
    }

    /// <summary>Lane masks for the depth's last partial 16-block: lanes [0, k mod 16) of its two 8-lane halves.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector256<float> Lo, Vector256<float> Hi) TailMasks(int k)
    {
        int r = k & 15;
        return (PackedGemm.LaneRange256(0, 0, r), PackedGemm.LaneRange256(8, 0, r));
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot256(int k, float* x, float* y)
    {
        Vector256<float> lo = default, hi = default;
        int p = 0;
        for (; p + 16 <= k; p += 16)
        {
            lo = X86Fma.MultiplyAdd(Vector256.Load(x + p), Vector256.Load(y + p), lo);
            hi = X86Fma.MultiplyAdd(Vector256.Load(x + p + 8), Vector256.Load(y + p + 8), hi);
        }
        if (p < k)
        {
            var (tailLo, tailHi) = TailMasks(k);
            lo = X86Fma.MultiplyAdd(Avx.MaskLoad(x + p, tailLo), Avx.MaskLoad(y + p, tailLo), lo);
            hi = X86Fma.MultiplyAdd(Avx.MaskLoad(x + p + 8, tailHi), Avx.MaskLoad(y + p + 8, tailHi), hi);
        }
        return Reduce(lo + hi);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put1(float* c, float v, bool acc) => *c = acc ? *c + v : v;

    /// <summary>The lane sums of four vectors, as one vector: a transpose-and-add tree (fewer shuffles than four Sums).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector128<float> Sum4(Vector512<float> v0, Vector512<float> v1, Vector512<float> v2, Vector512<float> v3)
    {
        // 512 → 256: add halves.
        var h0 = v0.GetLower() + v0.GetUpper(); var h1 = v1.GetLower() + v1.GetUpper();
        var h2 = v2.GetLower() + v2.GetUpper(); var h3 = v3.GetLower() + v3.GetUpper();
        // 256 → 128.
        var q0 = h0.GetLower() + h0.GetUpper(); var q1 = h1.GetLower() + h1.GetUpper();
        var q2 = h2.GetLower() + h2.GetUpper(); var q3 = h3.GetLower() + h3.GetUpper();
        // Four 4-lane vectors → one vector of their sums.
        var t0 = Sse3.HorizontalAdd(q0, q1); // (q0₀+q0₁, q0₂+q0₃, q1₀+q1₁, q1₂+q1₃)
        var t1 = Sse3.HorizontalAdd(q2, q3);
        return Sse3.HorizontalAdd(t0, t1);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Put4(float* c, Vector128<float> v, bool acc)
    {
        if (acc) v += Vector128.Load(c);
        v.Store(c);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckExtent(int length, long needed, int k, string name)
    {
        if (k > 0 && length < needed)
            throw new ArgumentException($"GEMM operand {name} has {length} elements, needs at least {needed}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma(Vector256<float> a, Vector256<float> b, Vector256<float> acc) =>
        System.Runtime.Intrinsics.X86.Fma.IsSupported ? X86Fma.MultiplyAdd(a, b, acc) : acc + a * b;

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NnVector(int m, int n, int k, float* a, int rsA, int csA, float* b, int ldb, float* c, int ldc)
    {
        int i = 0;
        // 4 rows × 16 columns of C in 8 registers; each k step: 2 loads of B, 4 broadcasts of A, 8 FMAs.
        for (; i + 4 <= m; i += 4)
        {
            float* a0 = a + i * rsA, a1 = a0 + rsA, a2 = a1 + rsA, a3 = a2 + rsA;
            int j = 0;
            for (; j + 16 <= n; j += 16)
            {
                float* c0 = c + i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
                var r00 = Vector256.Load(c0); var r01 = Vector256.Load(c0 + 8);
                var r10 = Vector256.Load(c1); var r11 = Vector256.Load(c1 + 8);
                var r20 = Vector256.Load(c2); var r21 = Vector256.Load(c2 + 8);
                var r30 = Vector256.Load(c3); var r31 = Vector256.Load(c3 + 8);
                float* bk = b + j;
                for (int p = 0, ao = 0; p < k; p++, ao += csA, bk += ldb)
                {
                    var b0 = Vector256.Load(bk); var b1 = Vector256.Load(bk + 8);
                    var x = Vector256.Create(a0[ao]); r00 = Fma(x, b0, r00); r01 = Fma(x, b1, r01);
                    x = Vector256.Create(a1[ao]); r10 = Fma(x, b0, r10); r11 = Fma(x, b1, r11);
                    x = Vector256.Create(a2[ao]); r20 = Fma(x, b0, r20); r21 = Fma(x, b1, r21);
                    x = Vector256.Create(a3[ao]); r30 = Fma(x, b0, r30); r31 = Fma(x, b1, r31);
                }
                r00.Store(c0); r01.Store(c0 + 8); r10.Store(c1); r11.Store(c1 + 8);
                r20.Store(c2); r21.Store(c2 + 8); r30.Store(c3); r31.Store(c3 + 8);
            }
            for (; j + 8 <= n; j += 8)
            {
                float* c0 = c + i * ldc + j, c1 = c0 + ldc, c2 = c1 + ldc, c3 = c2 + ldc;
                var r0 = Vector256.Load(c0); var r1 = Vector256.Load(c1); var r2 = Vector256.Load(c2); var r3 = Vector256.Load(c3);
                float* bk = b + j;
                for (int p = 0, ao = 0; p < k; p++, ao += csA, bk += ldb)
                {
                    var b0 = Vector256.Load(bk);
                    r0 = Fma(Vector256.Create(a0[ao]), b0, r0); r1 = Fma(Vector256.Create(a1[ao]), b0, r1);
                    r2 = Fma(Vector256.Create(a2[ao]), b0, r2); r3 = Fma(Vector256.Create(a3[ao]), b0, r3);
                }
                r0.Store(c0); r1.Store(c1); r2.Store(c2); r3.Store(c3);
            }
            if (j < n) NnScalar(4, n, k, a + i * rsA, rsA, csA, b, ldb, c + i * ldc, ldc, j, 0);
        }
        // Remaining rows, one at a time.
        for (; i < m; i++)
        {
            float* ai = a + i * rsA;
            float* ci = c + i * ldc;
            int j = 0;
            for (; j + 8 <= n; j += 8)
            {
                var r = Vector256.Load(ci + j);
                float* bk = b + j;
                for (int p = 0, ao = 0; p < k; p++, ao += csA, bk += ldb) r = Fma(Vector256.Create(ai[ao]), Vector256.Load(bk), r);
                r.Store(ci + j);
            }
            if (j < n) NnScalar(1, n, k, ai, rsA, csA, b, ldb, ci, ldc, j, 0);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void NnScalar(int m, int n, int k, float* a, int rsA, int csA, float* b, int ldb, float* c, int ldc, int j0, int unused)
    {
        for (int i = 0; i < m; i++)
            for (int j = j0; j < n; j++)
            {
                float s = c[i * ldc + j];
                for (int p = 0; p < k; p++) s += a[i * rsA + p * csA] * b[p * ldb + j];
                c[i * ldc + j] = s;
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static float Dot(int k, float* x, float* y)
    {
        int p = 0;
        float s = 0;
        if (Vector256.IsHardwareAccelerated && k >= 8)
        {
            var acc = Vector256<float>.Zero;
            for (; p + 8 <= k; p += 8) acc = Fma(Vector256.Load(x + p), Vector256.Load(y + p), acc);
            s = Vector256.Sum(acc);
        }
        for (; p < k; p++) s += x[p] * y[p];
        return s;
    }

    // Two rows of A against four rows of B: 8 accumulators, 6 loads per 8 FMAs.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Dot2x4(int k, float* a0, int lda, float* b0, int ldb, float* c, int ldc, bool accumulate)
    {
        float* a1 = a0 + lda;
        float* b1 = b0 + ldb, b2 = b1 + ldb, b3 = b2 + ldb;
        float s00 = 0, s01 = 0, s02 = 0, s03 = 0, s10 = 0, s11 = 0, s12 = 0, s13 = 0;
        int p = 0;
        if (Vector256.IsHardwareAccelerated && k >= 8)
        {
            Vector256<float> v00 = default, v01 = default, v02 = default, v03 = default, v10 = default, v11 = default, v12 = default, v13 = default;
            for (; p + 8 <= k; p += 8)
            {
                var x0 = Vector256.Load(a0 + p); var x1 = Vector256.Load(a1 + p);
                var y = Vector256.Load(b0 + p); v00 = Fma(x0, y, v00); v10 = Fma(x1, y, v10);
                y = Vector256.Load(b1 + p); v01 = Fma(x0, y, v01); v11 = Fma(x1, y, v11);
                y = Vector256.Load(b2 + p); v02 = Fma(x0, y, v02); v12 = Fma(x1, y, v12);
                y = Vector256.Load(b3 + p); v03 = Fma(x0, y, v03); v13 = Fma(x1, y, v13);
            }
            s00 = Vector256.Sum(v00); s01 = Vector256.Sum(v01); s02 = Vector256.Sum(v02); s03 = Vector256.Sum(v03);
            s10 = Vector256.Sum(v10); s11 = Vector256.Sum(v11); s12 = Vector256.Sum(v12); s13 = Vector256.Sum(v13);
        }
        for (; p < k; p++)
        {
            float x0 = a0[p], x1 = a1[p];
            s00 += x0 * b0[p]; s01 += x0 * b1[p]; s02 += x0 * b2[p]; s03 += x0 * b3[p];
            s10 += x1 * b0[p]; s11 += x1 * b1[p]; s12 += x1 * b2[p]; s13 += x1 * b3[p];
        }
        float* c1 = c + ldc;
        if (accumulate)
        {
            c[0] += s00; c[1] += s01; c[2] += s02; c[3] += s03;
            c1[0] += s10; c1[1] += s11; c1[2] += s12; c1[3] += s13;
        }
        else
        {
            c[0] = s00; c[1] = s01; c[2] = s02; c[3] = s03;
            c1[0] = s10; c1[1] = s11; c1[2] = s12; c1[3] = s13;
        }
    }
}
