using System;

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
    public static void Unfold(in ConvGeometry g, ReadOnlySpan<float> x, Span<float> col)
    {
        int p = g.ColCols;
        for (int c = 0; c < g.InC; c++)
            for (int kh = 0; kh < g.KernelH; kh++)
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    int row = (c * g.KernelH + kh) * g.KernelW + kw;
                    Span<float> dst = col.Slice(row * p, p);
                    int dh = kh * g.Dilation - g.PadTop, dw = kw * g.Dilation - g.PadLeft;
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        int ih = oh * g.StrideH + dh;
                        Span<float> drow = dst.Slice(oh * g.OutW, g.OutW);
                        if ((uint)ih >= (uint)g.InH) { drow.Clear(); continue; }
                        ReadOnlySpan<float> src = x.Slice((c * g.InH + ih) * g.InW, g.InW);
                        if (g.StrideW == 1)
                        {
                            // Contiguous run: columns ow with 0 ≤ ow + dw < W.
                            int lo = Math.Max(0, -dw), hi = Math.Min(g.OutW, g.InW - dw);
                            if (lo > 0) drow.Slice(0, Math.Min(lo, g.OutW)).Clear();
                            if (hi > lo) src.Slice(lo + dw, hi - lo).CopyTo(drow.Slice(lo));
                            if (hi < g.OutW) drow.Slice(Math.Max(hi, lo)).Clear();
                        }
                        else
                        {
                            for (int ow = 0; ow < g.OutW; ow++)
                            {
                                int iw = ow * g.StrideW + dw;
                                drow[ow] = (uint)iw < (uint)g.InW ? src[iw] : 0f;
                            }
                        }
                    }
                }
    }

    /// <summary>dx += fold(dcol): the adjoint of <see cref="Unfold"/>.</summary>
    public static void FoldAdd(in ConvGeometry g, ReadOnlySpan<float> dcol, Span<float> dx)
    {
        int p = g.ColCols;
        for (int c = 0; c < g.InC; c++)
            for (int kh = 0; kh < g.KernelH; kh++)
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    int row = (c * g.KernelH + kh) * g.KernelW + kw;
                    ReadOnlySpan<float> src = dcol.Slice(row * p, p);
                    int dh = kh * g.Dilation - g.PadTop, dw = kw * g.Dilation - g.PadLeft;
                    for (int oh = 0; oh < g.OutH; oh++)
                    {
                        int ih = oh * g.StrideH + dh;
                        if ((uint)ih >= (uint)g.InH) continue;
                        Span<float> drow = dx.Slice((c * g.InH + ih) * g.InW, g.InW);
                        ReadOnlySpan<float> srow = src.Slice(oh * g.OutW, g.OutW);
                        if (g.StrideW == 1)
                        {
                            int lo = Math.Max(0, -dw), hi = Math.Min(g.OutW, g.InW - dw);
                            for (int ow = lo; ow < hi; ow++) drow[ow + dw] += srow[ow];
                        }
                        else
                        {
                            for (int ow = 0; ow < g.OutW; ow++)
                            {
                                int iw = ow * g.StrideW + dw;
                                if ((uint)iw < (uint)g.InW) drow[iw] += srow[ow];
                            }
                        }
                    }
                }
    }
}
