using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// C (+)= A·B (+ per-row bias) with A packed into panels of <see cref="MR"/> rows and B read in place (row-major,
/// leading dimension ldb). The microkernel keeps an <see cref="MR"/>×32 block of C in sixteen AVX-512 registers
/// (8 rows × 2 zmm), or <see cref="MR"/>×8 in eight AVX registers, over a depth of up to <see cref="KC"/>; partial column
/// strips of B are copied into a zero-padded stack buffer. Nothing is allocated. Results depend only on the shapes,
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
                else if (rows == MR && csA == 1 && Avx.IsSupported)
                {
                    int p = 0;
                    for (; p + 8 <= k; p += 8) Transpose8x8(s + p, rsA, d + p * MR, MR);
                    for (; p < k; p++)
                        for (int r = 0; r < MR; r++) d[p * MR + r] = s[(nint)r * rsA + p];
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
                for (; i + 8 <= rows; i += 8)
                {
                    int j = 0;
                    for (; j + 8 <= cols; j += 8) Transpose8x8(ps + (nint)i * lds + j, lds, pd + (nint)j * ldd + i, ldd);
                    for (; j < cols; j++)
                        for (int r = 0; r < 8; r++) pd[(nint)j * ldd + i + r] = ps[(nint)(i + r) * lds + j];
                }
            }
            for (; i < rows; i++)
                for (int j = 0; j < cols; j++) pd[(nint)j * ldd + i] = ps[(nint)i * lds + j];
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Transpose8x8(float* s, int lds, float* d, int ldd)
    {
        var r0 = Avx.LoadVector256(s); var r1 = Avx.LoadVector256(s + lds);
        var r2 = Avx.LoadVector256(s + 2 * (nint)lds); var r3 = Avx.LoadVector256(s + 3 * (nint)lds);
        var r4 = Avx.LoadVector256(s + 4 * (nint)lds); var r5 = Avx.LoadVector256(s + 5 * (nint)lds);
        var r6 = Avx.LoadVector256(s + 6 * (nint)lds); var r7 = Avx.LoadVector256(s + 7 * (nint)lds);
        var t0 = Avx.UnpackLow(r0, r1); var t1 = Avx.UnpackHigh(r0, r1);
        var t2 = Avx.UnpackLow(r2, r3); var t3 = Avx.UnpackHigh(r2, r3);
        var t4 = Avx.UnpackLow(r4, r5); var t5 = Avx.UnpackHigh(r4, r5);
        var t6 = Avx.UnpackLow(r6, r7); var t7 = Avx.UnpackHigh(r6, r7);
        var u0 = Avx.Shuffle(t0, t2, 0x44); var u1 = Avx.Shuffle(t0, t2, 0xEE);
        var u2 = Avx.Shuffle(t1, t3, 0x44); var u3 = Avx.Shuffle(t1, t3, 0xEE);
        var u4 = Avx.Shuffle(t4, t6, 0x44); var u5 = Avx.Shuffle(t4, t6, 0xEE);
        var u6 = Avx.Shuffle(t5, t7, 0x44); var u7 = Avx.Shuffle(t5, t7, 0xEE);
        Avx.Store(d, Avx.Permute2x128(u0, u4, 0x20));
        Avx.Store(d + ldd, Avx.Permute2x128(u1, u5, 0x20));
        Avx.Store(d + 2 * (nint)ldd, Avx.Permute2x128(u2, u6, 0x20));
        Avx.Store(d + 3 * (nint)ldd, Avx.Permute2x128(u3, u7, 0x20));
        Avx.Store(d + 4 * (nint)ldd, Avx.Permute2x128(u0, u4, 0x31));
        Avx.Store(d + 5 * (nint)ldd, Avx.Permute2x128(u1, u5, 0x31));
        Avx.Store(d + 6 * (nint)ldd, Avx.Permute2x128(u2, u6, 0x31));
        Avx.Store(d + 7 * (nint)ldd, Avx.Permute2x128(u3, u7, 0x31));
    }

    /// <summary>
    /// C[m×n] = (accumulate ? C : 0) + A·B (+ bias[i] on row i), A as <see cref="PackA"/> packed it (m×k),
    /// B(p,j) = b[p·ldb + j], C(i,j) = c[i·ldc + j].
    /// </summary>
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
            if (Vector512.IsHardwareAccelerated) Mul512(m, n, k, pa, pb, ldb, pc, ldc, accumulate, bi);
            else if (Vector256.IsHardwareAccelerated) Mul256(m, n, k, pa, pb, ldb, pc, ldc, accumulate, bi);
            else MulScalar(m, n, k, pa, pb, ldb, pc, ldc, accumulate, bi);
        }
    }

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

    private static void Mul512(int m, int n, int k, float* a, float* b, int ldb, float* c, int ldc, bool accumulate, float* bias)
    {
        float* edge = stackalloc float[KC * 32];
        for (int k0 = 0; k0 < k; k0 += KC)
        {
            int kc = Math.Min(KC, k - k0);
            bool acc = accumulate || k0 > 0;
            float* bs = k0 + kc == k ? bias : null;
            for (int j0 = 0; j0 < n; j0 += 32)
            {
                int nv = Math.Min(32, n - j0);
                float* bp = b + (nint)k0 * ldb + j0;
                nint ld = ldb;
                if (nv < 32)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* src = bp + (nint)p * ldb;
                        float* dst = edge + p * 32;
                        int j = 0;
                        for (; j < nv; j++) dst[j] = src[j];
                        for (; j < 32; j++) dst[j] = 0f;
                    }
                    bp = edge;
                    ld = 32;
                }
                for (int i0 = 0; i0 < m; i0 += MR)
                    Kernel512(kc, a + (nint)i0 * k + (nint)k0 * MR, bp, ld, c + (nint)i0 * ldc + j0, ldc, Math.Min(MR, m - i0), nv, acc, bs == null ? null : bs + i0);
            }
        }
    }

    private static void Kernel512(int kc, float* a, float* b, nint ldb, float* c, int ldc, int mv, int nv, bool acc, float* bias)
    {
        Vector512<float> c00 = default, c01 = default, c10 = default, c11 = default, c20 = default, c21 = default, c30 = default, c31 = default;
        Vector512<float> c40 = default, c41 = default, c50 = default, c51 = default, c60 = default, c61 = default, c70 = default, c71 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector512.Load(b);
            var b1 = Vector512.Load(b + 16);
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
        float* tmp = stackalloc float[32];
        Store512(c, c00, c01, nv, acc, bias, 0, tmp);
        if (mv > 1) Store512(c + ldc, c10, c11, nv, acc, bias, 1, tmp);
        if (mv > 2) Store512(c + 2 * (nint)ldc, c20, c21, nv, acc, bias, 2, tmp);
        if (mv > 3) Store512(c + 3 * (nint)ldc, c30, c31, nv, acc, bias, 3, tmp);
        if (mv > 4) Store512(c + 4 * (nint)ldc, c40, c41, nv, acc, bias, 4, tmp);
        if (mv > 5) Store512(c + 5 * (nint)ldc, c50, c51, nv, acc, bias, 5, tmp);
        if (mv > 6) Store512(c + 6 * (nint)ldc, c60, c61, nv, acc, bias, 6, tmp);
        if (mv > 7) Store512(c + 7 * (nint)ldc, c70, c71, nv, acc, bias, 7, tmp);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store512(float* c, Vector512<float> v0, Vector512<float> v1, int nv, bool acc, float* bias, int row, float* tmp)
    {
        if (nv == 32)
        {
            if (acc) { v0 += Vector512.Load(c); v1 += Vector512.Load(c + 16); }
            if (bias != null) { var bv = Vector512.Create(bias[row]); v0 += bv; v1 += bv; }
            v0.Store(c);
            v1.Store(c + 16);
            return;
        }
        v0.Store(tmp);
        v1.Store(tmp + 16);
        float bv1 = bias != null ? bias[row] : 0f;
        for (int j = 0; j < nv; j++)
        {
            float v = acc ? c[j] + tmp[j] : tmp[j];
            if (bias != null) v += bv1;
            c[j] = v;
        }
    }

    // ---------------------------------------------------------------- AVX2: 8×8 microtiles

    private static void Mul256(int m, int n, int k, float* a, float* b, int ldb, float* c, int ldc, bool accumulate, float* bias)
    {
        float* edge = stackalloc float[KC * 8];
        for (int k0 = 0; k0 < k; k0 += KC)
        {
            int kc = Math.Min(KC, k - k0);
            bool acc = accumulate || k0 > 0;
            float* bs = k0 + kc == k ? bias : null;
            for (int j0 = 0; j0 < n; j0 += 8)
            {
                int nv = Math.Min(8, n - j0);
                float* bp = b + (nint)k0 * ldb + j0;
                nint ld = ldb;
                if (nv < 8)
                {
                    for (int p = 0; p < kc; p++)
                    {
                        float* src = bp + (nint)p * ldb;
                        float* dst = edge + p * 8;
                        int j = 0;
                        for (; j < nv; j++) dst[j] = src[j];
                        for (; j < 8; j++) dst[j] = 0f;
                    }
                    bp = edge;
                    ld = 8;
                }
                for (int i0 = 0; i0 < m; i0 += MR)
                    Kernel256(kc, a + (nint)i0 * k + (nint)k0 * MR, bp, ld, c + (nint)i0 * ldc + j0, ldc, Math.Min(MR, m - i0), nv, acc, bs == null ? null : bs + i0);
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Fma256(Vector256<float> a, Vector256<float> b, Vector256<float> acc) =>
        Fma.IsSupported ? Fma.MultiplyAdd(a, b, acc) : acc + a * b;

    private static void Kernel256(int kc, float* a, float* b, nint ldb, float* c, int ldc, int mv, int nv, bool acc, float* bias)
    {
        Vector256<float> c0 = default, c1 = default, c2 = default, c3 = default, c4 = default, c5 = default, c6 = default, c7 = default;
        for (int p = 0; p < kc; p++)
        {
            var b0 = Vector256.Load(b);
            c0 = Fma256(Vector256.Create(a[0]), b0, c0);
            c1 = Fma256(Vector256.Create(a[1]), b0, c1);
            c2 = Fma256(Vector256.Create(a[2]), b0, c2);
            c3 = Fma256(Vector256.Create(a[3]), b0, c3);
            c4 = Fma256(Vector256.Create(a[4]), b0, c4);
            c5 = Fma256(Vector256.Create(a[5]), b0, c5);
            c6 = Fma256(Vector256.Create(a[6]), b0, c6);
            c7 = Fma256(Vector256.Create(a[7]), b0, c7);
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
