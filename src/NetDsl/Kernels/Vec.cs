using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>Vectorized elementwise kernels the generated layers call.</summary>
public static class Vec
{
    /// <summary>dst += src.</summary>
    public static void Add(Span<float> dst, ReadOnlySpan<float> src)
    {
        if (src.Length != dst.Length) throw new ArgumentException($"Vec.Add: lengths {dst.Length} and {src.Length} differ.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= dst.Length; i += 8)
                (Vector256.Create(dst.Slice(i, 8)) + Vector256.Create(src.Slice(i, 8))).CopyTo(dst.Slice(i, 8));
        for (; i < dst.Length; i++) dst[i] += src[i];
    }

    /// <summary>Exchanges the contents of <paramref name="a"/> and <paramref name="b"/> (a network's parameters and a copy of them).</summary>
    public static void Swap(Span<float> a, Span<float> b)
    {
        if (a.Length != b.Length) throw new ArgumentException($"Vec.Swap: lengths {a.Length} and {b.Length} differ.");
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= a.Length; i += 8)
            {
                var t = Vector256.Create(a.Slice(i, 8));
                Vector256.Create(b.Slice(i, 8)).CopyTo(a.Slice(i, 8));
                t.CopyTo(b.Slice(i, 8));
            }
        for (; i < a.Length; i++) (a[i], b[i]) = (b[i], a[i]);
    }

    /// <summary>dst += value.</summary>
    public static void AddScalar(Span<float> dst, float value)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
        {
            var v = Vector256.Create(value);
            for (; i + 8 <= dst.Length; i += 8) (Vector256.Create(dst.Slice(i, 8)) + v).CopyTo(dst.Slice(i, 8));
        }
        for (; i < dst.Length; i++) dst[i] += value;
    }

    public static float Sum(ReadOnlySpan<float> x)
    {
        int i = 0;
        float s = 0;
        if (Vector256.IsHardwareAccelerated && x.Length >= 8)
        {
            // Four independent sums (one add after another in a single register waited for each add's latency: a
            // convolution's bias gradient, 784 values a channel, spent a percent of the cnn's training step here), then
            // combined in a fixed order.
            Vector256<float> a0 = Vector256<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
            for (; i + 32 <= x.Length; i += 32)
            {
                a0 += Vector256.Create(x.Slice(i, 8));
                a1 += Vector256.Create(x.Slice(i + 8, 8));
                a2 += Vector256.Create(x.Slice(i + 16, 8));
                a3 += Vector256.Create(x.Slice(i + 24, 8));
            }
            for (; i + 8 <= x.Length; i += 8) a0 += Vector256.Create(x.Slice(i, 8));
            s = Vector256.Sum((a0 + a1) + (a2 + a3));
        }
        for (; i < x.Length; i++) s += x[i];
        return s;
    }

    /// <summary>z = x ⊙ y.</summary>
    public static void Multiply(ReadOnlySpan<float> x, ReadOnlySpan<float> y, Span<float> z)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= z.Length; i += 8)
                (Vector256.Create(x.Slice(i, 8)) * Vector256.Create(y.Slice(i, 8))).CopyTo(z.Slice(i, 8));
        for (; i < z.Length; i++) z[i] = x[i] * y[i];
    }

    public static void Relu(ReadOnlySpan<float> x, Span<float> y)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= y.Length; i += 8)
                Vector256.Max(Vector256.Create(x.Slice(i, 8)), Vector256<float>.Zero).CopyTo(y.Slice(i, 8));
        for (; i < y.Length; i++) y[i] = Relu(x[i]);
    }

    /// <summary>max(x, 0) for one value, as the vector paths compute it (Vector256.Max: IEEE 754 maximum): NaN stays NaN,
    /// as in PyTorch's relu, and −0 gives +0. Every scalar ReLU (tails, fused stores) goes through it, so where a NaN
    /// lands in a vector or a tail does not change the result.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static float Relu(float x) => MathF.Max(x, 0f);

    /// <summary>dx = y &gt; 0 ? dy : 0 (relu'(0) = 0).</summary>
    public static void ReluBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= dx.Length; i += 8)
            {
                var mask = Vector256.GreaterThan(Vector256.Create(y.Slice(i, 8)), Vector256<float>.Zero);
                (Vector256.Create(dy.Slice(i, 8)) & mask).CopyTo(dx.Slice(i, 8));
            }
        for (; i < dx.Length; i++) dx[i] = y[i] > 0f ? dy[i] : 0f;
    }

    /// <summary>y = tanh(x): vectorized, within 2·10⁻⁷ of tanh (relative): one formula for every x, t = e/(e + 2) with
    /// e = expm1(2|x|), the sign of x restored (NaN stays NaN, ±∞ gives ±1).</summary>
    public static unsafe void Tanh(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Vec.Tanh: lengths {x.Length} and {y.Length} differ.");
        fixed (float* px = x, py = y)
        {
            int n = y.Length, i = 0;
            // Each width's loop in a method of its own: with both inlined here the JIT ran out of inlining budget and
            // called the 256-bit formula (and Vector256.CopyTo) as functions, once per vector.
            if (Simd.Use512) i = Tanh512(px, py, n);
            if (Vector256.IsHardwareAccelerated)
            {
                Tanh256(px, py, i, n);
                return;
            }
            for (; i < n; i++) py[i] = MathF.Tanh(px[i]);
        }
    }

    /// <summary>tanh of the whole 16-blocks of x[0, n); returns how many elements it did.</summary>
    private static unsafe int Tanh512(float* x, float* y, int n)
    {
        int i = 0;
        for (; i + 16 <= n; i += 16) Tanh(Vector512.Load(x + i)).Store(y + i);
        return i;
    }

    /// <summary>tanh of x[i, n) in 8-blocks, the last few through one zero-padded vector: every element gets the same
    /// formula at either width (a scalar tail would give the elements past the last 16-multiple MathF.Tanh's rounding on
    /// one width only).</summary>
    private static unsafe void Tanh256(float* x, float* y, int i, int n)
    {
        for (; i + 8 <= n; i += 8) Tanh(Vector256.Load(x + i)).Store(y + i);
        if (i < n)
        {
            float* pad = stackalloc float[8];
            for (int j = 0; j < 8; j++) pad[j] = i + j < n ? x[i + j] : 0f; // read before writing: y may be x
            Tanh(Vector256.Load(pad)).Store(pad);
            for (int j = 0; i + j < n; j++) y[i + j] = pad[j];
        }
    }

    // One formula, no branch on the input's range: an odd polynomial below |x| = 0.625 and 1 − 2/(e^{2|x|} + 1) above
    // computed both where a vector held both kinds (most of a convolution's outputs), and tanh took 9 % of LeNet-5's
    // training step. e/(e + 2) with e = expm1(2|x|) is accurate near 0 too (no 1 − something cancellation), because
    // expm1 comes from the exponential's own polynomial for e^r − 1 before the 1 is added.
    // Inlined: a Vector512 argument or result of a call travels through the stack, whose 64-byte alignment varies per
    // process (ASLR); misaligned, that round trip made LeNet-5's batch-1 forward 33 % slower in some processes.
    // Polynomial steps as fused multiply-adds (one rounding each), the same operations at both widths, so the same bits.
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> Tanh(Vector512<float> x)
    {
        var ax = Vector512.Abs(x);
        var e = ExpM1NonNegative(ax + ax);
        var t = e / (e + Vector512.Create(2f));
        return (t.AsUInt32() | (x.AsUInt32() & Vector512.Create(0x80000000u))).AsSingle();
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> Tanh(Vector256<float> x)
    {
        var ax = Vector256.Abs(x);
        var e = ExpM1NonNegative(ax + ax);
        var t = e / (e + Vector256.Create(2f));
        return (t.AsUInt32() | (x.AsUInt32() & Vector256.Create(0x80000000u))).AsSingle();
    }

    /// <summary>e^x − 1 for x ≥ 0 (NaN stays NaN), within about 1 ulp: x = n·ln 2 + r with |r| ≤ ln2/2 (Cody–Waite split of
    /// ln 2), Cephes' degree-6 polynomial for e^r − 1, then 2^n·(e^r − 1) + (2^n − 1) in one fused step (exact for n = 0).
    /// x is clamped to 88 (e^88 is finite; tanh only needs to know that it is large). Vector512.Exp computes in double
    /// precision, several times slower.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector512<float> ExpM1NonNegative(Vector512<float> x)
    {
        x = Vector512.Min(x, Vector512.Create(88f)); // Min keeps a NaN in x (the second operand's is not taken)
        var n = Vector512.Round(x * Vector512.Create(1.44269504088896341f));
        var r = Vector512.FusedMultiplyAdd(n, Vector512.Create(-0.693359375f), x);
        r = Vector512.FusedMultiplyAdd(n, Vector512.Create(2.12194440e-4f), r);
        // The degree-5 polynomial by Estrin's scheme (three levels of FMAs instead of Horner's five in a row).
        var r2 = r * r;
        var q0 = Vector512.FusedMultiplyAdd(Vector512.Create(1.6666665459E-1f), r, Vector512.Create(5.0000001201E-1f));
        var q1 = Vector512.FusedMultiplyAdd(Vector512.Create(8.3334519073E-3f), r, Vector512.Create(4.1665795894E-2f));
        var q2 = Vector512.FusedMultiplyAdd(Vector512.Create(1.9875691500E-4f), r, Vector512.Create(1.3981999507E-3f));
        var p = Vector512.FusedMultiplyAdd(Vector512.FusedMultiplyAdd(q2, r2, q1), r2, q0);
        p = Vector512.FusedMultiplyAdd(p, r2, r); // e^r − 1
        // n is a whole number in [0, 127] (or NaN, whose scale does not matter): the plain truncating conversion is exact
        // and cheaper than ConvertToInt32's saturating one.
        var scale = ((Avx512F.ConvertToVector512Int32WithTruncation(n) + Vector512.Create(127)) << 23).AsSingle();
        return Vector512.FusedMultiplyAdd(scale, p, scale - Vector512<float>.One);
    }

    /// <summary>The 256-bit twin of <see cref="ExpM1NonNegative(Vector512{float})"/>: the same operations, so the same result per element.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static Vector256<float> ExpM1NonNegative(Vector256<float> x)
    {
        x = Vector256.Min(x, Vector256.Create(88f));
        var n = Vector256.Round(x * Vector256.Create(1.44269504088896341f));
        var r = Vector256.FusedMultiplyAdd(n, Vector256.Create(-0.693359375f), x);
        r = Vector256.FusedMultiplyAdd(n, Vector256.Create(2.12194440e-4f), r);
        var r2 = r * r;
        var q0 = Vector256.FusedMultiplyAdd(Vector256.Create(1.6666665459E-1f), r, Vector256.Create(5.0000001201E-1f));
        var q1 = Vector256.FusedMultiplyAdd(Vector256.Create(8.3334519073E-3f), r, Vector256.Create(4.1665795894E-2f));
        var q2 = Vector256.FusedMultiplyAdd(Vector256.Create(1.9875691500E-4f), r, Vector256.Create(1.3981999507E-3f));
        var p = Vector256.FusedMultiplyAdd(Vector256.FusedMultiplyAdd(q2, r2, q1), r2, q0);
        p = Vector256.FusedMultiplyAdd(p, r2, r);
        var ni = Avx.IsSupported ? Avx.ConvertToVector256Int32WithTruncation(n) : Vector256.ConvertToInt32(n);
        var scale = ((ni + Vector256.Create(127)) << 23).AsSingle();
        return Vector256.FusedMultiplyAdd(scale, p, scale - Vector256<float>.One);
    }

    /// <summary>dx = dy·(1 − y²).</summary>
    public static void TanhBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= dx.Length; i += 8)
            {
                var yv = Vector256.Create(y.Slice(i, 8));
                (Vector256.Create(dy.Slice(i, 8)) * (Vector256<float>.One - yv * yv)).CopyTo(dx.Slice(i, 8));
            }
        for (; i < dx.Length; i++) dx[i] = dy[i] * (1f - y[i] * y[i]);
    }

    /// <summary>y = 1/(1 + e^{−x}), vectorized (e^{−x} overflowing to ∞ gives 0, as it should).</summary>
    public static void Sigmoid(ReadOnlySpan<float> x, Span<float> y)
    {
        if (x.Length != y.Length) throw new ArgumentException($"Vec.Sigmoid: lengths {x.Length} and {y.Length} differ.");
        int i = 0;
        if (Simd.Use512)
            for (; i + 16 <= y.Length; i += 16)
                (Vector512<float>.One / (Vector512<float>.One + Vector512.Exp(-Vector512.Create(x.Slice(i, 16))))).CopyTo(y.Slice(i, 16));
        // Not "else": after the 512-bit blocks the 256-bit loop takes the next 8, as it would at 256 bits, so only the
        // last (length mod 8) elements take the scalar formula at either width.
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= y.Length; i += 8)
                (Vector256<float>.One / (Vector256<float>.One + Vector256.Exp(-Vector256.Create(x.Slice(i, 8))))).CopyTo(y.Slice(i, 8));
        for (; i < y.Length; i++)
        {
            float v = x[i];
            // Branch on the sign so exp never overflows into a NaN.
            if (v >= 0f) y[i] = 1f / (1f + MathF.Exp(-v));
            else { float e = MathF.Exp(v); y[i] = e / (1f + e); }
        }
    }

    /// <summary>dx = dy·y·(1 − y).</summary>
    public static void SigmoidBackward(ReadOnlySpan<float> y, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int i = 0;
        if (Vector256.IsHardwareAccelerated)
            for (; i + 8 <= dx.Length; i += 8)
            {
                var yv = Vector256.Create(y.Slice(i, 8));
                (Vector256.Create(dy.Slice(i, 8)) * yv * (Vector256<float>.One - yv)).CopyTo(dx.Slice(i, 8));
            }
        for (; i < dx.Length; i++) dx[i] = dy[i] * y[i] * (1f - y[i]);
    }

    /// <summary>mask[i] = 0 with probability p, else scale; element i's draw is Rng.Uniform(key, first + i).</summary>
    public static void DropoutMask(ulong key, ulong first, float p, float scale, Span<float> mask)
    {
        for (int i = 0; i < mask.Length; i++) mask[i] = Rng.Uniform(key, first + (ulong)i) < p ? 0f : scale;
    }
}
