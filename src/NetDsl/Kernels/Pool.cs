using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>2×2, stride-2, unpadded pooling over whole planes (the common case), vectorized; <see cref="Pooling"/> sends
/// that case here. Semantics as its general loops: max keeps the first maximum in row-major window order (strict &gt;) and lets NaN through;
/// average sums in row-major order and divides by 4.</summary>
public static unsafe class Pool
{
    /// <summary>Max-pools <paramref name="planes"/> planes of h×w into ⌊h/2⌋×⌊w/2⌋; argmax gets each winner's index within
    /// its plane, unless it is empty (inference: the values alone, the same bits).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Max2x2(int planes, int h, int w, ReadOnlySpan<float> x, Span<float> y, Span<int> argmax)
    {
        int oh = h / 2, ow = w / 2;
        if (x.Length < planes * h * w || y.Length < planes * oh * ow || (!argmax.IsEmpty && argmax.Length < planes * oh * ow))
            throw new ArgumentException("Pool.Max2x2: a buffer is too small.");
        if (argmax.IsEmpty)
        {
            fixed (float* px = x, py = y)
                for (int plane = 0; plane < planes; plane++)
                    for (int r = 0; r < oh; r++)
                    {
                        float* r0 = px + (nint)plane * h * w + (nint)2 * r * w;
                        MaxRowValues(r0, r0 + w, py + (nint)plane * oh * ow + (nint)r * ow, ow);
                    }
            return;
        }
        fixed (float* px = x, py = y)
        fixed (int* pa = argmax)
        {
            for (int plane = 0; plane < planes; plane++)
            {
                float* xp = px + (nint)plane * h * w;
                float* yp = py + (nint)plane * oh * ow;
                int* ap = pa + (nint)plane * oh * ow;
                for (int r = 0; r < oh; r++)
                {
                    float* r0 = xp + (nint)2 * r * w, r1 = r0 + w;
                    float* yr = yp + (nint)r * ow;
                    int* ar = ap + (nint)r * ow;
                    MaxRow(r0, r1, yr, ar, 2 * r * w, w, ow);
                }
            }
        }
    }

    /// <summary>One output row of <see cref="Max2x2"/>. Vector chunks cover the row, the last one overlapping the one
    /// before when ow is not a multiple of the width: recomputing an output is harmless, and branchy scalar tails
    /// (data-dependent compares mispredict) cost more than the whole vector row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxRow(float* r0, float* r1, float* yr, int* ar, int rowBase, int w, int ow)
    {
        if (Avx2.IsSupported && ow >= 8)
        {
            for (int j = 0; ; j += 8)
            {
                if (j + 8 > ow) j = ow - 8;
                Deinterleave(r0 + 2 * j, out Vector256<float> a, out Vector256<float> b);
                Deinterleave(r1 + 2 * j, out Vector256<float> c, out Vector256<float> d);
                var lane = Vector256.Create(rowBase + 2 * j) + Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
                MaxOf4(a, b, c, d, lane, w).Store(yr + j, ar + j);
                if (j + 8 >= ow) return;
            }
        }
        if (Sse2.IsSupported && ow >= 4)
        {
            for (int j = 0; ; j += 4)
            {
                if (j + 4 > ow) j = ow - 4;
                Deinterleave(r0 + 2 * j, out Vector128<float> a, out Vector128<float> b);
                Deinterleave(r1 + 2 * j, out Vector128<float> c, out Vector128<float> d);
                var lane = Vector128.Create(rowBase + 2 * j) + Vector128.Create(0, 2, 4, 6);
                MaxOf4(a, b, c, d, lane, w).Store(yr + j, ar + j);
                if (j + 4 >= ow) return;
            }
        }
        for (int j = 0; j < ow; j++)
        {
            int i0 = 2 * j;
            yr[j] = MaxOf4(r0[i0], r0[i0 + 1], r1[i0], r1[i0 + 1], rowBase + i0, w, out ar[j]);
        }
    }

    /// <summary><see cref="MaxRow"/> without the winners' indices: the same comparisons, so the same values (−0 and 0,
    /// NaN) as with them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void MaxRowValues(float* r0, float* r1, float* yr, int ow)
    {
        if (Avx2.IsSupported && ow >= 8)
        {
            for (int j = 0; ; j += 8)
            {
                if (j + 8 > ow) j = ow - 8;
                Deinterleave(r0 + 2 * j, out Vector256<float> a, out Vector256<float> b);
                Deinterleave(r1 + 2 * j, out Vector256<float> c, out Vector256<float> d);
                MaxOf4(a, b, c, d).Store(yr + j);
                if (j + 8 >= ow) return;
            }
        }
        if (Sse2.IsSupported && ow >= 4)
        {
            for (int j = 0; ; j += 4)
            {
                if (j + 4 > ow) j = ow - 4;
                Deinterleave(r0 + 2 * j, out Vector128<float> a, out Vector128<float> b);
                Deinterleave(r1 + 2 * j, out Vector128<float> c, out Vector128<float> d);
                var best = Vector128.ConditionalSelect(Vector128.GreaterThan(b, a) | ~Vector128.Equals(b, b), b, a);
                best = Vector128.ConditionalSelect(Vector128.GreaterThan(c, best) | ~Vector128.Equals(c, c), c, best);
                best = Vector128.ConditionalSelect(Vector128.GreaterThan(d, best) | ~Vector128.Equals(d, d), d, best);
                best.Store(yr + j);
                if (j + 4 >= ow) return;
            }
        }
        for (int j = 0; j < ow; j++)
        {
            int i0 = 2 * j;
            yr[j] = MaxOf4(r0[i0], r0[i0 + 1], r1[i0], r1[i0 + 1], 0, 0, out _);
        }
    }

    // The window's choice, one formula at every width (the pools here, and the convolutions that pool as they compute:
    // Winograd's output transform, DirectConv's pairs of rows), so all give the same bits and the same winners.

    /// <summary>Window maximum of (a, b, c, d) = (top-left, top-right, bottom-left, bottom-right): the first maximum in
    /// that order wins (strict &gt;), a NaN wins over numbers; <paramref name="winner"/> its index, a's being
    /// <paramref name="at"/> in a plane <paramref name="w"/> wide.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static float MaxOf4(float a, float b, float c, float d, int at, int w, out int winner)
    {
        float best = a;
        winner = at;
        if (b > best || float.IsNaN(b)) { best = b; winner = at + 1; }
        if (c > best || float.IsNaN(c)) { best = c; winner = at + w; }
        if (d > best || float.IsNaN(d)) { best = d; winner = at + w + 1; }
        return best;
    }

    /// <summary>The 8-lane <see cref="MaxOf4(float, float, float, float, int, int, out int)"/> without the winners.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static Vector256<float> MaxOf4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d)
    {
        var best = Vector256.ConditionalSelect(Vector256.GreaterThan(b, a) | ~Vector256.Equals(b, b), b, a);
        best = Vector256.ConditionalSelect(Vector256.GreaterThan(c, best) | ~Vector256.Equals(c, c), c, best);
        return Vector256.ConditionalSelect(Vector256.GreaterThan(d, best) | ~Vector256.Equals(d, d), d, best);
    }

    /// <summary>The 16-lane <see cref="MaxOf4(float, float, float, float, int, int, out int)"/>; lane is the top-left index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector512<float> Value, Vector512<int> Index) MaxOf4(Vector512<float> a, Vector512<float> b, Vector512<float> c, Vector512<float> d, Vector512<int> lane, int w)
    {
        var best = a;
        var idx = lane;
        var m = Vector512.GreaterThan(b, best) | ~Vector512.Equals(b, b);
        best = Vector512.ConditionalSelect(m, b, best); idx = Vector512.ConditionalSelect(m.AsInt32(), lane + Vector512<int>.One, idx);
        m = Vector512.GreaterThan(c, best) | ~Vector512.Equals(c, c);
        best = Vector512.ConditionalSelect(m, c, best); idx = Vector512.ConditionalSelect(m.AsInt32(), lane + Vector512.Create(w), idx);
        m = Vector512.GreaterThan(d, best) | ~Vector512.Equals(d, d);
        best = Vector512.ConditionalSelect(m, d, best); idx = Vector512.ConditionalSelect(m.AsInt32(), lane + Vector512.Create(w + 1), idx);
        return (best, idx);
    }

    /// <summary>The 8-lane <see cref="MaxOf4(float, float, float, float, int, int, out int)"/>; lane is the top-left index.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static (Vector256<float> Value, Vector256<int> Index) MaxOf4(Vector256<float> a, Vector256<float> b, Vector256<float> c, Vector256<float> d, Vector256<int> lane, int w)
    {
        var best = a;
        var idx = lane;
        var m = Vector256.GreaterThan(b, best) | ~Vector256.Equals(b, b);
        best = Vector256.ConditionalSelect(m, b, best); idx = Vector256.ConditionalSelect(m.AsInt32(), lane + Vector256.Create(1), idx);
        m = Vector256.GreaterThan(c, best) | ~Vector256.Equals(c, c);
        best = Vector256.ConditionalSelect(m, c, best); idx = Vector256.ConditionalSelect(m.AsInt32(), lane + Vector256.Create(w), idx);
        m = Vector256.GreaterThan(d, best) | ~Vector256.Equals(d, d);
        best = Vector256.ConditionalSelect(m, d, best); idx = Vector256.ConditionalSelect(m.AsInt32(), lane + Vector256.Create(w + 1), idx);
        return (best, idx);
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static (Vector128<float> Value, Vector128<int> Index) MaxOf4(Vector128<float> a, Vector128<float> b, Vector128<float> c, Vector128<float> d, Vector128<int> lane, int w)
    {
        var best = a;
        var idx = lane;
        var m = Vector128.GreaterThan(b, best) | ~Vector128.Equals(b, b);
        best = Vector128.ConditionalSelect(m, b, best); idx = Vector128.ConditionalSelect(m.AsInt32(), lane + Vector128.Create(1), idx);
        m = Vector128.GreaterThan(c, best) | ~Vector128.Equals(c, c);
        best = Vector128.ConditionalSelect(m, c, best); idx = Vector128.ConditionalSelect(m.AsInt32(), lane + Vector128.Create(w), idx);
        m = Vector128.GreaterThan(d, best) | ~Vector128.Equals(d, d);
        best = Vector128.ConditionalSelect(m, d, best); idx = Vector128.ConditionalSelect(m.AsInt32(), lane + Vector128.Create(w + 1), idx);
        return (best, idx);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Store(this (Vector256<float> Value, Vector256<int> Index) r, float* y, int* index)
    {
        r.Value.Store(y);
        r.Index.Store(index);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Store(this (Vector128<float> Value, Vector128<int> Index) r, float* y, int* index)
    {
        r.Value.Store(y);
        r.Index.Store(index);
    }

    /// <summary>Average-pools <paramref name="planes"/> planes of h×w into ⌊h/2⌋×⌊w/2⌋: ((a + b) + c + d) / 4.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avg2x2(int planes, int h, int w, ReadOnlySpan<float> x, Span<float> y)
    {
        int oh = h / 2, ow = w / 2;
        if (x.Length < planes * h * w || y.Length < planes * oh * ow) throw new ArgumentException("Pool.Avg2x2: a buffer is too small.");
        fixed (float* px = x, py = y)
        {
            for (int plane = 0; plane < planes; plane++)
            {
                float* xp = px + (nint)plane * h * w;
                float* yp = py + (nint)plane * oh * ow;
                for (int r = 0; r < oh; r++)
                {
                    float* r0 = xp + (nint)2 * r * w, r1 = r0 + w;
                    float* yr = yp + (nint)r * ow;
                    if (Avx2.IsSupported && ow >= 8)
                    {
                        for (int j = 0; ; j += 8) // the last chunk overlaps the one before: no scalar tail
                        {
                            if (j + 8 > ow) j = ow - 8;
                            Deinterleave(r0 + 2 * j, out Vector256<float> a, out Vector256<float> b);
                            Deinterleave(r1 + 2 * j, out Vector256<float> c, out Vector256<float> d);
                            (((a + b) + c + d) * Vector256.Create(0.25f)).Store(yr + j);
                            if (j + 8 >= ow) break;
                        }
                    }
                    else if (Sse2.IsSupported && ow >= 4)
                    {
                        for (int j = 0; ; j += 4)
                        {
                            if (j + 4 > ow) j = ow - 4;
                            Deinterleave(r0 + 2 * j, out Vector128<float> a, out Vector128<float> b);
                            Deinterleave(r1 + 2 * j, out Vector128<float> c, out Vector128<float> d);
                            (((a + b) + c + d) * Vector128.Create(0.25f)).Store(yr + j);
                            if (j + 4 >= ow) break;
                        }
                    }
                    else
                        for (int j = 0; j < ow; j++) yr[j] = (r0[2 * j] + r0[2 * j + 1] + r1[2 * j] + r1[2 * j + 1]) / 4f;
                }
            }
        }
    }

    /// <summary>dx = the 2×2 average pool's adjoint: each covered input gets dy/4, rows and columns no window reads get 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Avg2x2Backward(int planes, int h, int w, ReadOnlySpan<float> dy, Span<float> dx)
    {
        int oh = h / 2, ow = w / 2;
        if (dx.Length < planes * h * w || dy.Length < planes * oh * ow) throw new ArgumentException("Pool.Avg2x2Backward: a buffer is too small.");
        fixed (float* pg = dy, pd = dx)
        {
            for (int plane = 0; plane < planes; plane++)
            {
                float* d = pd + (nint)plane * h * w;
                float* g = pg + (nint)plane * oh * ow;
                if ((h & 1) != 0 || (w & 1) != 0) new Span<float>(d, h * w).Clear();
                for (int r = 0; r < oh; r++)
                {
                    float* d0 = d + (nint)2 * r * w, d1 = d0 + w;
                    float* gr = g + (nint)r * ow;
                    int j = 0;
                    // dy/4 and dy·¼ are the same float (a power of two), so the vector rows give the scalar loop's bits.
                    if (Avx.IsSupported && ow >= 8)
                        for (; ; j += 8) // the last chunk overlaps the one before: the same values written again
                        {
                            if (j + 8 > ow) j = ow - 8;
                            var v = Vector256.Load(gr + j) * Vector256.Create(0.25f);
                            Interleave(v, v, d0 + 2 * j);
                            Interleave(v, v, d1 + 2 * j);
                            if (j + 8 >= ow) { j = ow; break; }
                        }
                    else if (Sse.IsSupported && ow >= 4)
                        for (; ; j += 4)
                        {
                            if (j + 4 > ow) j = ow - 4;
                            var v = Vector128.Load(gr + j) * Vector128.Create(0.25f);
                            Interleave(v, v, d0 + 2 * j);
                            Interleave(v, v, d1 + 2 * j);
                            if (j + 4 >= ow) { j = ow; break; }
                        }
                    for (; j < ow; j++)
                    {
                        float v = gr[j] / 4f;
                        d0[2 * j] = v; d0[2 * j + 1] = v; d1[2 * j] = v; d1[2 * j + 1] = v;
                    }
                }
            }
        }
    }

    /// <summary>
    /// dx = the 2×2 max pool's adjoint: each window's winner (<paramref name="argmax"/>, as <see cref="Max2x2"/> left it)
    /// gets 0 + dy, the window's other inputs and rows and columns no window reads get 0. With <paramref name="gate"/>
    /// (the pool's output y), the winner gets it only where y &gt; 0: the backward pass of a ReLU before the pool, folded
    /// in (the winner's ReLU output is y itself, so relu'(winner) is y &gt; 0 and every other input's gradient is 0 anyway).
    /// The same bits as <see cref="Pooling.MaxBackward"/> followed by <see cref="Vec.ReluBackward"/>, at every width.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Max2x2Backward(int planes, int h, int w, ReadOnlySpan<float> dy, ReadOnlySpan<int> argmax, ReadOnlySpan<float> gate, Span<float> dx)
    {
        int oh = h / 2, ow = w / 2, outSize = planes * oh * ow;
        if (dx.Length < planes * h * w || dy.Length < outSize || argmax.Length < outSize || (!gate.IsEmpty && gate.Length < outSize))
            throw new ArgumentException($"Pool.Max2x2Backward: a buffer is too small for {planes} planes of {h}×{w} (dx {dx.Length}, dy {dy.Length}, argmax {argmax.Length}, gate {gate.Length}).");
        bool gated = !gate.IsEmpty;
        fixed (float* pg = dy, pd = dx, py = gate)
        fixed (int* pa = argmax)
        {
            for (int plane = 0; plane < planes; plane++)
            {
                float* d = pd + (nint)plane * h * w;
                float* g = pg + (nint)plane * oh * ow;
                float* y = py + (nint)plane * oh * ow;
                int* a = pa + (nint)plane * oh * ow;
                if ((h & 1) != 0 || (w & 1) != 0) new Span<float>(d, h * w).Clear();
                for (int r = 0; r < oh; r++)
                {
                    float* d0 = d + (nint)2 * r * w, d1 = d0 + w;
                    float* gr = g + (nint)r * ow, yr = y + (nint)r * ow;
                    int* ar = a + (nint)r * ow;
                    int rowBase = 2 * r * w, j = 0;
                    if (Avx2.IsSupported && ow >= 8)
                        for (; ; j += 8) // the last chunk overlaps the one before: the same values written again
                        {
                            if (j + 8 > ow) j = ow - 8;
                            var v = Vector256.Load(gr + j) + Vector256<float>.Zero; // 0 + dy, as a scatter into zeros gives (−0 → 0)
                            if (gated) v &= Vector256.GreaterThan(Vector256.Load(yr + j), Vector256<float>.Zero);
                            // The winner's place in its window: 0, 1 (top row), w, w + 1 (bottom row).
                            var at = Vector256.Load(ar + j) - Vector256.Create(rowBase + 2 * j) - Vector256.Create(0, 2, 4, 6, 8, 10, 12, 14);
                            Interleave(v & Vector256.Equals(at, Vector256<int>.Zero).AsSingle(), v & Vector256.Equals(at, Vector256.Create(1)).AsSingle(), d0 + 2 * j);
                            Interleave(v & Vector256.Equals(at, Vector256.Create(w)).AsSingle(), v & Vector256.Equals(at, Vector256.Create(w + 1)).AsSingle(), d1 + 2 * j);
                            if (j + 8 >= ow) { j = ow; break; }
                        }
                    else if (Sse2.IsSupported && ow >= 4)
                        for (; ; j += 4)
                        {
                            if (j + 4 > ow) j = ow - 4;
                            var v = Vector128.Load(gr + j) + Vector128<float>.Zero;
                            if (gated) v &= Vector128.GreaterThan(Vector128.Load(yr + j), Vector128<float>.Zero);
                            var at = Vector128.Load(ar + j) - Vector128.Create(rowBase + 2 * j) - Vector128.Create(0, 2, 4, 6);
                            Interleave(v & Vector128.Equals(at, Vector128<int>.Zero).AsSingle(), v & Vector128.Equals(at, Vector128.Create(1)).AsSingle(), d0 + 2 * j);
                            Interleave(v & Vector128.Equals(at, Vector128.Create(w)).AsSingle(), v & Vector128.Equals(at, Vector128.Create(w + 1)).AsSingle(), d1 + 2 * j);
                            if (j + 4 >= ow) { j = ow; break; }
                        }
                    for (; j < ow; j++)
                    {
                        float v = gated && !(yr[j] > 0f) ? 0f : 0f + gr[j];
                        int at = ar[j] - rowBase - 2 * j; // an index outside the window (never written by Max2x2) selects nothing
                        d0[2 * j] = at == 0 ? v : 0f; d0[2 * j + 1] = at == 1 ? v : 0f;
                        d1[2 * j] = at == w ? v : 0f; d1[2 * j + 1] = at == w + 1 ? v : 0f;
                    }
                }
            }
        }
    }

    /// <summary>Writes e0, o0, e1, o1, … (16 floats) at p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(Vector256<float> even, Vector256<float> odd, float* p)
    {
        var lo = Avx.UnpackLow(even, odd);   // e0 o0 e1 o1 | e4 o4 e5 o5
        var hi = Avx.UnpackHigh(even, odd);  // e2 o2 e3 o3 | e6 o6 e7 o7
        Avx.Store(p, Avx.Permute2x128(lo, hi, 0x20));
        Avx.Store(p + 8, Avx.Permute2x128(lo, hi, 0x31));
    }

    /// <summary>Writes e0, o0, e1, o1, … (8 floats) at p.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Interleave(Vector128<float> even, Vector128<float> odd, float* p)
    {
        Sse.Store(p, Sse.UnpackLow(even, odd));
        Sse.Store(p + 4, Sse.UnpackHigh(even, odd));
    }

    /// <summary>Splits 8 floats at p into the even-indexed (a) and odd-indexed (b) ones, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(float* p, out Vector128<float> even, out Vector128<float> odd)
    {
        var lo = Sse.LoadVector128(p);
        var hi = Sse.LoadVector128(p + 4);
        even = Sse.Shuffle(lo, hi, 0x88);
        odd = Sse.Shuffle(lo, hi, 0xDD);
    }

    /// <summary>Splits 16 floats at p into the even-indexed (a) and odd-indexed (b) ones, in order.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Deinterleave(float* p, out Vector256<float> even, out Vector256<float> odd)
    {
        var lo = Avx.LoadVector256(p);
        var hi = Avx.LoadVector256(p + 8);
        even = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0x88).AsDouble(), 0xD8).AsSingle();
        odd = Avx2.Permute4x64(Avx.Shuffle(lo, hi, 0xDD).AsDouble(), 0xD8).AsSingle();
    }
}
