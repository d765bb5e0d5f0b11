using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>
/// Direct stride-1 convolution (cross-correlation, NCHW, one sample) for inputs with few channels, such as a network's
/// first layer on grey or RGB images. There im2col + GEMM has a depth of C·kH·kW = 9 or 25: every output element would
/// be loaded and stored for a handful of multiply-adds. Here four output channels × 16 columns of one output row stay in
/// eight registers for the whole sum (six channels in twelve where blocks of four would leave a short one, as with 6); the input is first copied into a zero-padded plane so every tap is a plain load.
/// Each element is bias, then + w·x in (channel, kernel row, kernel column) order, fused multiply-adds at every vector
/// width and in the scalar fallback: the same bits everywhere.
/// </summary>
[SkipLocalsInit]
public static unsafe class DirectConv
{
    /// <summary>Whether <paramref name="g"/> is a convolution this kernel computes: stride 1, no dilation.</summary>
    public static bool Supports(in ConvGeometry g) => g.StrideH == 1 && g.StrideW == 1 && g.Dilation == 1;

    private static int PaddedWidth(in ConvGeometry g) => (g.OutW + 15) / 16 * 16 + g.KernelW - 1;
    private static int PaddedHeight(in ConvGeometry g) => g.OutH + g.KernelH - 1;

    /// <summary>Floats of scratch <see cref="Forward"/> needs: the zero-padded input.</summary>
    public static int ScratchSize(in ConvGeometry g) => g.InC * PaddedHeight(g) * PaddedWidth(g) + 16;

    /// <summary>Whether <see cref="Forward"/> can pool (its <c>pool</c> output) for this geometry and channel count: the
    /// 512-bit path, in blocks of eight channels and 32 columns, runs for every channel.</summary>
    public static bool CanPool(in ConvGeometry g, int outC) => Fma.IsSupported && Eight(in g, outC) == outC;

    /// <summary>The channels the 512-bit path takes (whole blocks of eight), where 32-column blocks cover a row as tightly as
    /// 16-column ones; 0 without it.</summary>
    private static int Eight(in ConvGeometry g, int outC) =>
        Simd.Use512 && (g.OutW % 32 == 0 || g.OutW % 32 > 16) ? outC / 8 * 8 : 0;

    /// <summary>y [outC, OutH, OutW] = conv(x [InC, InH, InW]) (+ bias); weight [outC, InC, kH, kW]. If
    /// <paramref name="relu"/> is not empty it also receives max(y, 0): a ReLU that follows, fused into the stores; y may
    /// then be empty (only the ReLU's output is stored). Only output rows [<paramref name="row0"/>, <paramref name="row1"/>)
    /// are computed (−1: to the last): a batch of one can split them across workers, each element the same sum.
    /// <paramref name="pool"/> (where <see cref="CanPool"/>; y and relu empty, whole rows): the 2×2, stride-2 max pool of
    /// max(y, 0), [outC, ⌊OutH/2⌋, ⌊OutW/2⌋], from each pair of rows while it is in registers, the same bits as
    /// <see cref="Pool.Max2x2"/> over the ReLU's output; <paramref name="argmax"/> (if not empty) its winners as Pool.Max2x2
    /// records them.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void Forward(in ConvGeometry g, int outC, ReadOnlySpan<float> weight, ReadOnlySpan<float> bias,
        ReadOnlySpan<float> x, Span<float> y, Span<float> scratch, Span<float> relu = default, int row0 = 0, int row1 = -1,
        Span<float> pool = default, Span<int> argmax = default)
    {
        if (row1 < 0) row1 = g.OutH;
        if (row0 < 0 || row0 > row1 || row1 > g.OutH) throw new ArgumentOutOfRangeException(nameof(row0), $"DirectConv: rows [{row0}, {row1}) are not a range of [0, {g.OutH}).");
        if (!Supports(g)) throw new ArgumentException($"DirectConv: {g} is not a stride-1, undilated convolution.", nameof(g));
        int kk = g.KernelH * g.KernelW, hp = PaddedHeight(g), wp = PaddedWidth(g), plane = hp * wp;
        if (weight.Length != outC * g.InC * kk) throw new ArgumentException($"DirectConv: weight has {weight.Length} floats, expected {outC * g.InC * kk}.", nameof(weight));
        if (!bias.IsEmpty && bias.Length != outC) throw new ArgumentException($"DirectConv: bias has {bias.Length} floats, expected {outC}.", nameof(bias));
        if (x.Length < g.InC * g.InH * g.InW) throw new ArgumentException($"DirectConv: x has {x.Length} floats, expected {g.InC * g.InH * g.InW}.", nameof(x));
        if (!pool.IsEmpty || !argmax.IsEmpty)
        {
            if (!CanPool(in g, outC)) throw new InvalidOperationException($"DirectConv: pooling in registers needs the 512-bit path for all {outC} channels of {g} (see CanPool).");
            if (!y.IsEmpty || !relu.IsEmpty || row0 != 0 || row1 != g.OutH) throw new ArgumentException("DirectConv: with pool, y and relu are empty and every row is computed.", nameof(pool));
            int pooled = outC * (g.OutH / 2) * (g.OutW / 2);
            if (pool.Length < pooled) throw new ArgumentException($"DirectConv: pool has {pool.Length} floats, expected {pooled} ({outC}×{g.OutH / 2}×{g.OutW / 2}).", nameof(pool));
            if (!argmax.IsEmpty && argmax.Length < pooled) throw new ArgumentException($"DirectConv: argmax has {argmax.Length} ints, expected {pooled}.", nameof(argmax));
        }
        else if (y.IsEmpty && relu.IsEmpty) throw new ArgumentException("DirectConv: y and relu are both empty; at least one output is needed.", nameof(y));
        if (!y.IsEmpty && y.Length < outC * g.OutH * g.OutW) throw new ArgumentException($"DirectConv: y has {y.Length} floats, expected {outC * g.OutH * g.OutW}.", nameof(y));
        if (!relu.IsEmpty && relu.Length < outC * g.OutH * g.OutW) throw new ArgumentException($"DirectConv: relu has {relu.Length} floats, expected {outC * g.OutH * g.OutW}.", nameof(relu));
        if (scratch.Length < ScratchSize(g)) throw new ArgumentException($"DirectConv: scratch has {scratch.Length} floats, needs {ScratchSize(g)}.", nameof(scratch));
        var padded = scratch.Slice(0, ScratchSize(g));
        Pad(in g, x, padded, hp, wp);
        fixed (float* pp = padded, pw = weight, pb = bias, py = y, pr = relu, ppool = pool)
        fixed (int* pa = argmax)
        {
            if (!pool.IsEmpty)
            {
                Pooled512(in g, outC, g.InC * g.KernelH * g.KernelW, pw, bias.IsEmpty ? null : pb, pp, wp, plane, ppool, argmax.IsEmpty ? null : pa);
                return;
            }
            float* r = relu.IsEmpty ? null : pr;
            float* yp = y.IsEmpty ? null : py;
            float* b = bias.IsEmpty ? null : pb;
            int taps = g.InC * g.KernelH * g.KernelW;
            // At 512 bits, blocks of 8 channels × 32 columns where 32-column blocks cover a row as tightly as 16-column ones.
            int eight = Eight(in g, outC);
            if (eight > 0) Forward512(in g, eight, taps, pw, b, pp, wp, plane, yp, r, row0, row1);
            if (!Fma.IsSupported) ForwardScalar(in g, outC, pw, b, pp, wp, plane, yp, r, row0, row1);
            else if (eight < outC)
            {
                // Blocks of 4 channels; when that leaves a short block (6 channels: 4 + 2, a third of the work wasted), blocks of
                // 6 first and the rest in blocks of 4.
                int rest = outC - eight, six = rest % 4 == 0 ? 0 : rest / 6 * 6;
                if (six > 0) Forward256Six(in g, eight, eight + six, taps, pw, b, pp, wp, plane, yp, r, row0, row1);
                if (eight + six < outC) Forward256(in g, eight + six, outC, pw, b, pp, wp, plane, yp, r, row0, row1);
            }
        }
    }

    /// <summary>padded = x zero-padded into planes of <paramref name="hp"/> rows × <paramref name="wp"/> columns: the input
    /// rows and columns that fall inside (padding beyond the output's reach is never read). Also ChannelLaneConv's.</summary>
    internal static void Pad(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> padded, int hp, int wp)
    {
        padded.Clear();
        int plane = hp * wp;
        for (int c = 0; c < g.InC; c++)
            for (int ih = 0; ih < g.InH; ih++)
            {
                int row = ih + g.PadTop;
                if (row < 0) continue;
                if (row >= hp) break;
                int from = Math.Max(0, -g.PadLeft), count = Math.Min(g.InW, wp - g.PadLeft) - from;
                if (count > 0) x.Slice((c * g.InH + ih) * g.InW + from, count).CopyTo(padded.Slice(c * plane + row * wp + g.PadLeft + from));
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void ForwardScalar(in ConvGeometry g, int outC, float* w, float* bias, float* p, int wp, int plane, float* y, float* relu, int row0, int row1)
    {
        int kh = g.KernelH, kw = g.KernelW;
        for (int o = 0; o < outC; o++)
            for (int i = row0; i < row1; i++)
                for (int j = 0; j < g.OutW; j++)
                {
                    float acc = bias == null ? 0f : bias[o];
                    for (int c = 0; c < g.InC; c++)
                        for (int u = 0; u < kh; u++)
                            for (int v = 0; v < kw; v++)
                                acc = MathF.FusedMultiplyAdd(p[c * plane + (i + u) * wp + j + v], w[((o * g.InC + c) * kh + u) * kw + v], acc);
                    if (y != null) y[(o * g.OutH + i) * g.OutW + j] = acc;
                    if (relu != null) relu[(o * g.OutH + i) * g.OutW + j] = Vec.Relu(acc);
                }
    }

    /// <summary>Blocks of 4 output channels × 16 columns: eight accumulators, two input loads and four broadcasts per tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward256(in ConvGeometry g, int first, int outC, float* w, float* bias, float* p, int wp, int plane, float* y, float* relu, int row0, int row1)
    {
        int kh = g.KernelH, kw = g.KernelW, inC = g.InC, kk = kh * kw, outH = g.OutH, outW = g.OutW, taps = inC * kk;
        int ohw = outH * outW;
        for (int o0 = first; o0 < outC; o0 += 4)
        {
            // A last block of fewer than 4 channels repeats its first channel's weights in the spare lanes and stores nothing from them.
            int rows = Math.Min(4, outC - o0);
            float* w0 = w + (nint)o0 * taps, w1 = rows > 1 ? w0 + taps : w0, w2 = rows > 2 ? w0 + 2 * taps : w0, w3 = rows > 3 ? w0 + 3 * taps : w0;
            var b0 = Vector256.Create(bias == null ? 0f : bias[o0]);
            var b1 = Vector256.Create(bias == null || rows < 2 ? 0f : bias[o0 + 1]);
            var b2 = Vector256.Create(bias == null || rows < 3 ? 0f : bias[o0 + 2]);
            var b3 = Vector256.Create(bias == null || rows < 4 ? 0f : bias[o0 + 3]);
            for (int i = row0; i < row1; i++)
                for (int j0 = 0; j0 < outW; j0 += 16)
                {
                    Vector256<float> a00 = b0, a01 = b0, a10 = b1, a11 = b1, a20 = b2, a21 = b2, a30 = b3, a31 = b3;
                    int t = 0;
                    for (int c = 0; c < inC; c++)
                        for (int u = 0; u < kh; u++)
                        {
                            float* src = p + (nint)c * plane + (nint)(i + u) * wp + j0;
                            for (int v = 0; v < kw; v++, t++)
                            {
                                var x0 = Avx.LoadVector256(src + v);
                                var x1 = Avx.LoadVector256(src + v + 8);
                                var c0 = Vector256.Create(w0[t]);
                                a00 = Fma.MultiplyAdd(x0, c0, a00); a01 = Fma.MultiplyAdd(x1, c0, a01);
                                var c1 = Vector256.Create(w1[t]);
                                a10 = Fma.MultiplyAdd(x0, c1, a10); a11 = Fma.MultiplyAdd(x1, c1, a11);
                                var c2 = Vector256.Create(w2[t]);
                                a20 = Fma.MultiplyAdd(x0, c2, a20); a21 = Fma.MultiplyAdd(x1, c2, a21);
                                var c3 = Vector256.Create(w3[t]);
                                a30 = Fma.MultiplyAdd(x0, c3, a30); a31 = Fma.MultiplyAdd(x1, c3, a31);
                            }
                        }
                    nint at = (nint)o0 * ohw + (nint)i * outW + j0;
                    int n = outW - j0;
                    if (y != null)
                    {
                        Store(y + at, n, a00, a01);
                        if (rows > 1) Store(y + at + ohw, n, a10, a11);
                        if (rows > 2) Store(y + at + 2 * (nint)ohw, n, a20, a21);
                        if (rows > 3) Store(y + at + 3 * (nint)ohw, n, a30, a31);
                    }
                    if (relu == null) continue;
                    // Vector256.Max(v, 0), as Vec.Relu: the same bits as the ReLU layer would compute
                    var zero = Vector256<float>.Zero;
                    Store(relu + at, n, Vector256.Max(a00, zero), Vector256.Max(a01, zero));
                    if (rows > 1) Store(relu + at + ohw, n, Vector256.Max(a10, zero), Vector256.Max(a11, zero));
                    if (rows > 2) Store(relu + at + 2 * (nint)ohw, n, Vector256.Max(a20, zero), Vector256.Max(a21, zero));
                    if (rows > 3) Store(relu + at + 3 * (nint)ohw, n, Vector256.Max(a30, zero), Vector256.Max(a31, zero));
                }
        }
    }

    /// <summary>Output channels [<paramref name="first"/>, <paramref name="outC"/>) (a multiple of 6 of them) in blocks of 6 channels × 16 columns: twelve
    /// accumulators, two input loads and six broadcasts per tap.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward256Six(in ConvGeometry g, int first, int outC, int taps, float* w, float* bias, float* p, int wp, int plane, float* y, float* relu, int row0, int row1)
    {
        int kh = g.KernelH, kw = g.KernelW, inC = g.InC, outH = g.OutH, outW = g.OutW, ohw = outH * outW;
        for (int o0 = first; o0 < outC; o0 += 6)
        {
            float* w0 = w + (nint)o0 * taps;
            var b0 = Vector256.Create(bias == null ? 0f : bias[o0]);
            var b1 = Vector256.Create(bias == null ? 0f : bias[o0 + 1]);
            var b2 = Vector256.Create(bias == null ? 0f : bias[o0 + 2]);
            var b3 = Vector256.Create(bias == null ? 0f : bias[o0 + 3]);
            var b4 = Vector256.Create(bias == null ? 0f : bias[o0 + 4]);
            var b5 = Vector256.Create(bias == null ? 0f : bias[o0 + 5]);
            for (int i = row0; i < row1; i++)
                for (int j0 = 0; j0 < outW; j0 += 16)
                {
                    Vector256<float> a00 = b0, a01 = b0, a10 = b1, a11 = b1, a20 = b2, a21 = b2, a30 = b3, a31 = b3, a40 = b4, a41 = b4, a50 = b5, a51 = b5;
                    float* wt = w0;
                    for (int c = 0; c < inC; c++)
                        for (int u = 0; u < kh; u++)
                        {
                            float* src = p + (nint)c * plane + (nint)(i + u) * wp + j0;
                            for (int v = 0; v < kw; v++, wt++)
                            {
                                var x0 = Avx.LoadVector256(src + v);
                                var x1 = Avx.LoadVector256(src + v + 8);
                                var c0 = Vector256.Create(wt[0]);
                                a00 = Fma.MultiplyAdd(x0, c0, a00); a01 = Fma.MultiplyAdd(x1, c0, a01);
                                var c1 = Vector256.Create(wt[taps]);
                                a10 = Fma.MultiplyAdd(x0, c1, a10); a11 = Fma.MultiplyAdd(x1, c1, a11);
                                var c2 = Vector256.Create(wt[2 * taps]);
                                a20 = Fma.MultiplyAdd(x0, c2, a20); a21 = Fma.MultiplyAdd(x1, c2, a21);
                                var c3 = Vector256.Create(wt[3 * taps]);
                                a30 = Fma.MultiplyAdd(x0, c3, a30); a31 = Fma.MultiplyAdd(x1, c3, a31);
                                var c4 = Vector256.Create(wt[4 * taps]);
                                a40 = Fma.MultiplyAdd(x0, c4, a40); a41 = Fma.MultiplyAdd(x1, c4, a41);
                                var c5 = Vector256.Create(wt[5 * taps]);
                                a50 = Fma.MultiplyAdd(x0, c5, a50); a51 = Fma.MultiplyAdd(x1, c5, a51);
                            }
                        }
                    nint at = (nint)o0 * ohw + (nint)i * outW + j0;
                    int n = outW - j0;
                    if (y != null)
                    {
                        Store(y + at, n, a00, a01);
                        Store(y + at + ohw, n, a10, a11);
                        Store(y + at + 2 * (nint)ohw, n, a20, a21);
                        Store(y + at + 3 * (nint)ohw, n, a30, a31);
                        Store(y + at + 4 * (nint)ohw, n, a40, a41);
                        Store(y + at + 5 * (nint)ohw, n, a50, a51);
                    }
                    if (relu == null) continue;
                    var zero = Vector256<float>.Zero;
                    Store(relu + at, n, Vector256.Max(a00, zero), Vector256.Max(a01, zero));
                    Store(relu + at + ohw, n, Vector256.Max(a10, zero), Vector256.Max(a11, zero));
                    Store(relu + at + 2 * (nint)ohw, n, Vector256.Max(a20, zero), Vector256.Max(a21, zero));
                    Store(relu + at + 3 * (nint)ohw, n, Vector256.Max(a30, zero), Vector256.Max(a31, zero));
                    Store(relu + at + 4 * (nint)ohw, n, Vector256.Max(a40, zero), Vector256.Max(a41, zero));
                    Store(relu + at + 5 * (nint)ohw, n, Vector256.Max(a50, zero), Vector256.Max(a51, zero));
                }
        }
    }

    /// <summary>Output channels [0, <paramref name="outC"/>) (a multiple of 8) in blocks of 8 channels × 32 columns: sixteen
    /// accumulators, two input loads and eight broadcasts per tap, half the loads and stores per multiply-add of the
    /// 256-bit blocks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Forward512(in ConvGeometry g, int outC, int taps, float* w, float* bias, float* p, int wp, int plane, float* y, float* relu, int row0, int row1)
    {
        int kh = g.KernelH, kw = g.KernelW, inC = g.InC, outH = g.OutH, outW = g.OutW, ohw = outH * outW;
        for (int o0 = 0; o0 < outC; o0 += 8)
        {
            float* w0 = w + (nint)o0 * taps;
            for (int i = row0; i < row1; i++)
                for (int j0 = 0; j0 < outW; j0 += 32)
                {
                    Vector512<float> a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51, a60, a61, a70, a71;
                    a00 = a01 = Vector512.Create(bias == null ? 0f : bias[o0]);
                    a10 = a11 = Vector512.Create(bias == null ? 0f : bias[o0 + 1]);
                    a20 = a21 = Vector512.Create(bias == null ? 0f : bias[o0 + 2]);
                    a30 = a31 = Vector512.Create(bias == null ? 0f : bias[o0 + 3]);
                    a40 = a41 = Vector512.Create(bias == null ? 0f : bias[o0 + 4]);
                    a50 = a51 = Vector512.Create(bias == null ? 0f : bias[o0 + 5]);
                    a60 = a61 = Vector512.Create(bias == null ? 0f : bias[o0 + 6]);
                    a70 = a71 = Vector512.Create(bias == null ? 0f : bias[o0 + 7]);
                    float* wt = w0;
                    for (int c = 0; c < inC; c++)
                        for (int u = 0; u < kh; u++)
                        {
                            float* src = p + (nint)c * plane + (nint)(i + u) * wp + j0;
                            for (int v = 0; v < kw; v++, wt++)
                            {
                                var x0 = Vector512.Load(src + v);
                                var x1 = Vector512.Load(src + v + 16);
                                var c0 = Vector512.Create(wt[0]);
                                a00 = Avx512F.FusedMultiplyAdd(x0, c0, a00); a01 = Avx512F.FusedMultiplyAdd(x1, c0, a01);
                                var c1 = Vector512.Create(wt[taps]);
                                a10 = Avx512F.FusedMultiplyAdd(x0, c1, a10); a11 = Avx512F.FusedMultiplyAdd(x1, c1, a11);
                                var c2 = Vector512.Create(wt[2 * taps]);
                                a20 = Avx512F.FusedMultiplyAdd(x0, c2, a20); a21 = Avx512F.FusedMultiplyAdd(x1, c2, a21);
                                var c3 = Vector512.Create(wt[3 * taps]);
                                a30 = Avx512F.FusedMultiplyAdd(x0, c3, a30); a31 = Avx512F.FusedMultiplyAdd(x1, c3, a31);
                                var c4 = Vector512.Create(wt[4 * taps]);
                                a40 = Avx512F.FusedMultiplyAdd(x0, c4, a40); a41 = Avx512F.FusedMultiplyAdd(x1, c4, a41);
                                var c5 = Vector512.Create(wt[5 * taps]);
                                a50 = Avx512F.FusedMultiplyAdd(x0, c5, a50); a51 = Avx512F.FusedMultiplyAdd(x1, c5, a51);
                                var c6 = Vector512.Create(wt[6 * taps]);
                                a60 = Avx512F.FusedMultiplyAdd(x0, c6, a60); a61 = Avx512F.FusedMultiplyAdd(x1, c6, a61);
                                var c7 = Vector512.Create(wt[7 * taps]);
                                a70 = Avx512F.FusedMultiplyAdd(x0, c7, a70); a71 = Avx512F.FusedMultiplyAdd(x1, c7, a71);
                            }
                        }
                    nint at = (nint)o0 * ohw + (nint)i * outW + j0;
                    int n = outW - j0;
                    if (y != null)
                    {
                        Store(y + at, n, a00, a01);
                        Store(y + at + ohw, n, a10, a11);
                        Store(y + at + 2 * (nint)ohw, n, a20, a21);
                        Store(y + at + 3 * (nint)ohw, n, a30, a31);
                        Store(y + at + 4 * (nint)ohw, n, a40, a41);
                        Store(y + at + 5 * (nint)ohw, n, a50, a51);
                        Store(y + at + 6 * (nint)ohw, n, a60, a61);
                        Store(y + at + 7 * (nint)ohw, n, a70, a71);
                    }
                    if (relu == null) continue;
                    var zero = Vector512<float>.Zero;
                    Store(relu + at, n, Vector512.Max(a00, zero), Vector512.Max(a01, zero));
                    Store(relu + at + ohw, n, Vector512.Max(a10, zero), Vector512.Max(a11, zero));
                    Store(relu + at + 2 * (nint)ohw, n, Vector512.Max(a20, zero), Vector512.Max(a21, zero));
                    Store(relu + at + 3 * (nint)ohw, n, Vector512.Max(a30, zero), Vector512.Max(a31, zero));
                    Store(relu + at + 4 * (nint)ohw, n, Vector512.Max(a40, zero), Vector512.Max(a41, zero));
                    Store(relu + at + 5 * (nint)ohw, n, Vector512.Max(a50, zero), Vector512.Max(a51, zero));
                    Store(relu + at + 6 * (nint)ohw, n, Vector512.Max(a60, zero), Vector512.Max(a61, zero));
                    Store(relu + at + 7 * (nint)ohw, n, Vector512.Max(a70, zero), Vector512.Max(a71, zero));
                }
        }
    }

    /// <summary>Floats of scratch <see cref="AddWeightGradient"/> needs: the zero-padded input and 16 partial sums per weight.</summary>
    public static int WeightGradientScratchSize(in ConvGeometry g, int outC) => ScratchSize(g) + 16 * outC * g.ColRows + 16;

    /// <summary>
    /// dWeight [outC, InC, kH, kW] += Σ over <paramref name="samples"/> samples of dy ⊛ x, the output columns in the vector
    /// lanes: for three output channels and one (input channel, kernel row) at a time, kW accumulators per channel take a
    /// row of dy times the kW shifted rows of the zero-padded input it meets, so no column matrix is written (im2col's
    /// unfold of a 1-channel 28×28 input into 25 rows cost LeNet-5's conv1 as much as the dot products that read it). Each
    /// weight's 16 lane sums are kept across the samples and added up once, lane by lane in order. AVX-512, and AVX2 with
    /// FMA in two halves of 8 lanes, give the same bits; kernels wider than 5 or no FMA: returns false (nothing written)
    /// and the caller takes im2col's path.
    /// </summary>
    /// <param name="g">The convolution's geometry.</param>
    /// <param name="outC">Output channels.</param>
    /// <param name="dy">samples × [outC, OutH, OutW].</param>
    /// <param name="x">samples × [InC, InH, InW].</param>
    /// <param name="samples">Samples in <paramref name="dy"/> and <paramref name="x"/>.</param>
    /// <param name="scratch"><see cref="WeightGradientScratchSize"/> floats: the padded input and the partial sums.</param>
    /// <param name="dWeight">[outC, InC, kH, kW], added to.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static bool AddWeightGradient(in ConvGeometry g, int outC, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int samples,
        Span<float> scratch, Span<float> dWeight)
    {
        if (!(Simd.Use512 || Fma.IsSupported) || g.KernelW > 5) return false;
        if (!Supports(g)) throw new ArgumentException($"DirectConv: {g} is not a stride-1, undilated convolution.", nameof(g));
        int taps = g.ColRows, inSize = g.InC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        if (samples < 1) throw new ArgumentOutOfRangeException(nameof(samples), samples, "DirectConv.AddWeightGradient: samples must be at least 1.");
        if (dy.Length < samples * outSize) throw new ArgumentException($"DirectConv.AddWeightGradient: dy has {dy.Length} floats, expected {samples} × {outSize}.", nameof(dy));
        if (x.Length < samples * inSize) throw new ArgumentException($"DirectConv.AddWeightGradient: x has {x.Length} floats, expected {samples} × {inSize}.", nameof(x));
        if (dWeight.Length != outC * taps) throw new ArgumentException($"DirectConv.AddWeightGradient: dWeight has {dWeight.Length} floats, expected {outC * taps}.", nameof(dWeight));
        if (scratch.Length < WeightGradientScratchSize(g, outC)) throw new ArgumentException($"DirectConv.AddWeightGradient: scratch has {scratch.Length} floats, needs {WeightGradientScratchSize(g, outC)}.", nameof(scratch));
        int hp = PaddedHeight(g), wp = PaddedWidth(g), plane = hp * wp;
        var padded = scratch.Slice(0, ScratchSize(g));
        fixed (float* ps = scratch, pdy = dy, px = x, pdw = dWeight)
        {
            // partial [o·taps + tap][16], 64-byte aligned past the padded input
            float* partial = (float*)(((nint)(ps + ScratchSize(g)) + 63) & ~(nint)63);
            new Span<float>(partial, 16 * outC * taps).Clear();
            for (int s = 0; s < samples; s++)
            {
                Pad(in g, x.Slice(s * inSize, inSize), padded, hp, wp);
                float* d = pdy + (nint)s * outSize;
                for (int o = 0; o < outC; o += 3)
                {
                    int count = Math.Min(3, outC - o);
                    if (Simd.Use512)
                        switch (g.KernelW)
                        {
                            case 1: Gradient512<W1>(in g, count, ps, wp, plane, d + (nint)o * g.OutH * g.OutW, partial + (nint)o * taps * 16); break;
                            case 2: Gradient512<W2>(in g, count, ps, wp, plane, d + (nint)o * g.OutH * g.OutW, partial + (nint)o * taps * 16); break;
                            case 3: Gradient512<W3>(in g, count, ps, wp, plane, d + (nint)o * g.OutH * g.OutW, partial + (nint)o * taps * 16); break;
                            case 4: Gradient512<W4>(in g, count, ps, wp, plane, d + (nint)o * g.OutH * g.OutW, partial + (nint)o * taps * 16); break;
                            default: Gradient512<W5>(in g, count, ps, wp, plane, d + (nint)o * g.OutH * g.OutW, partial + (nint)o * taps * 16); break;
                        }
                    else
                        for (int b = 0; b < count; b++)
                            for (int half = 0; half < 16; half += 8)
                                switch (g.KernelW)
                                {
                                    case 1: Gradient256<W1>(in g, half, ps, wp, plane, d + (nint)(o + b) * g.OutH * g.OutW, partial + (nint)(o + b) * taps * 16); break;
                                    case 2: Gradient256<W2>(in g, half, ps, wp, plane, d + (nint)(o + b) * g.OutH * g.OutW, partial + (nint)(o + b) * taps * 16); break;
                                    case 3: Gradient256<W3>(in g, half, ps, wp, plane, d + (nint)(o + b) * g.OutH * g.OutW, partial + (nint)(o + b) * taps * 16); break;
                                    case 4: Gradient256<W4>(in g, half, ps, wp, plane, d + (nint)(o + b) * g.OutH * g.OutW, partial + (nint)(o + b) * taps * 16); break;
                                    default: Gradient256<W5>(in g, half, ps, wp, plane, d + (nint)(o + b) * g.OutH * g.OutW, partial + (nint)(o + b) * taps * 16); break;
                                }
                }
            }
            // each weight: its 16 lane sums, added in lane order
            for (int w = 0; w < outC * taps; w++)
            {
                float* p = partial + (nint)w * 16;
                float sum = p[0];
                for (int l = 1; l < 16; l++) sum += p[l];
                pdw[w] += sum;
            }
        }
        return true;
    }

    /// <summary>partial [(o, tap)][16] += one sample's lane sums for <paramref name="count"/> (1–3) output channels from
    /// dy (their planes, one after the other).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gradient512<TWidth>(in ConvGeometry g, int count, float* p, int wp, int plane, float* dy, float* partial)
        where TWidth : struct, IKernelWidth
    {
        int kw = TWidth.N, kh = g.KernelH, outH = g.OutH, outW = g.OutW, ohw = outH * outW, taps = g.ColRows;
        for (int c = 0; c < g.InC; c++)
            for (int u = 0; u < kh; u++)
            {
                Vector512<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default;
                Vector512<float> b0 = default, b1 = default, b2 = default, b3 = default, b4 = default;
                Vector512<float> e0 = default, e1 = default, e2 = default, e3 = default, e4 = default;
                for (int i = 0; i < outH; i++)
                {
                    float* xr = p + (nint)c * plane + (nint)(i + u) * wp;
                    float* dr = dy + (nint)i * outW;
                    for (int j = 0; j < outW; j += 16)
                    {
                        // lanes past the row's end take dy = 0 (the input there is the next columns, not padding)
                        var mask = PackedGemm.LaneMask(outW - j);
                        Vector512<float> x0 = Vector512.Load(xr + j), x1 = default, x2 = default, x3 = default, x4 = default;
                        if (kw > 1) x1 = Vector512.Load(xr + j + 1);
                        if (kw > 2) x2 = Vector512.Load(xr + j + 2);
                        if (kw > 3) x3 = Vector512.Load(xr + j + 3);
                        if (kw > 4) x4 = Vector512.Load(xr + j + 4);
                        var d = Avx512F.MaskLoad(dr + j, mask, Vector512<float>.Zero);
                        a0 = Avx512F.FusedMultiplyAdd(d, x0, a0);
                        if (kw > 1) a1 = Avx512F.FusedMultiplyAdd(d, x1, a1);
                        if (kw > 2) a2 = Avx512F.FusedMultiplyAdd(d, x2, a2);
                        if (kw > 3) a3 = Avx512F.FusedMultiplyAdd(d, x3, a3);
                        if (kw > 4) a4 = Avx512F.FusedMultiplyAdd(d, x4, a4);
                        if (count > 1)
                        {
                            d = Avx512F.MaskLoad(dr + ohw + j, mask, Vector512<float>.Zero);
                            b0 = Avx512F.FusedMultiplyAdd(d, x0, b0);
                            if (kw > 1) b1 = Avx512F.FusedMultiplyAdd(d, x1, b1);
                            if (kw > 2) b2 = Avx512F.FusedMultiplyAdd(d, x2, b2);
                            if (kw > 3) b3 = Avx512F.FusedMultiplyAdd(d, x3, b3);
                            if (kw > 4) b4 = Avx512F.FusedMultiplyAdd(d, x4, b4);
                        }
                        if (count > 2)
                        {
                            d = Avx512F.MaskLoad(dr + 2 * ohw + j, mask, Vector512<float>.Zero);
                            e0 = Avx512F.FusedMultiplyAdd(d, x0, e0);
                            if (kw > 1) e1 = Avx512F.FusedMultiplyAdd(d, x1, e1);
                            if (kw > 2) e2 = Avx512F.FusedMultiplyAdd(d, x2, e2);
                            if (kw > 3) e3 = Avx512F.FusedMultiplyAdd(d, x3, e3);
                            if (kw > 4) e4 = Avx512F.FusedMultiplyAdd(d, x4, e4);
                        }
                    }
                }
                // tap (c, u, v) of channel b sits at partial[(b·taps + (c·kh + u)·kw + v)·16]
                float* t = partial + (nint)((c * kh + u) * kw) * 16;
                Add(t, a0); if (kw > 1) Add(t + 16, a1); if (kw > 2) Add(t + 32, a2); if (kw > 3) Add(t + 48, a3); if (kw > 4) Add(t + 64, a4);
                if (count > 1)
                {
                    t += (nint)taps * 16;
                    Add(t, b0); if (kw > 1) Add(t + 16, b1); if (kw > 2) Add(t + 32, b2); if (kw > 3) Add(t + 48, b3); if (kw > 4) Add(t + 64, b4);
                }
                if (count > 2)
                {
                    t += (nint)taps * 16;
                    Add(t, e0); if (kw > 1) Add(t + 16, e1); if (kw > 2) Add(t + 32, e2); if (kw > 3) Add(t + 48, e3); if (kw > 4) Add(t + 64, e4);
                }
            }

        static void Add(float* t, Vector512<float> a) => (Vector512.Load(t) + a).Store(t);
    }

    /// <summary><see cref="Gradient512{TWidth}"/> for one output channel and one half (lanes <paramref name="half"/> …
    /// half + 7 of each 16-column chunk): every lane the same fused multiply-adds in the same order, so the same bits.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Gradient256<TWidth>(in ConvGeometry g, int half, float* p, int wp, int plane, float* dy, float* partial)
        where TWidth : struct, IKernelWidth
    {
        int kw = TWidth.N, kh = g.KernelH, outH = g.OutH, outW = g.OutW;
        for (int c = 0; c < g.InC; c++)
            for (int u = 0; u < kh; u++)
            {
                Vector256<float> a0 = default, a1 = default, a2 = default, a3 = default, a4 = default;
                for (int i = 0; i < outH; i++)
                {
                    float* xr = p + (nint)c * plane + (nint)(i + u) * wp + half;
                    float* dr = dy + (nint)i * outW + half;
                    for (int j = 0; j + half < outW; j += 16)
                    {
                        var mask = PackedGemm.LaneRange256(j + half, 0, outW);
                        var d = Avx.MaskLoad(dr + j, mask);
                        a0 = Fma.MultiplyAdd(d, Vector256.Load(xr + j), a0);
                        if (kw > 1) a1 = Fma.MultiplyAdd(d, Vector256.Load(xr + j + 1), a1);
                        if (kw > 2) a2 = Fma.MultiplyAdd(d, Vector256.Load(xr + j + 2), a2);
                        if (kw > 3) a3 = Fma.MultiplyAdd(d, Vector256.Load(xr + j + 3), a3);
                        if (kw > 4) a4 = Fma.MultiplyAdd(d, Vector256.Load(xr + j + 4), a4);
                    }
                }
                float* t = partial + (nint)((c * kh + u) * kw) * 16 + half;
                Add(t, a0); if (kw > 1) Add(t + 16, a1); if (kw > 2) Add(t + 32, a2); if (kw > 3) Add(t + 48, a3); if (kw > 4) Add(t + 64, a4);
            }

        static void Add(float* t, Vector256<float> a) => (Vector256.Load(t) + a).Store(t);
    }

    /// <summary><see cref="Forward512"/> for pairs of rows, then the 2×2 max pool of their ReLU: the top row's ReLU goes to a
    /// small block on the stack (eight channels × 32 columns), the bottom row's stays in registers, and each window's four
    /// values are the even and odd columns of both (vpermt2ps). The multiply-adds are Forward512's, in the same order, and
    /// the ReLU and comparisons Pool.Max2x2's, so the same bits as storing the ReLU and pooling it. Its own method, though
    /// its loop repeats Forward512's: with the pool folded into Forward512 the plain convolution ran 6 % slower (the cnn's
    /// conv1 alone at batch 1, four interleaved pairs: 5.91–6.17 against 6.27–6.49 µs), the JIT allocating the loop's
    /// registers around the pool's state.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void Pooled512(in ConvGeometry g, int outC, int taps, float* w, float* bias, float* p, int wp, int plane, float* pool, int* argmax)
    {
        int kh = g.KernelH, kw = g.KernelW, inC = g.InC, outW = g.OutW, ph = g.OutH / 2, pw = outW / 2, pplane = ph * pw;
        float* top = stackalloc float[8 * 32 + 16];
        top = (float*)(((nint)top + 63) & ~(nint)63);
        var even = Vector512.Create(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
        var odd = even + Vector512<int>.One;
        var zero = Vector512<float>.Zero;
        for (int o0 = 0; o0 < outC; o0 += 8)
        {
            float* w0 = w + (nint)o0 * taps;
            for (int pi = 0; pi < ph; pi++)
                for (int j0 = 0; j0 < outW; j0 += 32)
                    for (int half = 0; half < 2; half++)
                    {
                        int i = 2 * pi + half;
                        Vector512<float> a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51, a60, a61, a70, a71;
                        a00 = a01 = Vector512.Create(bias == null ? 0f : bias[o0]);
                        a10 = a11 = Vector512.Create(bias == null ? 0f : bias[o0 + 1]);
                        a20 = a21 = Vector512.Create(bias == null ? 0f : bias[o0 + 2]);
                        a30 = a31 = Vector512.Create(bias == null ? 0f : bias[o0 + 3]);
                        a40 = a41 = Vector512.Create(bias == null ? 0f : bias[o0 + 4]);
                        a50 = a51 = Vector512.Create(bias == null ? 0f : bias[o0 + 5]);
                        a60 = a61 = Vector512.Create(bias == null ? 0f : bias[o0 + 6]);
                        a70 = a71 = Vector512.Create(bias == null ? 0f : bias[o0 + 7]);
                        float* wt = w0;
                        for (int c = 0; c < inC; c++)
                            for (int u = 0; u < kh; u++)
                            {
                                float* src = p + (nint)c * plane + (nint)(i + u) * wp + j0;
                                for (int v = 0; v < kw; v++, wt++)
                                {
                                    var x0 = Vector512.Load(src + v);
                                    var x1 = Vector512.Load(src + v + 16);
                                    var c0 = Vector512.Create(wt[0]);
                                    a00 = Avx512F.FusedMultiplyAdd(x0, c0, a00); a01 = Avx512F.FusedMultiplyAdd(x1, c0, a01);
                                    var c1 = Vector512.Create(wt[taps]);
                                    a10 = Avx512F.FusedMultiplyAdd(x0, c1, a10); a11 = Avx512F.FusedMultiplyAdd(x1, c1, a11);
                                    var c2 = Vector512.Create(wt[2 * taps]);
                                    a20 = Avx512F.FusedMultiplyAdd(x0, c2, a20); a21 = Avx512F.FusedMultiplyAdd(x1, c2, a21);
                                    var c3 = Vector512.Create(wt[3 * taps]);
                                    a30 = Avx512F.FusedMultiplyAdd(x0, c3, a30); a31 = Avx512F.FusedMultiplyAdd(x1, c3, a31);
                                    var c4 = Vector512.Create(wt[4 * taps]);
                                    a40 = Avx512F.FusedMultiplyAdd(x0, c4, a40); a41 = Avx512F.FusedMultiplyAdd(x1, c4, a41);
                                    var c5 = Vector512.Create(wt[5 * taps]);
                                    a50 = Avx512F.FusedMultiplyAdd(x0, c5, a50); a51 = Avx512F.FusedMultiplyAdd(x1, c5, a51);
                                    var c6 = Vector512.Create(wt[6 * taps]);
                                    a60 = Avx512F.FusedMultiplyAdd(x0, c6, a60); a61 = Avx512F.FusedMultiplyAdd(x1, c6, a61);
                                    var c7 = Vector512.Create(wt[7 * taps]);
                                    a70 = Avx512F.FusedMultiplyAdd(x0, c7, a70); a71 = Avx512F.FusedMultiplyAdd(x1, c7, a71);
                                }
                            }
                        if (half == 0)
                        {
                            // the top row's ReLU, as Forward512 stores it, kept for the bottom row
                            Vector512.Max(a00, zero).Store(top); Vector512.Max(a01, zero).Store(top + 16);
                            Vector512.Max(a10, zero).Store(top + 32); Vector512.Max(a11, zero).Store(top + 48);
                            Vector512.Max(a20, zero).Store(top + 64); Vector512.Max(a21, zero).Store(top + 80);
                            Vector512.Max(a30, zero).Store(top + 96); Vector512.Max(a31, zero).Store(top + 112);
                            Vector512.Max(a40, zero).Store(top + 128); Vector512.Max(a41, zero).Store(top + 144);
                            Vector512.Max(a50, zero).Store(top + 160); Vector512.Max(a51, zero).Store(top + 176);
                            Vector512.Max(a60, zero).Store(top + 192); Vector512.Max(a61, zero).Store(top + 208);
                            Vector512.Max(a70, zero).Store(top + 224); Vector512.Max(a71, zero).Store(top + 240);
                            continue;
                        }
                        nint at = (nint)o0 * pplane + (nint)pi * pw + j0 / 2;
                        int n = Math.Min(16, pw - j0 / 2);
                        // window (pi, j0/2 + l) starts at row 2pi, column j0 + 2l of the ReLU's plane
                        var first = Vector512.Create(2 * pi * outW + j0) + even;
                        PoolRow(top, a00, a01, even, odd, first, outW, pool + at, argmax == null ? null : argmax + at, n);
                        PoolRow(top + 32, a10, a11, even, odd, first, outW, pool + at + pplane, argmax == null ? null : argmax + at + pplane, n);
                        PoolRow(top + 64, a20, a21, even, odd, first, outW, pool + at + 2 * pplane, argmax == null ? null : argmax + at + 2 * pplane, n);
                        PoolRow(top + 96, a30, a31, even, odd, first, outW, pool + at + 3 * pplane, argmax == null ? null : argmax + at + 3 * pplane, n);
                        PoolRow(top + 128, a40, a41, even, odd, first, outW, pool + at + 4 * pplane, argmax == null ? null : argmax + at + 4 * pplane, n);
                        PoolRow(top + 160, a50, a51, even, odd, first, outW, pool + at + 5 * pplane, argmax == null ? null : argmax + at + 5 * pplane, n);
                        PoolRow(top + 192, a60, a61, even, odd, first, outW, pool + at + 6 * pplane, argmax == null ? null : argmax + at + 6 * pplane, n);
                        PoolRow(top + 224, a70, a71, even, odd, first, outW, pool + at + 7 * pplane, argmax == null ? null : argmax + at + 7 * pplane, n);
                    }
        }
    }

    /// <summary>One channel's 16 windows: the top row's ReLU at <paramref name="top"/> (32 columns), the bottom row's
    /// accumulators (lo, hi); the first <paramref name="n"/> pooled values (and winners) stored.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void PoolRow(float* top, Vector512<float> lo, Vector512<float> hi, Vector512<int> even, Vector512<int> odd,
        Vector512<int> first, int width, float* pool, int* argmax, int n)
    {
        var zero = Vector512<float>.Zero;
        Vector512<float> tl = Vector512.Load(top), th = Vector512.Load(top + 16);
        Vector512<float> bl = Vector512.Max(lo, zero), bh = Vector512.Max(hi, zero);
        // a, b: the window's top row (even, odd column); c, d: its bottom row; Pool.Max2x2's choice
        var (best, winner) = Pool.MaxOf4(Avx512F.PermuteVar16x32x2(tl, even, th), Avx512F.PermuteVar16x32x2(tl, odd, th),
            Avx512F.PermuteVar16x32x2(bl, even, bh), Avx512F.PermuteVar16x32x2(bl, odd, bh), first, width);
        if (n >= 16)
        {
            best.Store(pool);
            if (argmax != null) winner.Store(argmax);
            return;
        }
        Store(pool, n, best.GetLower(), best.GetUpper());
        if (argmax != null) Store((float*)argmax, n, winner.AsSingle().GetLower(), winner.AsSingle().GetUpper());
    }

    /// <summary>The first min(32, n) lanes of (lo, hi) at dst.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* dst, int n, Vector512<float> lo, Vector512<float> hi)
    {
        if (n >= 32) { lo.Store(dst); hi.Store(dst + 16); return; }
        if (n >= 16) { lo.Store(dst); Store(dst + 16, n - 16, hi.GetLower(), hi.GetUpper()); return; }
        Store(dst, n, lo.GetLower(), lo.GetUpper());
    }

    /// <summary>The first min(16, n) lanes of (lo, hi) at dst.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Store(float* dst, int n, Vector256<float> lo, Vector256<float> hi)
    {
        if (n >= 16) { Avx.Store(dst, lo); Avx.Store(dst + 8, hi); return; }
        if (n >= 8) { Avx.Store(dst, lo); Partial(dst + 8, n - 8, hi); return; }
        Partial(dst, n, lo);
    }

    /// <summary>The first n (0..7) lanes: a 4-, 2- and 1-float store (a masked store is microcoded on some CPUs).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    internal static void Partial(float* d, int n, Vector256<float> value)
    {
        var part = value.GetLower();
        if (n >= 4) { Sse.Store(d, part); part = value.GetUpper(); d += 4; n -= 4; }
        if (n >= 2) { Sse.StoreLow(d, part); part = Sse.MoveHighToLow(part, part); d += 2; n -= 2; }
        if (n == 1) *d = part.ToScalar();
    }
}
