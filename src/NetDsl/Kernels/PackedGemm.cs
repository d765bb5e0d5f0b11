using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// C (+)= A·B (+ per-row bias) with A packed into panels of <see cref="MR"/> rows and B read in place (row-major,
/// leading dimension ldb). The microkernel keeps an <see cref="MR"/>×32 block of C in sixteen AVX-512 registers
/// (8 rows × 2 zmm), or <see cref="MR"/>×8 in eight AVX registers, over a depth of up to <see cref="KC"/>; partial column
/// strips of B are read through lane masks, and C written through them (AVX-512) or through a stack buffer (AVX2). Nothing is allocated. Results depend only on the shapes,
/// not on timing, so they are the same run to run.
/// </summary>
[SkipLocalsInit]
public static unsafe class PackedGemm
{
    /// <summary>Rows of A per packed panel (and of C per microtile).</summary>
    public const int MR = 8;
    /// <summary>Depth of one pass over a C tile (cache block of the k dimension).</summary>
    public const int KC = 256;

    /// <summary>Floats <see cref="PackA"/> writes for an m×k matrix: m rounded up to <see cref="MR"/>, times k.</summary>
    public static int PackedASize(int m, int k) => (m + MR - 1) / MR * MR * Math.Max(k, 0);

    /// <summary>Packs A(i,p) = a[i·rsA + p·csA] (m×k) into panels of <see cref="MR"/> rows: panel q holds
    /// rows [q·MR, q·MR + MR) as k groups of MR values (rows past m are zero).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void PackA(int m, int k, ReadOnlySpan<float> a, int rsA, int csA, Span<float> dst)
    {
        if (m <= 0 || k <= 0) return;
        if (a.Length < (long)(m - 1) * rsA + (long)(k - 1) * csA + 1) throw new ArgumentException($"PackA: A has {a.Length} elements, too few for {m}×{k} with strides {rsA}, {csA}.");
        if (dst.Length < PackedASize(m, k)) throw new ArgumentException($"PackA: destination has {dst.Length} floats, needs {PackedASize(m, k)}.");
        fixed (float* pa = a, pd = dst)
        {
            for (int i0 = 0; i0 < m; i0 += MR)
            {
                float* d = pd + (nint)i0 * k;
                float* s = pa + (nint)i0 * rsA;
                int rows = Math.Min(MR, m - i0);
                if (rows == MR && rsA == 1 && Vector256.IsHardwareAccelerated)
                {
                    for (int p = 0; p < k; p++) Vector256.Store(Vector256.Load(s + (nint)p * csA), d + p * MR);
                }
                else if (csA == 1 && Avx.IsSupported)
                {
                    int p = 0;
                    for (; p + 8 <= k; p += 8) Transpose8x8(s + p, rsA, rows, d + p * MR, MR, MR);
                    for (; p < k; p++)
                        for (int r = 0; r < MR; r++) d[p * MR + r] = r < rows ? s[(nint)r * rsA + p] : 0f;
                }
                else
                {
                    for (int p = 0; p < k; p++)
                        for (int r = 0; r < MR; r++) d[p * MR + r] = r < rows ? s[(nint)r * rsA + (nint)p * csA] : 0f;
                }
            }
        }
    }

    /// <summary>dst[j·ldd + i] = src[i·lds + j] for i &lt; rows, j &lt; cols.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Transpose(int rows, int cols, ReadOnlySpan<float> src, int lds, Span<float> dst, int ldd)
    {
        if (rows <= 0 || cols <= 0) return;
        if (src.Length < (long)(rows - 1) * lds + cols || dst.Length < (long)(cols - 1) * ldd + rows)
            throw new ArgumentException("Transpose: a buffer is too small.");
        fixed (float* ps = src, pd = dst)
        {
            int i = 0;
            if (Avx.IsSupported)
            {
                // Blocks of 8 rows; the last, partial block reads zero rows past the end and writes only its own.
                for (; i < rows; i += 8)
                {
                    int rv = Math.Min(8, rows - i);
                    if (rv < 8 && !Avx512F.VL.IsSupported) break;
                    int j = 0;
                    for (; j + 8 <= cols; j += 8) Transpose8x8(ps + (nint)i * lds + j, lds, rv, pd + (nint)j * ldd + i, ldd, rv);
                    for (; j < cols; j++)
                        for (int r = 0; r < rv; r++) pd[(nint)j * ldd + i + r] = ps[(nint)(i + r) * lds + j];
                }
            }
            for (; i < rows; i++)
                for (int j = 0; j < cols; j++) pd[(nint)j * ldd + i] = ps[(nint)i * lds + j];
        }
    }

    /// <summary>Transposes the 8×8 block at s (rows lds apart; rows past <paramref name="rows"/> read as zero) into d
    /// (rows ldd apart), writing the first <paramref name="cols"/> floats of each output row (a partial write needs AVX-512).
    /// Needs AVX.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Transpose8x8(float* s, int lds, int rows, float* d, int ldd, int cols)
    {
        var r0 = Avx.LoadVector256(s);
        var r1 = rows > 1 ? Avx.LoadVector256(s + lds) : default;
        var r2 = rows > 2 ? Avx.LoadVector256(s + 2 * (nint)lds) : default;
        var r3 = rows > 3 ? Avx.LoadVector256(s + 3 * (nint)lds) : default;
        var r4 = rows > 4 ? Avx.LoadVector256(s + 4 * (nint)lds) : default;
        var r5 = rows > 5 ? Avx.LoadVector256(s + 5 * (nint)lds) : default;
        var r6 = rows > 6 ? Avx.LoadVector256(s + 6 * (nint)lds) : default;
        var r7 = rows > 7 ? Avx.LoadVector256(s + 7 * (nint)lds) : default;
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        if (cols == 8)
        {
            Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
            Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
            Avx.Store(d + 2 * (nint)ldd, Avx.Permute2x128(u2, u6, 0x20));
            Avx.Store(d + 3 * (nint)ldd, Avx.Permute2x128(u3, u7, 0x20));
            Avx.Store(d + 4 * (nint)ldd, Avx.Permute2x128(u0, u4, 0x31));
            Avx.Store(d + 5 * (nint)ldd, Avx.Permute2x128(u1, u5, 0x31));
            Avx.Store(d + 6 * (nint)ldd, Avx.Permute2x128(u2, u6, 0x31));
            Avx.Store(d + 7 * (nint)ldd, Avx.Permute2x128(u3, u7, 0x31));
            return;
        }
        var m = Vector256.LessThan(Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7), Vector256.Create(cols)).AsSingle();
        Avx512F.VL.MaskStore(d, m, Avx.Permute2x128(u0, u4, 0x20));
        Avx512F.VL.MaskStore(d + ldd, m, Avx.Permute2x128(u1, u5, 0x20));
        Avx512F.VL.MaskStore(d + 2 * (nint)ldd, m, Avx.Permute2x128(u2, u6, 0x20));
        Avx512F.VL.MaskStore(d + 3 * (nint)ldd, m, Avx.Permute2x128(u3, u7, 0x20));
        Avx512F.VL.MaskStore(d + 4 * (nint)ldd, m, Avx.Permute2x128(u0, u4, 0x31));
        Avx512F.VL.MaskStore(d + 5 * (nint)ldd, m, Avx.Permute2x128(u1, u5, 0x31));
        Avx512F.VL.MaskStore(d + 6 * (nint)ldd, m, Avx.Permute2x128(u2, u6, 0x31));
        Avx512F.VL.MaskStore(d + 7 * (nint)ldd, m, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// C[m×n] = (accumulate ? C : 0) + A·B (+ bias[i] on row i), A as <see cref="PackA"/> packed it (m×k),
    /// B(p,j) = b[p·ldb + j], C(i,j) = c[i·ldc + j].
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Mul(int m, int n, int k, ReadOnlySpan<float> packedA, ReadOnlySpan<float> b, int ldb,
        Span<float> c, int ldc, bool accumulate, ReadOnlySpan<float> bias = default)
    {
        if (m <= 0 || n <= 0) return;
        if (c.Length < (long)(m - 1) * ldc + n) throw new ArgumentException($"Mul: C has {c.Length} elements, needs {(long)(m - 1) * ldc + n}.");
        if (!bias.IsEmpty && bias.Length < m) throw new ArgumentException($"Mul: bias has {bias.Length} elements, needs {m}.");
        if (k <= 0)
        {
            for (int i = 0; i < m; i++)
            {
                var row = c.Slice(i * ldc, n);
                if (!accumulate) row.Clear();
                if (!bias.IsEmpty) Vec.AddScalar(row, bias[i]);
            }
            return;
        }
        if (packedA.Length < PackedASize(m, k)) throw new ArgumentException($"Mul: packed A has {packedA.Length} floats, needs {PackedASize(m, k)}.");
        if (b.Length < (long)(k - 1) * ldb + n) throw new ArgumentException($"Mul: B has {b.Length} elements, needs {(long)(k - 1) * ldb + n}.");
        fixed (float* pa = packedA, pb = b, pc = c, pbias = bias)
        {
            float* bi = bias.IsEmpty ? null : pbias;
            if (Simd.Use512) Mul512(m, n, k, pa, pb, ldb, pc, ldc, accumulate, bi);
            else if (Vector256.IsHardwareAccelerated) Mul256(m, n, k, pa, pb, ldb, pc, ldc, accumulate, bi);
            else MulScalar(m, n, k, pa, pb, ldb, pc, ldc, accumulate, bi);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MulScalar(int m, int n, int k, float* a, float* b, int ldb, float* c, int ldc, bool accumulate, float* bias)
    {
        for (int i = 0; i < m; i++)
        {
            float* ai = a + (nint)(i / MR) * MR * k + i % MR;
            for (int j = 0; j < n; j++)
            {
                float s = 0f;
                for (int p = 0; p < k; p++) s += ai[p * MR] * b[(nint)p * ldb + j];
                float* cij = c + (nint)i * ldc + j;
                float v = accumulate ? *cij + s : s;
                if (bias != null) v += bias[i];
                *cij = v;
            }
        }
    }

    // ---------------------------------------------------------------- AVX-512: 8×32 microtiles

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Mul512(int m, int n, int k, float* a, float* b, int ldb, float* c, int ldc, bool accumulate, float* bias)
    {
        int kcMax = DepthPass(k);
        for (int k0 = 0; k0 < k; k0 += kcMax)
        {
            int kc = Math.Min(kcMax, k - k0);
            bool acc = accumulate || k0 > 0;
            float* bs = k0 + kc == k ? bias : null;
            for (int j0 = 0; j0 < n; j0 += 32)
            {
                int nv = Math.Min(32, n - j0);
                float* bp = b + (nint)k0 * ldb + j0;
                for (int i0 = 0; i0 < m; i0 += MR)
                {
                    float* ap = a + (nint)i0 * k + (nint)k0 * MR;
                    float* cp = c + (nint)i0 * ldc + j0;
                    float* bi = bs == null ? null : bs + i0;
                    int mv = Math.Min(MR, m - i0);
                    // Partial strips read B and write C through lane masks: no copy, no element past n touched.
                    if (nv == 32) Kernel512(kc, ap, bp, ldb, cp, ldc, mv, default(WholeUpper), acc, bi);
                    else if (nv > 16) Kernel512(kc, ap, bp, ldb, cp, ldc, mv, new MaskedUpper(LaneMask(nv - 16)), acc, bi);
                    else Kernel512Half(kc, ap, bp, ldb, cp, ldc, mv, LaneMask(nv), acc, bi);
                }
            }
        }
    }

    /// <summary>The depth of one pass over C: at most <see cref="KC"/>, the passes of equal size (288 = 2 × 144, not
    /// 256 + 32), because a short last pass would reload and store C for little work.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int DepthPass(int k)
    {
        int passes = (k + KC - 1) / KC;
        return (k + passes - 1) / passes;
    }

    /// <summary>All bits set in lanes [0, count), zero above: the mask AVX-512 masked loads and stores take.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> LaneMask(int count) => LaneRange(0, 0, count);

    /// <summary>All bits set in the lanes l whose index first + l lies in [lo, hi): the columns a masked load or store
    /// may touch when lane 0 stands for column <paramref name="first"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector512<float> LaneRange(int first, int lo, int hi)
    {
        var index = Vector512.Create(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15) + Vector512.Create(first);
        return (Vector512.GreaterThanOrEqual(index, Vector512.Create(lo)) & Vector512.LessThan(index, Vector512.Create(hi))).AsSingle();
    }

    /// <summary>All bits set in the 8 lanes l whose column first + l lies in [lo, hi): AVX2's masked loads and stores
    /// take the sign bit of each lane.</summary>
    // These mask makers are inlined on purpose: NativeAOT left them as calls, and a call inside a kernel (Gemm.Nt256's
    // masked last depth block) makes the register allocator keep the accumulators on the stack through the whole loop
    // (no vector register survives a call on x64 Linux): the AOT build's dot products ran at half speed.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> LaneRange256(int first, int lo, int hi)
    {
        var index = Vector256.Create(0, 1, 2, 3, 4, 5, 6, 7) + Vector256.Create(first);
        return (Vector256.GreaterThanOrEqual(index, Vector256.Create(lo)) & Vector256.LessThan(index, Vector256.Create(hi))).AsSingle();
    }

    /// <summary>How the microtile reads B's upper 16 columns and writes C's: whole (a full 32-column strip) or through a
    /// lane mask (17–31 columns). A struct type argument, so the JIT compiles one loop per case with no test inside.</summary>
    private interface IUpperHalf
    {
        Vector512<float> Load(float* p);
        void Store(float* p, Vector512<float> v);
    }

    private readonly struct WholeUpper : IUpperHalf
    {
        public Vector512<float> Load(float* p) => Vector512.Load(p);
        public void Store(float* p, Vector512<float> v) => v.Store(p);
    }

    private readonly struct MaskedUpper(Vector512<float> mask) : IUpperHalf
    {
        public Vector512<float> Load(float* p) => Avx512F.MaskLoad(p, mask, Vector512<float>.Zero);
        public void Store(float* p, Vector512<float> v) => Avx512F.MaskStore(p, mask, v);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512<TUpper>(int kc, float* a, float* b, nint ldb, float* c, int ldc, int mv, in TUpper upper, bool acc, float* bias)
        where TUpper : struct, IUpperHalf
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = upper.Load(b + 16);
            var x = Vector512.Create(a[0]); c00 = Vector512.FusedMultiplyAdd(x, b0, c00); c01 = Vector512.FusedMultiplyAdd(x, b1, c01);
            x = Vector512.Create(a[1]); c10 = Vector512.FusedMultiplyAdd(x, b0, c10); c11 = Vector512.FusedMultiplyAdd(x, b1, c11);
            x = Vector512.Create(a[2]); c20 = Vector512.FusedMultiplyAdd(x, b0, c20); c21 = Vector512.FusedMultiplyAdd(x, b1, c21);
            x = Vector512.Create(a[3]); c30 = Vector512.FusedMultiplyAdd(x, b0, c30); c31 = Vector512.FusedMultiplyAdd(x, b1, c31);
            x = Vector512.Create(a[4]); c40 = Vector512.FusedMultiplyAdd(x, b0, c40); c41 = Vector512.FusedMultiplyAdd(x, b1, c41);
            x = Vector512.Create(a[5]); c50 = Vector512.FusedMultiplyAdd(x, b0, c50); c51 = Vector512.FusedMultiplyAdd(x, b1, c51);
            x = Vector512.Create(a[6]); c60 = Vector512.FusedMultiplyAdd(x, b0, c60); c61 = Vector512.FusedMultiplyAdd(x, b1, c61);
            x = Vector512.Create(a[7]); c70 = Vector512.FusedMultiplyAdd(x, b0, c70); c71 = Vector512.FusedMultiplyAdd(x, b1, c71);
            a += MR;
            b += ldb;
        }
        Store512(c, c00, c01, upper, acc, bias, 0);
        if (mv > 1) Store512(c + ldc, c10, c11, upper, acc, bias, 1);
        if (mv > 2) Store512(c + 2 * (nint)ldc, c20, c21, upper, acc, bias, 2);
        if (mv > 3) Store512(c + 3 * (nint)ldc, c30, c31, upper, acc, bias, 3);
        if (mv > 4) Store512(c + 4 * (nint)ldc, c40, c41, upper, acc, bias, 4);
        if (mv > 5) Store512(c + 5 * (nint)ldc, c50, c51, upper, acc, bias, 5);
        if (mv > 6) Store512(c + 6 * (nint)ldc, c60, c61, upper, acc, bias, 6);
        if (mv > 7) Store512(c + 7 * (nint)ldc, c70, c71, upper, acc, bias, 7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512<TUpper>(float* c, Vector512<float> v0, Vector512<float> v1, in TUpper upper, bool acc, float* bias, int row)
        where TUpper : struct, IUpperHalf
    {
        if (acc) { v0 += Vector512.Load(c); v1 += upper.Load(c + 16); }
        if (bias != null) { var bv = Vector512.Create(bias[row]); v0 += bv; v1 += bv; }
        v0.Store(c);
        upper.Store(c + 16, v1);
    }

    /// <summary>An <see cref="MR"/>×16 tile for strips of at most 16 columns (half the FMAs of a padded 8×32 tile).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel512Half(int kc, float* a, float* b, nint ldb, float* c, int ldc, int mv, in Vector512<float> mask, bool acc, float* bias)
    {
        Vector512<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Avx512F.MaskLoad(b, mask, Vector512<float>.Zero);
            c0 = Vector512.FusedMultiplyAdd(Vector512.Create(a[0]), b0, c0);
            c1 = Vector512.FusedMultiplyAdd(Vector512.Create(a[1]), b0, c1);
            c2 = Vector512.FusedMultiplyAdd(Vector512.Create(a[2]), b0, c2);
            c3 = Vector512.FusedMultiplyAdd(Vector512.Create(a[3]), b0, c3);
            c4 = Vector512.FusedMultiplyAdd(Vector512.Create(a[4]), b0, c4);
            c5 = Vector512.FusedMultiplyAdd(Vector512.Create(a[5]), b0, c5);
            c6 = Vector512.FusedMultiplyAdd(Vector512.Create(a[6]), b0, c6);
            c7 = Vector512.FusedMultiplyAdd(Vector512.Create(a[7]), b0, c7);
            a += MR;
            b += ldb;
        }
        StoreHalf(c, c0, mask, acc, bias, 0);
        if (mv > 1) StoreHalf(c + ldc, c1, mask, acc, bias, 1);
        if (mv > 2) StoreHalf(c + 2 * (nint)ldc, c2, mask, acc, bias, 2);
        if (mv > 3) StoreHalf(c + 3 * (nint)ldc, c3, mask, acc, bias, 3);
        if (mv > 4) StoreHalf(c + 4 * (nint)ldc, c4, mask, acc, bias, 4);
        if (mv > 5) StoreHalf(c + 5 * (nint)ldc, c5, mask, acc, bias, 5);
        if (mv > 6) StoreHalf(c + 6 * (nint)ldc, c6, mask, acc, bias, 6);
        if (mv > 7) StoreHalf(c + 7 * (nint)ldc, c7, mask, acc, bias, 7);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHalf(float* c, Vector512<float> v, Vector512<float> mask, bool acc, float* bias, int row)
    {
        if (acc) v += Avx512F.MaskLoad(c, mask, Vector512<float>.Zero);
        if (bias != null) v += Vector512.Create(bias[row]);
        Avx512F.MaskStore(c, mask, v);
    }

    // ---------------------------------------------------------------- AVX2: 4×24 microtiles, 8×8 for the last columns

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Mul256(int m, int n, int k, float* a, float* b, int ldb, float* c, int ldc, bool accumulate, float* bias)
    {
        float* stripBuffer = stackalloc float[KC * 24 + 16];
        float* strip = (float*)(((nint)stripBuffer + 63) & ~(nint)63);
        int kcMax = DepthPass(k);
        for (int k0 = 0; k0 < k; k0 += kcMax)
        {
            int kc = Math.Min(kcMax, k - k0);
            bool acc = accumulate || k0 > 0;
            float* bs = k0 + kc == k ? bias : null;
            // Whole strips of 24 columns: two 4×24 passes per 8-row panel (12 accumulators, all 16 registers used, so
            // 12 independent FMA chains per step: enough to cover the FMA latency, which 8×8 tiles with 8 chains did not).
            int n24 = n - n % 24;
            for (int j0 = 0; j0 < n24; j0 += 24)
            {
                float* bp = b + (nint)k0 * ldb + j0;
                nint ld = ldb;
                if ((((nint)bp | ((nint)ldb * sizeof(float))) & 31) != 0 && m > 4)
                {
                    // B's rows do not all start on 32-byte boundaries (a batch-1 convolution's 100-column rows: 400 bytes
                    // apart), so a third of the loads would straddle two cache lines, which cost the kernel a fifth of its
                    // speed. The strip is read by two passes per panel: copy it into an aligned buffer first.
                    for (int p = 0; p < kc; p++)
                    {
                        float* src = bp + (nint)p * ldb;
                        float* dst = strip + p * 24;
                        Vector256.Load(src).Store(dst); Vector256.Load(src + 8).Store(dst + 8); Vector256.Load(src + 16).Store(dst + 16);
                    }
                    bp = strip;
                    ld = 24;
                }
                for (int i0 = 0; i0 < m; i0 += MR)
                {
                    float* ap = a + (nint)i0 * k + (nint)k0 * MR;
                    float* cp = c + (nint)i0 * ldc + j0;
                    float* bi = bs == null ? null : bs + i0;
                    int mv = Math.Min(MR, m - i0);
                    Kernel256x24(kc, ap, bp, ld, cp, ldc, Math.Min(4, mv), acc, bi);
                    if (mv > 4) Kernel256x24(kc, ap + 4, bp, ld, cp + 4 * (nint)ldc, ldc, mv - 4, acc, bi == null ? null : bi + 4);
                }
            }
            for (int j0 = n24; j0 < n; j0 += 8)
            {
                int nv = Math.Min(8, n - j0);
                float* bp = b + (nint)k0 * ldb + j0;
                for (int i0 = 0; i0 < m; i0 += MR)
                {
                    float* ap = a + (nint)i0 * k + (nint)k0 * MR;
                    float* cp = c + (nint)i0 * ldc + j0;
                    float* bi = bs == null ? null : bs + i0;
                    if (nv == 8) Kernel256(kc, ap, bp, ldb, cp, ldc, Math.Min(MR, m - i0), 8, acc, bi, default(WholeRow));
                    else Kernel256(kc, ap, bp, ldb, cp, ldc, Math.Min(MR, m - i0), nv, acc, bi, new MaskedRow(LaneRange256(0, 0, nv)));
                }
            }
        }
    }

    /// <summary>How <see cref="Kernel256{TRow}"/> reads B's 8 columns: whole, or the first few through a lane mask (the
    /// last strip; AVX2's masked loads are cheap, unlike its masked stores). A type argument, as <see cref="IUpperHalf"/>.</summary>
    private interface IRow256 { Vector256<float> Load(float* p); }

    private readonly struct WholeRow : IRow256
    {
        public Vector256<float> Load(float* p) => Vector256.Load(p);
    }

    private readonly struct MaskedRow(Vector256<float> mask) : IRow256
    {
        public Vector256<float> Load(float* p) => Avx.MaskLoad(p, mask);
    }

    // The kernels call Vector256.FusedMultiplyAdd directly (one rounding, as Vector512's; a software fallback where the
    // CPU lacks FMA): a helper method would be a call per FMA in the JIT's first, unoptimized compilation, which LeNet-5's
    // short runs spent a tenth of their time in.

    /// <summary>Rows r &lt; <paramref name="mv"/> (at most 4) of a panel's 8, 24 columns: C (+)= A·B (+ bias), each element's
    /// products summed in depth order like every other kernel here, so the result does not depend on the tile shape.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256x24(int kc, float* a, float* b, nint ldb, float* c, int ldc, int mv, bool acc, float* bias)
    {
        Vector256<float> c00 = default, c01 = default, c02 = default, c10 = default, c11 = default, c12 = default;
        Vector256<float> c20 = default, c21 = default, c22 = default, c30 = default, c31 = default, c32 = default;
        int p = 0;
        // Two depth steps per iteration: fewer loop instructions per FMA (3 % faster).
        for (; p + 2 <= kc; p += 2)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8); var b2 = Vector256.Load(b + 16);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01); c02 = Vector256.FusedMultiplyAdd(x, b2, c02);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11); c12 = Vector256.FusedMultiplyAdd(x, b2, c12);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21); c22 = Vector256.FusedMultiplyAdd(x, b2, c22);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31); c32 = Vector256.FusedMultiplyAdd(x, b2, c32);
            float* bn = b + ldb;
            b0 = Vector256.Load(bn); b1 = Vector256.Load(bn + 8); b2 = Vector256.Load(bn + 16);
            x = Vector256.Create(a[MR]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01); c02 = Vector256.FusedMultiplyAdd(x, b2, c02);
            x = Vector256.Create(a[MR + 1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11); c12 = Vector256.FusedMultiplyAdd(x, b2, c12);
            x = Vector256.Create(a[MR + 2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21); c22 = Vector256.FusedMultiplyAdd(x, b2, c22);
            x = Vector256.Create(a[MR + 3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31); c32 = Vector256.FusedMultiplyAdd(x, b2, c32);
            a += 2 * MR;
            b = bn + ldb;
        }
        if (p < kc)
        {
            var b0 = Vector256.Load(b); var b1 = Vector256.Load(b + 8); var b2 = Vector256.Load(b + 16);
            var x = Vector256.Create(a[0]); c00 = Vector256.FusedMultiplyAdd(x, b0, c00); c01 = Vector256.FusedMultiplyAdd(x, b1, c01); c02 = Vector256.FusedMultiplyAdd(x, b2, c02);
            x = Vector256.Create(a[1]); c10 = Vector256.FusedMultiplyAdd(x, b0, c10); c11 = Vector256.FusedMultiplyAdd(x, b1, c11); c12 = Vector256.FusedMultiplyAdd(x, b2, c12);
            x = Vector256.Create(a[2]); c20 = Vector256.FusedMultiplyAdd(x, b0, c20); c21 = Vector256.FusedMultiplyAdd(x, b1, c21); c22 = Vector256.FusedMultiplyAdd(x, b2, c22);
            x = Vector256.Create(a[3]); c30 = Vector256.FusedMultiplyAdd(x, b0, c30); c31 = Vector256.FusedMultiplyAdd(x, b1, c31); c32 = Vector256.FusedMultiplyAdd(x, b2, c32);
        }
        Store24(c, c00, c01, c02, acc, bias, 0);
        if (mv > 1) Store24(c + ldc, c10, c11, c12, acc, bias, 1);
        if (mv > 2) Store24(c + 2 * (nint)ldc, c20, c21, c22, acc, bias, 2);
        if (mv > 3) Store24(c + 3 * (nint)ldc, c30, c31, c32, acc, bias, 3);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store24(float* c, Vector256<float> v0, Vector256<float> v1, Vector256<float> v2, bool acc, float* bias, int row)
    {
        if (acc) { v0 += Vector256.Load(c); v1 += Vector256.Load(c + 8); v2 += Vector256.Load(c + 16); }
        if (bias != null) { var bv = Vector256.Create(bias[row]); v0 += bv; v1 += bv; v2 += bv; }
        v0.Store(c); v1.Store(c + 8); v2.Store(c + 16);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Kernel256<TRow>(int kc, float* a, float* b, nint ldb, float* c, int ldc, int mv, int nv, bool acc, float* bias, TRow row)
        where TRow : struct, IRow256
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = row.Load(b);
            c0 = Vector256.FusedMultiplyAdd(Vector256.Create(a[0]), b0, c0);
            c1 = Vector256.FusedMultiplyAdd(Vector256.Create(a[1]), b0, c1);
            c2 = Vector256.FusedMultiplyAdd(Vector256.Create(a[2]), b0, c2);
            c3 = Vector256.FusedMultiplyAdd(Vector256.Create(a[3]), b0, c3);
            c4 = Vector256.FusedMultiplyAdd(Vector256.Create(a[4]), b0, c4);
            c5 = Vector256.FusedMultiplyAdd(Vector256.Create(a[5]), b0, c5);
            c6 = Vector256.FusedMultiplyAdd(Vector256.Create(a[6]), b0, c6);
            c7 = Vector256.FusedMultiplyAdd(Vector256.Create(a[7]), b0, c7);
            a += MR;
            b += ldb;
        }
        float* tmp = stackalloc float[8];
        Store256(c, c0, nv, acc, bias, 0, tmp);
        if (mv > 1) Store256(c + ldc, c1, nv, acc, bias, 1, tmp);
        if (mv > 2) Store256(c + 2 * (nint)ldc, c2, nv, acc, bias, 2, tmp);
        if (mv > 3) Store256(c + 3 * (nint)ldc, c3, nv, acc, bias, 3, tmp);
        if (mv > 4) Store256(c + 4 * (nint)ldc, c4, nv, acc, bias, 4, tmp);
        if (mv > 5) Store256(c + 5 * (nint)ldc, c5, nv, acc, bias, 5, tmp);
        if (mv > 6) Store256(c + 6 * (nint)ldc, c6, nv, acc, bias, 6, tmp);
        if (mv > 7) Store256(c + 7 * (nint)ldc, c7, nv, acc, bias, 7, tmp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store256(float* c, Vector256<float> v, int nv, bool acc, float* bias, int row, float* tmp)
    {
        if (nv == 8)
        {
            if (acc) v += Vector256.Load(c);
            if (bias != null) v += Vector256.Create(bias[row]);
            v.Store(c);
            return;
        }
        v.Store(tmp);
        for (int j = 0; j < nv; j++)
        {
            float x = acc ? c[j] + tmp[j] : tmp[j];
            if (bias != null) x += bias[row];
            c[j] = x;
        }
    }
}
