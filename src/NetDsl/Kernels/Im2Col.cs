using System;
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
    /// <see cref="UnfoldNarrow"/> with AVX2: up to four 8-lane masked loads per output row. The stores are whole vectors
    /// (masked stores are slow on some CPUs): what a store writes past the output row's end lands in later output rows of
    /// the same plane, which are written after it; where it would leave the plane, the store goes through a mask, so
    /// nothing outside the column-matrix row is touched. Same values as the plain loop: a copy.
    /// </summary>
    private static unsafe void UnfoldNarrow256(in ConvGeometry g, float* px, float* pc, int ldCol)
    {
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, sh = g.StrideH;
        int nv = (outW + 7) >> 3;
        var s0 = PackedGemm.LaneRange256(0, 0, outW); var s1 = PackedGemm.LaneRange256(8, 0, outW); var s2 = PackedGemm.LaneRange256(16, 0, outW); var s3 = PackedGemm.LaneRange256(24, 0, outW);
        var zero = Vector256<float>.Zero;
        for (int kw = 0; kw < g.KernelW; kw++)
        {
            int dw = kw * g.Dilation - g.PadLeft;
            int lo = Math.Max(0, -dw), hi = Math.Min(outW, inW - dw);
            var l0 = PackedGemm.LaneRange256(0, lo, hi); var l1 = PackedGemm.LaneRange256(8, lo, hi); var l2 = PackedGemm.LaneRange256(16, lo, hi); var l3 = PackedGemm.LaneRange256(24, lo, hi);
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
                        Vector256<float> v0 = zero, v1 = zero, v2 = zero, v3 = zero;
                        if ((uint)ih < (uint)inH)
                        {
                            float* src = plane + (nint)ih * inW + dw;
                            v0 = Avx.MaskLoad(src, l0);
                            if (nv > 1) v1 = Avx.MaskLoad(src + 8, l1);
                            if (nv > 2) v2 = Avx.MaskLoad(src + 16, l2);
                            if (nv > 3) v3 = Avx.MaskLoad(src + 24, l3);
                        }
                        if ((oh * outW) + 8 * nv <= outH * outW) // the spill stays inside this row's plane: later rows overwrite it
                        {
                            v0.Store(d);
                            if (nv > 1) v1.Store(d + 8);
                            if (nv > 2) v2.Store(d + 16);
                            if (nv > 3) v3.Store(d + 24);
                        }
                        else
                        {
                            Avx.MaskStore(d, s0, v0);
                            if (nv > 1) Avx.MaskStore(d + 8, s1, v1);
                            if (nv > 2) Avx.MaskStore(d + 16, s2, v2);
                            if (nv > 3) Avx.MaskStore(d + 24, s3, v3);
                        }
                    }
                }
        }
    }

    /// <summary><see cref="FoldNarrow"/> with AVX2: each input row gathers its taps in up to four 8-lane registers (taps
    /// in the same (kh, kw) order per element as the plain loop) and is stored once, through masks.</summary>
    private static unsafe void FoldNarrow256(in ConvGeometry g, float* pc, float* px, int ldCol)
    {
        int inH = g.InH, inW = g.InW, outH = g.OutH, outW = g.OutW, kH = g.KernelH, kW = g.KernelW;
        int nv = (inW + 7) >> 3;
        var r0 = PackedGemm.LaneRange256(0, 0, inW); var r1 = PackedGemm.LaneRange256(8, 0, inW); var r2 = PackedGemm.LaneRange256(16, 0, inW); var r3 = PackedGemm.LaneRange256(24, 0, inW);
        Vector256<float>* masks = stackalloc Vector256<float>[4 * kW];
        for (int kw = 0; kw < kW; kw++)
        {
            int dw = kw * g.Dilation - g.PadLeft;
            int lo = Math.Max(0, dw), hi = Math.Min(inW, outW + dw);
            for (int v = 0; v < 4; v++) masks[4 * kw + v] = PackedGemm.LaneRange256(8 * v, lo, hi);
        }
        for (int c = 0; c < g.InC; c++)
            for (int ih = 0; ih < inH; ih++)
            {
                float* d = px + ((nint)c * inH + ih) * inW;
                var a0 = Avx.MaskLoad(d, r0);
                var a1 = nv > 1 ? Avx.MaskLoad(d + 8, r1) : default;
                var a2 = nv > 2 ? Avx.MaskLoad(d + 16, r2) : default;
                var a3 = nv > 3 ? Avx.MaskLoad(d + 24, r3) : default;
                for (int kh = 0; kh < kH; kh++)
                {
                    int oh = ih - (kh * g.Dilation - g.PadTop);
                    if ((uint)oh >= (uint)outH) continue;
                    for (int kw = 0; kw < kW; kw++)
                    {
                        int dw = kw * g.Dilation - g.PadLeft;
                        float* src = pc + (nint)((c * kH + kh) * kW + kw) * ldCol + (nint)oh * outW - dw;
                        Vector256<float>* m = masks + 4 * kw;
                        a0 += Avx.MaskLoad(src, m[0]);
                        if (nv > 1) a1 += Avx.MaskLoad(src + 8, m[1]);
                        if (nv > 2) a2 += Avx.MaskLoad(src + 16, m[2]);
                        if (nv > 3) a3 += Avx.MaskLoad(src + 24, m[3]);
                    }
                }
                Avx.MaskStore(d, r0, a0);
                if (nv > 1) Avx.MaskStore(d + 8, r1, a1);
                if (nv > 2) Avx.MaskStore(d + 16, r2, a2);
                if (nv > 3) Avx.MaskStore(d + 24, r3, a3);
            }
    }

    /// <summary>Splits C[rows, samples·p] (samples' column blocks side by side) into samples consecutive [rows, p]
    /// matrices: dst[j·rows·p + i·p + c] = src[i·samples·p + j·p + c].</summary>
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

    private static unsafe void Zero(float* d, int n)
    {
        for (int j = 0; j < n; j++) d[j] = 0f;
    }

    /// <summary>d[0..n) = s[0..n). Runs are short (a row of an output plane), so the tail matters: AVX-512 masks it.</summary>
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
        for (int c = 0; c < g.InC; c++)
            for (int ih = 0; ih < inH; ih++)
            {
                float* d = px + ((nint)c * inH + ih) * inW;
                var acc0 = Avx512F.MaskLoad(d, row0, zero);
                var acc1 = two ? Avx512F.MaskLoad(d + 16, row1, zero) : zero;
                for (int kh = 0; kh < kH; kh++)
                {
                    int oh = ih - (kh * g.Dilation - g.PadTop);
                    if ((uint)oh >= (uint)outH) continue;
                    for (int kw = 0; kw < kW; kw++)
                    {
                        int dw = kw * g.Dilation - g.PadLeft;
                        float* src = pc + (nint)((c * kH + kh) * kW + kw) * ldCol + (nint)oh * outW - dw;
                        acc0 += Avx512F.MaskLoad(src, masks[2 * kw], zero);
                        if (two) acc1 += Avx512F.MaskLoad(src + 16, masks[2 * kw + 1], zero);
                    }
                }
                Avx512F.MaskStore(d, row0, acc0);
                if (two) Avx512F.MaskStore(d + 16, row1, acc1);
            }
    }

    /// <summary>d[0..n) += s[0..n), vectorized; the order of additions per element is unchanged.</summary>
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
