using System;
using NetDsl.Kernels;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>
/// <see cref="Im2Col.FoldAdd(in ConvGeometry, ReadOnlySpan{float}, Span{float}, int)"/> (col2im, the input gradient's
/// last step) against the definition written out here, bit for bit: every element receives its taps in (kernel row,
/// kernel column) order in both, so the sums are the same floats. Shapes cover the narrow vector path (input rows up to
/// 32 wide, four rows at a time, heights that leave one to three rows over), the general loop (wider rows, strides),
/// paddings, dilation and a column matrix wider than one sample.
/// </summary>
public class FoldKernelTests
{
    public static TheoryData<ConvGeometry, int> Geometries()
    {
        var data = new TheoryData<ConvGeometry, int>();
        void Add(int inC, int inH, int inW, int k, int stride, int pad, int dilation, int extraColumns = 0)
        {
            int outH = (inH + 2 * pad - dilation * (k - 1) - 1) / stride + 1, outW = (inW + 2 * pad - dilation * (k - 1) - 1) / stride + 1;
            data.Add(new ConvGeometry(inC, inH, inW, k, k, stride, stride, pad, pad, dilation, outH, outW), outH * outW + extraColumns);
        }
        Add(6, 14, 14, 5, 1, 0, 1);      // LeNet-5's conv2
        Add(6, 14, 14, 5, 1, 0, 1, 37);  // its six samples side by side (ldCol > OH·OW)
        Add(1, 28, 28, 5, 1, 2, 1);      // LeNet-5's conv1, rows of 28 (two vectors)
        Add(3, 13, 17, 3, 1, 1, 1);      // 13 rows: one left over after the groups of four
        Add(2, 10, 9, 3, 1, 1, 2);       // dilation 2
        Add(4, 7, 32, 3, 1, 2, 1);       // rows exactly 32 wide, padding beyond the kernel's reach
        Add(2, 6, 5, 1, 1, 0, 1);        // 1×1
        Add(3, 9, 40, 3, 1, 1, 1);       // wider than 32: the general loop
        Add(3, 11, 11, 3, 2, 1, 1);      // stride 2: the general loop
        return data;
    }

    [Theory]
    [MemberData(nameof(Geometries))]
    public void FoldAddMatchesTheDefinition(ConvGeometry g, int ldCol)
    {
        var rng = new Random(g.InH * 131 + g.InW * 7 + g.KernelH);
        var dcol = new float[(g.ColRows - 1) * ldCol + g.ColCols];
        for (int i = 0; i < dcol.Length; i++) dcol[i] = (float)(rng.NextDouble() * 2 - 1);
        var start = new float[g.InC * g.InH * g.InW];
        for (int i = 0; i < start.Length; i++) start[i] = (float)(rng.NextDouble() - 0.5); // FoldAdd adds into dx
        var dx = (float[])start.Clone();
        Im2Col.FoldAdd(in g, dcol, dx, ldCol);

        var expected = (float[])start.Clone();
        for (int c = 0; c < g.InC; c++)
            for (int kh = 0; kh < g.KernelH; kh++)
                for (int kw = 0; kw < g.KernelW; kw++)
                {
                    int row = (c * g.KernelH + kh) * g.KernelW + kw;
                    for (int oh = 0; oh < g.OutH; oh++)
                        for (int ow = 0; ow < g.OutW; ow++)
                        {
                            int ih = oh * g.StrideH + kh * g.Dilation - g.PadTop, iw = ow * g.StrideW + kw * g.Dilation - g.PadLeft;
                            if (ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW) continue;
                            expected[(c * g.InH + ih) * g.InW + iw] += dcol[row * ldCol + oh * g.OutW + ow];
                        }
                }
        for (int i = 0; i < dx.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(dx[i]),
                $"{g}: dx[{i}] is {dx[i]}, the definition gives {expected[i]}");
    }
}
