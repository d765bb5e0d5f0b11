using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace NetDsl.Kernels;

/// <summary>Geometry of a 2-D convolution over one sample (NCHW, no groups).</summary>
public readonly record struct ConvGeometry(
    int InC, int InH, int InW, int KernelH, int KernelW, int StrideH, int StrideW,
    int PadTop, int PadLeft, int Dilation, int OutH, int OutW)
{
    /// <summary>Rows of the column matrix: C·kH·kW.</summary>
    public int ColRows => InC * KernelH * KernelW;
    /// <summary>Columns of the column matrix: OH·OW.</summary>
    public int ColCols => OutH * OutW;
}

/// <summary>Unfolds an image into the column matrix col[C·kH·kW, OH·OW] and folds gradients back.</summary>
public static class Im2Col
{
    public static void Unfold(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> col) => Unfold(in g, x, col, g.ColCols);

    /// <summary>As <see cref="Unfold(in ConvGeometry, ReadOnlySpan{float}, Span{float})"/>, with row r of the column
    /// matrix at col[r·ldCol]: several samples' matrices can sit side by side (ldCol = samples × ColCols).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void Unfold(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> col, int ldCol)
    {
        int p = g.ColCols;
        if (ldCol < p || x.Length < g.InC * g.InH * g.InW || col.Length < (long)(g.ColRows - 1) * ldCol + p) throw new ArgumentException("Im2Col.Unfold: a buffer is too small.");
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, sh = g.StrideH, sw = g.StrideW;
        fixed (float* px = x, pc = col)
        {
            if (sw == 1 && outW <= 32 && Simd.Use512)
            {
                UnfoldNarrow(in g, px, pc, ldCol);
                return;
            }
            if (sw == 1 && outW <= 32 && Avx2.IsSupported)
            {
                UnfoldNarrow256(in g, px, pc, ldCol);
                return;
            }
            for (int c = 0; c < g.InC; c++)
                for (int kh = 0; kh < g.KernelH; kh++)
                    for (int kw = 0; kw < g.KernelW; kw++)
                    {
                        int row = (c * g.KernelH + kh) * g.KernelW + kw;
                        float* dst = pc + (nint)row * ldCol;
                        int dh = kh * g.Dilation - g.PadTop, dw = kw * g.Dilation - g.PadLeft;
                        // Contiguous run for stride 1: columns ow with 0 ≤ ow + dw < W.
                        int lo = Math.Min(Math.Max(0, -dw), outW), hi = Math.Max(Math.Min(outW, inW - dw), lo);
                        for (int oh = 0; oh < outH; oh++)
                        {
                            int ih = oh * sh + dh;
                            float* d = dst + (nint)oh * outW;
                            if ((uint)ih >= (uint)inH) { Zero(d, outW); continue; }
                            float* src = px + ((nint)c * inH + ih) * inW;
                            if (sw == 1)
                            {
                                Zero(d, lo);
                                Copy(d + lo, src + lo + dw, hi - lo);
                                Zero(d + hi, outW - hi);
                            }
                            else
                            {
                                for (int ow = 0; ow < outW; ow++)
                                {
                                    int iw = ow * sw + dw;
                                    d[ow] = (uint)iw < (uint)inW ? src[iw] : 0f;
                                }
                            }
                        }
                    }
        }
    }

    /// <summary>
    /// Stride-1 unfold of output rows at most 32 wide, with AVX-512: each output row of each column-matrix row is one or
    /// two masked loads and stores. The load mask drops the columns that fall in the horizontal padding (they read as
    /// zero; masked-off lanes never touch memory, so the shifted source pointer may point before the row), the store
    /// mask stops at the row's end. Short rows are the common case for small images, where a copy loop per row costs
    /// more than the copying.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void UnfoldNarrow(in ConvGeometry g, float* px, float* pc, int ldCol)
    {
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, sh = g.StrideH;
        var store0 = PackedGemm.LaneRange(0, 0, outW);
        var store1 = PackedGemm.LaneRange(16, 0, outW);
        bool two = outW > 16;
        var zero = Vector512<float>.Zero;
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            int dw = kw * g.Dilation - g.PadLeft;
            // Output column ow reads input column ow + dw: valid for lo ≤ ow < hi.
            int lo = Math.Max(0, -dw), hi = Math.Min(outW, inW - dw);
            var load0 = PackedGemm.LaneRange(0, lo, hi);
            var load1 = PackedGemm.LaneRange(16, lo, hi);
            for (int c = 0; c < g.InC; c++)
                for (int kh = 0; kh < g.KernelH; kh++)
                {
                    int row = (c * g.KernelH + kh) * g.KernelW + kw;
                    float* dst = pc + (nint)row * ldCol;
                    int dh = kh * g.Dilation - g.PadTop;
                    float* plane = px + (nint)c * inH * inW;
                    for (int oh = 0; oh < outH; oh++)
                    {
                        int ih = oh * sh + dh;
                        float* d = dst + (nint)oh * outW;
                        if ((uint)ih >= (uint)inH)
                        {
                            Avx512F.MaskStore(d, store0, zero);
                            if (two) Avx512F.MaskStore(d + 16, store1, zero);
                            continue;
                        }
                        float* src = plane + (nint)ih * inW + dw;
                        Avx512F.MaskStore(d, store0, Avx512F.MaskLoad(src, load0, zero));
                        if (two) Avx512F.MaskStore(d + 16, store1, Avx512F.MaskLoad(src + 16, load1, zero));
                    }
                }
        }
    }

    /// <summary>
    /// <see cref="UnfoldNarrow"/> with AVX2: up to four 8-lane masked loads per output row (the masks zero the padding
    /// columns), stored whole. The last vector sits at the row's end (columns outW − 8 … outW − 1, overlapping the one
    /// before), so every store stays inside its row: AVX2's masked stores are slow on AMD (dropping them took a fifth off
    /// the 10-wide unfold). The padding rows above and below are zeroed apart, and each vector count has its own row loop
    /// with no tests in it (with that, 15–30 % off the 28-wide unfold). Rows under 8 wide: <see cref="UnfoldNarrowest256"/>.
    /// A copy either way: the same values as the plain loop.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void UnfoldNarrow256(in ConvGeometry g, float* px, float* pc, int ldCol)
    {
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, sh = g.StrideH;
        int nv = (outW + 7) >> 3;
        if (outW < 8)
        {
            UnfoldNarrowest256(in g, px, pc, ldCol);
            return;
        }
        // Where each vector of an output row starts: 8v, the last one pulled back to end at the row's end.
        int o1 = Math.Min(8, outW - 8), o2 = Math.Min(16, outW - 8), o3 = Math.Min(24, outW - 8);
        nint srcStep = (nint)sh * inW;
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            int dw = kw * g.Dilation - g.PadLeft;
            int lo = Math.Max(0, -dw), hi = Math.Min(outW, inW - dw);
            var l0 = PackedGemm.LaneRange256(0, lo, hi); var l1 = PackedGemm.LaneRange256(o1, lo, hi); var l2 = PackedGemm.LaneRange256(o2, lo, hi); var l3 = PackedGemm.LaneRange256(o3, lo, hi);
            for (int c = 0; c < g.InC; c++)
                for (int kh = 0; kh < g.KernelH; kh++)
                {
                    int row = (c * g.KernelH + kh) * g.KernelW + kw;
                    float* d = pc + (nint)row * ldCol;
                    int dh = kh * g.Dilation - g.PadTop;
                    // Output rows oh with 0 ≤ oh·sh + dh < inH read the image; those above and below are padding.
                    int top, bottom;
                    if (sh == 1)
                    {
                        top = Math.Min(outH, Math.Max(0, -dh));
                        bottom = Math.Max(top, Math.Min(outH, inH - dh));
                    }
                    else
                    {
                        top = dh >= 0 ? 0 : Math.Min(outH, (-dh + sh - 1) / sh);
                        bottom = Math.Max(top, Math.Min(outH, inH - dh <= 0 ? 0 : (inH - dh - 1) / sh + 1));
                    }
                    ZeroRows256(d, top, nv, o1, o2, o3, outW);
                    float* dEnd = d + (nint)bottom * outW;
                    d += (nint)top * outW;
                    float* src = px + ((nint)c * inH + top * sh + dh) * inW + dw;
                    // One loop per vector count, so that no row tests it.
                    switch (nv)
                    {
                        case 1:
                            for (; d < dEnd; d += outW, src += srcStep) Avx.MaskLoad(src, l0).Store(d);
                            break;
                        case 2:
                            for (; d < dEnd; d += outW, src += srcStep)
                            {
                                var v0 = Avx.MaskLoad(src, l0); var v1 = Avx.MaskLoad(src + o1, l1);
                                v0.Store(d); v1.Store(d + o1);
                            }
                            break;
                        case 3:
                            for (; d < dEnd; d += outW, src += srcStep)
                            {
                                var v0 = Avx.MaskLoad(src, l0); var v1 = Avx.MaskLoad(src + o1, l1); var v2 = Avx.MaskLoad(src + o2, l2);
                                v0.Store(d); v1.Store(d + o1); v2.Store(d + o2);
                            }
                            break;
                        default:
                            for (; d < dEnd; d += outW, src += srcStep)
                            {
                                var v0 = Avx.MaskLoad(src, l0); var v1 = Avx.MaskLoad(src + o1, l1); var v2 = Avx.MaskLoad(src + o2, l2); var v3 = Avx.MaskLoad(src + o3, l3);
                                v0.Store(d); v1.Store(d + o1); v2.Store(d + o2); v3.Store(d + o3);
                            }
                            break;
                    }
                    ZeroRows256(dEnd, outH - bottom, nv, o1, o2, o3, outW);
                }
        }
    }

    /// <summary>Zeroes <paramref name="rows"/> output rows from d on, with the vector layout of <see cref="UnfoldNarrow256"/>.
    /// Inlined: as a call it made NativeAOT keep the row's load masks on the stack, reloaded for every row.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static unsafe void ZeroRows256(float* d, int rows, int nv, int o1, int o2, int o3, int outW)
    {
        var zero = Vector256<float>.Zero;
        for (int r = 0; r < rows; r++, d += outW)
        {
            zero.Store(d);
            if (nv > 1) zero.Store(d + o1);
            if (nv > 2) zero.Store(d + o2);
            if (nv > 3) zero.Store(d + o3);
        }
    }

    /// <summary><see cref="UnfoldNarrow256"/> for output rows under 8 wide: one masked load per row, stored whole (the
    /// spill lands in later rows of the same plane, written after it), through a mask where the spill would leave the plane.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void UnfoldNarrowest256(in ConvGeometry g, float* px, float* pc, int ldCol)
    {
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, sh = g.StrideH;
        var s0 = PackedGemm.LaneRange256(0, 0, outW);
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            int dw = kw * g.Dilation - g.PadLeft;
            int lo = Math.Max(0, -dw), hi = Math.Min(outW, inW - dw);
            var l0 = PackedGemm.LaneRange256(0, lo, hi);
            for (int c = 0; c < g.InC; c++)
                for (int kh = 0; kh < g.KernelH; kh++)
                {
                    int row = (c * g.KernelH + kh) * g.KernelW + kw;
                    float* dst = pc + (nint)row * ldCol;
                    int dh = kh * g.Dilation - g.PadTop;
                    float* plane = px + (nint)c * inH * inW;
                    for (int oh = 0; oh < outH; oh++)
                    {
                        int ih = oh * sh + dh;
                        float* d = dst + (nint)oh * outW;
                        var v0 = (uint)ih < (uint)inH ? Avx.MaskLoad(plane + (nint)ih * inW + dw, l0) : Vector256<float>.Zero;
                        if (oh * outW + 8 <= outH * outW) v0.Store(d);
                        else Avx.MaskStore(d, s0, v0);
                    }
                }
        }
    }

    /// <summary><see cref="FoldNarrow"/> with AVX2: each input row gathers its taps in up to four 8-lane registers (taps
    /// in the same (kh, kw) order per element as the plain loop) and is stored once. For rows at least 8 wide the last
    /// register covers the row's last 8 columns (overlapping the one before; both hold the same sums there), so the row is
    /// read and written with whole vectors (AVX2's masked stores are slow on AMD), and each vector count has its own loop:
    /// the 14-wide fold takes 0.45 of its time before. Narrower rows go through masks.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FoldNarrow256(in ConvGeometry g, float* pc, float* px, int ldCol)
    {
        int inW = g.InW;
        if (inW < 8) { FoldRows256<One>(in g, pc, px, ldCol, masked: true); return; }
        switch ((inW + 7) >> 3)
        {
            case 1: FoldRows256<One>(in g, pc, px, ldCol, masked: false); break;
            case 2: FoldRows256<Two>(in g, pc, px, ldCol, masked: false); break;
            case 3: FoldRows256<Three>(in g, pc, px, ldCol, masked: false); break;
            default: FoldRows256<Four>(in g, pc, px, ldCol, masked: false); break;
        }
    }

    /// <summary>How many 8-lane vectors cover a row: a type argument, so that the JIT compiles one loop per count with
    /// no tests of it inside.</summary>
    private interface IVectorCount { static abstract int N { get; } }
    private readonly struct One : IVectorCount { public static int N => 1; }
    private readonly struct Two : IVectorCount { public static int N => 2; }
    private readonly struct Three : IVectorCount { public static int N => 3; }
    private readonly struct Four : IVectorCount { public static int N => 4; }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FoldRows256<TCount>(in ConvGeometry g, float* pc, float* px, int ldCol, bool masked)
        where TCount : struct, IVectorCount
    {
        int nv = TCount.N;
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, kH = g.KernelH, kW = g.KernelW;
        // Vector v covers columns o_v … o_v + 7 of an input row: 8v, the last pulled back to end at the row's end
        // (masked: rows under 8 wide, one vector at 0).
        int o1 = Math.Min(8, inW - 8), o2 = Math.Min(16, inW - 8), o3 = Math.Min(24, inW - 8);
        var row0 = PackedGemm.LaneRange256(0, 0, inW);
        Vector256<float>* masks = stackalloc Vector256<float>[4 * kW];
        for (int kw = 0; kw < kW; kw++)
        {
            int dw = kw * g.Dilation - g.PadLeft;
            int lo = Math.Max(0, dw), hi = Math.Min(inW, outW + dw);
            masks[4 * kw] = PackedGemm.LaneRange256(0, lo, hi);
            if (nv > 1) masks[4 * kw + 1] = PackedGemm.LaneRange256(o1, lo, hi);
            if (nv > 2) masks[4 * kw + 2] = PackedGemm.LaneRange256(o2, lo, hi);
            if (nv > 3) masks[4 * kw + 3] = PackedGemm.LaneRange256(o3, lo, hi);
        }
        for (int c = 0; c < g.InC; c++)
            for (int ih = 0; ih < inH; ih++)
            {
                float* d = px + ((nint)c * inH + ih) * inW;
                Vector256<float> a0 = masked ? Avx.MaskLoad(d, row0) : Vector256.Load(d), a1 = default, a2 = default, a3 = default;
                if (nv > 1) a1 = Vector256.Load(d + o1);
                if (nv > 2) a2 = Vector256.Load(d + o2);
                if (nv > 3) a3 = Vector256.Load(d + o3);
                for (int kh = 0; kh < kH; kh++)
                {
                    int oh = ih - (kh * g.Dilation - g.PadTop);
                    if ((uint)oh >= (uint)outH) continue;
                    float* src = pc + (nint)((c * kH + kh) * kW) * ldCol + (nint)oh * outW + g.PadLeft;
                    Vector256<float>* m = masks;
                    for (int kw = 0; kw < kW; kw++, src += ldCol - g.Dilation, m += 4)
                    {
                        a0 += Avx.MaskLoad(src, m[0]);
                        if (nv > 1) a1 += Avx.MaskLoad(src + o1, m[1]);
                        if (nv > 2) a2 += Avx.MaskLoad(src + o2, m[2]);
                        if (nv > 3) a3 += Avx.MaskLoad(src + o3, m[3]);
                    }
                }
                if (masked) Avx.MaskStore(d, row0, a0);
                else a0.Store(d);
                if (nv > 1) a1.Store(d + o1);
                if (nv > 2) a2.Store(d + o2);
                if (nv > 3) a3.Store(d + o3);
            }
    }

    /// <summary>Splits C[rows, samples·p] (samples' column blocks side by side) into samples consecutive [rows, p]
    /// matrices: dst[j·rows·p + i·p + c] = src[i·samples·p + j·p + c].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void SplitSamples(int rows, int p, int samples, ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length < rows * samples * p || dst.Length < rows * samples * p) throw new ArgumentException("Im2Col.SplitSamples: a buffer is too small.");
        fixed (float* ps = src, pd = dst)
        {
            for (int j = 0; j < samples; j++)
                for (int i = 0; i < rows; i++)
                    Copy(pd + ((nint)j * rows + i) * p, ps + ((nint)i * samples + j) * p, p);
        }
    }

    /// <summary>The inverse of <see cref="SplitSamples"/>: samples consecutive [rows, p] matrices into one
    /// [rows, samples·p]: dst[i·samples·p + j·p + c] = src[j·rows·p + i·p + c].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void JoinSamples(int rows, int p, int samples, ReadOnlySpan<float> src, Span<float> dst)
    {
        if (src.Length < rows * samples * p || dst.Length < rows * samples * p) throw new ArgumentException("Im2Col.JoinSamples: a buffer is too small.");
        fixed (float* ps = src, pd = dst)
        {
            for (int j = 0; j < samples; j++)
                for (int i = 0; i < rows; i++)
                    Copy(pd + ((nint)i * samples + j) * p, ps + ((nint)j * rows + i) * p, p);
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Zero(float* d, int n)
    {
        for (int j = 0; j < n; j++) d[j] = 0f;
    }

    /// <summary>d[0..n) = s[0..n). Runs are short (a row of an output plane), so the tail matters: AVX-512 masks it.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void Copy(float* d, float* s, int n)
    {
        int j = 0;
        if (Simd.Use512)
        {
            for (; j + 16 <= n; j += 16) Vector512.Store(Vector512.Load(s + j), d + j);
            if (j < n)
            {
                var mask = PackedGemm.LaneMask(n - j);
                Avx512F.MaskStore(d + j, mask, Avx512F.MaskLoad(s + j, mask, default));
            }
            return;
        }
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= n; j += 8) Vector256.Store(Vector256.Load(s + j), d + j);
        for (; j < n; j++) d[j] = s[j];
    }

    /// <summary>dx += fold(dcol): the adjoint of <see cref="Unfold(in ConvGeometry, ReadOnlySpan{float}, Span{float})"/>.</summary>
    public static void FoldAdd(in ConvGeometry g, ReadOnlySpan<float> dcol, Span<float> dx) => FoldAdd(in g, dcol, dx, g.ColCols);

    /// <summary>As <see cref="FoldAdd(in ConvGeometry, ReadOnlySpan{float}, Span{float})"/>, with row r of the column
    /// matrix at dcol[r·ldCol].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static unsafe void FoldAdd(in ConvGeometry g, ReadOnlySpan<float> dcol, Span<float> dx, int ldCol)
    {
        int p = g.ColCols;
        if (ldCol < p) throw new ArgumentException("Im2Col.FoldAdd: ldCol is smaller than a row.");
        if (dx.Length < g.InC * g.InH * g.InW || dcol.Length < (long)(g.ColRows - 1) * ldCol + p) throw new ArgumentException("Im2Col.FoldAdd: a buffer is too small.");
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, sh = g.StrideH, sw = g.StrideW;
        fixed (float* pc = dcol, px = dx)
        {
            if (sh == 1 && sw == 1 && inW <= 32 && Simd.Use512)
            {
                FoldNarrow(in g, pc, px, ldCol);
                return;
            }
            if (sh == 1 && sw == 1 && inW <= 32 && Avx2.IsSupported)
            {
                FoldNarrow256(in g, pc, px, ldCol);
                return;
            }
            for (int c = 0; c < g.InC; c++)
                for (int kh = 0; kh < g.KernelH; kh++)
                    for (int kw = 0; kw < g.KernelW; kw++)
                    {
                        int row = (c * g.KernelH + kh) * g.KernelW + kw;
                        float* src = pc + (nint)row * ldCol;
                        int dh = kh * g.Dilation - g.PadTop, dw = kw * g.Dilation - g.PadLeft;
                        int lo = Math.Min(Math.Max(0, -dw), outW), hi = Math.Max(Math.Min(outW, inW - dw), lo);
                        for (int oh = 0; oh < outH; oh++)
                        {
                            int ih = oh * sh + dh;
                            if ((uint)ih >= (uint)inH) continue;
                            float* drow = px + ((nint)c * inH + ih) * inW;
                            float* srow = src + (nint)oh * outW;
                            if (sw == 1) AddTo(drow + lo + dw, srow + lo, hi - lo);
                            else
                            {
                                for (int ow = 0; ow < outW; ow++)
                                {
                                    int iw = ow * sw + dw;
                                    if ((uint)iw < (uint)inW) drow[iw] += srow[ow];
                                }
                            }
                        }
                    }
        }
    }

    /// <summary>
    /// Stride-1 fold onto input rows at most 32 wide, with AVX-512, as a gather: each input row sums its taps in
    /// registers (one masked load per tap, the mask keeping the columns whose output exists) and is stored once.
    /// Adding tap by tap into memory instead makes every tap reload what the one before just stored, shifted by a
    /// column, which store forwarding cannot serve. Per element the taps are added in the same (c, kh, kw) order.
    /// </summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void FoldNarrow(in ConvGeometry g, float* pc, float* px, int ldCol)
    {
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, kH = g.KernelH, kW = g.KernelW;
        var row0 = PackedGemm.LaneRange(0, 0, inW);
        var row1 = PackedGemm.LaneRange(16, 0, inW);
        bool two = inW > 16;
        // Per kw: input column iw takes output column iw − dw, which exists for dw ≤ iw < outW + dw (and 0 ≤ iw < inW).
        Vector512<float>* masks = stackalloc Vector512<float>[2 * kW];
        for (int kw = 0; kw < kW; kw++)
        {
            int dw = kw * g.Dilation - g.PadLeft;
            int lo = Math.Max(0, dw), hi = Math.Min(inW, outW + dw);
            masks[2 * kw] = PackedGemm.LaneRange(0, lo, hi);
            masks[2 * kw + 1] = PackedGemm.LaneRange(16, lo, hi);
        }
        var zero = Vector512<float>.Zero;
        // Four input rows at a time: each row's sum is a chain of up to kH·kW dependent adds (the order is fixed), so one
        // row at a time waited on the add's latency; four independent chains fill the adder. Same order per element.
        for (int c = 0; c < g.InC; c++)
            for (int ih0 = 0; ih0 < inH; ih0 += 4)
            {
                int rows = Math.Min(4, inH - ih0);
                float* d = px + ((nint)c * inH + ih0) * inW;
                Vector512<float> a0 = Avx512F.MaskLoad(d, row0, zero), b0 = two ? Avx512F.MaskLoad(d + 16, row1, zero) : zero;
                Vector512<float> a1 = zero, b1 = zero, a2 = zero, b2 = zero, a3 = zero, b3 = zero;
                if (rows > 1) { a1 = Avx512F.MaskLoad(d + inW, row0, zero); if (two) b1 = Avx512F.MaskLoad(d + inW + 16, row1, zero); }
                if (rows > 2) { a2 = Avx512F.MaskLoad(d + 2 * inW, row0, zero); if (two) b2 = Avx512F.MaskLoad(d + 2 * inW + 16, row1, zero); }
                if (rows > 3) { a3 = Avx512F.MaskLoad(d + 3 * inW, row0, zero); if (two) b3 = Avx512F.MaskLoad(d + 3 * inW + 16, row1, zero); }
                for (int kh = 0; kh < kH; kh++)
                {
                    // output row of input row ih0 + r: oh = ih0 + r − (kh·dilation − padTop), when it exists
                    int oh0 = ih0 - (kh * g.Dilation - g.PadTop);
                    bool v0 = (uint)oh0 < (uint)outH, v1 = rows > 1 && (uint)(oh0 + 1) < (uint)outH;
                    bool v2 = rows > 2 && (uint)(oh0 + 2) < (uint)outH, v3 = rows > 3 && (uint)(oh0 + 3) < (uint)outH;
                    if (!(v0 | v1 | v2 | v3)) continue;
                    for (int kw = 0; kw < kW; kw++)
                    {
                        int dw = kw * g.Dilation - g.PadLeft;
                        float* src = pc + (nint)((c * kH + kh) * kW + kw) * ldCol + (nint)oh0 * outW - dw;
                        var m0 = masks[2 * kw];
                        if (v0) a0 += Avx512F.MaskLoad(src, m0, zero);
                        if (v1) a1 += Avx512F.MaskLoad(src + outW, m0, zero);
                        if (v2) a2 += Avx512F.MaskLoad(src + 2 * outW, m0, zero);
                        if (v3) a3 += Avx512F.MaskLoad(src + 3 * outW, m0, zero);
                        if (two)
                        {
                            var m1 = masks[2 * kw + 1];
                            if (v0) b0 += Avx512F.MaskLoad(src + 16, m1, zero);
                            if (v1) b1 += Avx512F.MaskLoad(src + outW + 16, m1, zero);
                            if (v2) b2 += Avx512F.MaskLoad(src + 2 * outW + 16, m1, zero);
                            if (v3) b3 += Avx512F.MaskLoad(src + 3 * outW + 16, m1, zero);
                        }
                    }
                }
                Avx512F.MaskStore(d, row0, a0);
                if (two) Avx512F.MaskStore(d + 16, row1, b0);
                if (rows > 1) { Avx512F.MaskStore(d + inW, row0, a1); if (two) Avx512F.MaskStore(d + inW + 16, row1, b1); }
                if (rows > 2) { Avx512F.MaskStore(d + 2 * inW, row0, a2); if (two) Avx512F.MaskStore(d + 2 * inW + 16, row1, b2); }
                if (rows > 3) { Avx512F.MaskStore(d + 3 * inW, row0, a3); if (two) Avx512F.MaskStore(d + 3 * inW + 16, row1, b3); }
            }
    }

    /// <summary>d[0..n) += s[0..n), vectorized; the order of additions per element is unchanged.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static unsafe void AddTo(float* d, float* s, int n)
    {
        int j = 0;
        if (Simd.Use512)
        {
            for (; j + 16 <= n; j += 16) Vector512.Store(Vector512.Load(d + j) + Vector512.Load(s + j), d + j);
            if (j < n)
            {
                var mask = PackedGemm.LaneMask(n - j);
                Avx512F.MaskStore(d + j, mask, Avx512F.MaskLoad(d + j, mask, default) + Avx512F.MaskLoad(s + j, mask, default));
            }
            return;
        }
        if (Vector256.IsHardwareAccelerated)
            for (; j + 8 <= n; j += 8)
                Vector256.Store(Vector256.Load(d + j) + Vector256.Load(s + j), d + j);
        if (Vector128.IsHardwareAccelerated)
            for (; j + 4 <= n; j += 4)
                Vector128.Store(Vector128.Load(d + j) + Vector128.Load(s + j), d + j);
        for (; j < n; j++) d[j] += s[j];
    }
}
