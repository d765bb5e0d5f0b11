using System;
using NetDsl.Kernels;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>
/// The weight-gradient kernels without a column matrix (<see cref="DirectConv.AddWeightGradient"/>, output columns in the
/// lanes; <see cref="ChannelLaneConv.AddWeightGradient"/>, output channels in the lanes) at every kernel width they take,
/// against the definition summed in double precision, added onto what dWeight held; and the 256-bit paths giving the
/// 512-bit paths' bits. The generated networks use them for 5-wide kernels (LeNet-5); these cover the rest.
/// </summary>
[Collection(NetDsl.Tests.Reliability.RunsAlone.Name)] // switches Simd.Allow512
public class LaneWeightGradientTests
{
    private static float[] Random(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }

    private static double[] Reference(in ConvGeometry g, int outC, float[] dy, float[] x, int samples, float[] start)
    {
        var r = new double[start.Length];
        for (int i = 0; i < r.Length; i++) r[i] = start[i];
        int inSize = g.InC * g.InH * g.InW, outSize = outC * g.OutH * g.OutW;
        for (int s = 0; s < samples; s++)
            for (int o = 0; o < outC; o++)
                for (int c = 0; c < g.InC; c++)
                    for (int u = 0; u < g.KernelH; u++)
                        for (int v = 0; v < g.KernelW; v++)
                        {
                            double sum = 0;
                            for (int i = 0; i < g.OutH; i++)
                                for (int j = 0; j < g.OutW; j++)
                                {
                                    int ih = i + u - g.PadTop, iw = j + v - g.PadLeft;
                                    if (ih < 0 || ih >= g.InH || iw < 0 || iw >= g.InW) continue;
                                    sum += (double)dy[s * outSize + (o * g.OutH + i) * g.OutW + j] * x[s * inSize + (c * g.InH + ih) * g.InW + iw];
                                }
                            r[((o * g.InC + c) * g.KernelH + u) * g.KernelW + v] += sum;
                        }
        return r;
    }

    private delegate bool Kernel(in ConvGeometry g, int outC, ReadOnlySpan<float> dy, ReadOnlySpan<float> x, int samples, Span<float> scratch, Span<float> dWeight);

    private static void Check(Kernel kernel, int scratchSize, ConvGeometry g, int outC, int samples)
    {
        int taps = g.ColRows;
        var x = Random(samples * g.InC * g.InH * g.InW, 1);
        var dy = Random(samples * outC * g.OutH * g.OutW, 2);
        var start = Random(outC * taps, 3);
        var expected = Reference(in g, outC, dy, x, samples, start);
        float[] Run(bool allow512)
        {
            bool before = Simd.Allow512;
            Simd.Allow512 = allow512;
            try
            {
                var dw = (float[])start.Clone();
                Assert.True(kernel(in g, outC, dy, x, samples, new float[scratchSize], dw), $"{g}: the kernel declined a width it takes");
                return dw;
            }
            finally { Simd.Allow512 = before; }
        }
        var wide = Run(true);
        for (int i = 0; i < wide.Length; i++)
            Assert.True(Math.Abs(wide[i] - expected[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"{g}, {outC} channels: dWeight[{i}] is {wide[i]}, the definition gives {expected[i]}");
        var narrow = Run(false);
        for (int i = 0; i < wide.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(wide[i]) == BitConverter.SingleToInt32Bits(narrow[i]), $"{g}: dWeight[{i}] is {narrow[i]} at 256 bits, {wide[i]} at 512");
    }

    private static ConvGeometry Geometry(int inC, int inH, int inW, int k, int pad) =>
        new(inC, inH, inW, k, k, 1, 1, pad, pad, 1, inH + 2 * pad - k + 1, inW + 2 * pad - k + 1);

    [Theory]
    [InlineData(1, 28, 28, 5, 2, 6, 3)]   // LeNet-5's conv1, three samples
    [InlineData(1, 28, 28, 3, 1, 32, 2)]  // the cnn's conv1: 32 channels, blocks of three and a last of two
    [InlineData(3, 13, 19, 4, 1, 4, 2)]   // RGB, 4 wide, rows of 18 (a chunk of 16 and one of 2)
    [InlineData(2, 9, 7, 2, 0, 5, 1)]
    [InlineData(4, 6, 40, 1, 0, 3, 2)]    // 1×1, rows of 40
    public void DirectWeightGradientMatchesTheDefinition(int inC, int h, int w, int k, int pad, int outC, int samples)
    {
        var g = Geometry(inC, h, w, k, pad);
        Check(DirectConv.AddWeightGradient, DirectConv.WeightGradientScratchSize(g, outC), g, outC, samples);
    }

    [Theory]
    [InlineData(6, 14, 14, 5, 0, 16, 6)]  // LeNet-5's conv2, six samples, the input read in place
    [InlineData(8, 7, 7, 3, 1, 32, 2)]    // padded, two blocks of 16 channels
    [InlineData(5, 9, 12, 4, 2, 16, 1)]
    [InlineData(3, 6, 6, 2, 0, 16, 3)]
    [InlineData(7, 5, 11, 1, 0, 16, 2)]
    public void ChannelLaneWeightGradientMatchesTheDefinition(int inC, int h, int w, int k, int pad, int outC, int samples)
    {
        var g = Geometry(inC, h, w, k, pad);
        Check(ChannelLaneConv.AddWeightGradient, ChannelLaneConv.WeightGradientScratchSize(g), g, outC, samples);
    }

    [Fact]
    public void KernelsWiderThanFiveAreDeclined()
    {
        var g = Geometry(1, 12, 12, 7, 3);
        var dw = new float[6 * 49];
        Assert.False(DirectConv.AddWeightGradient(in g, 6, new float[6 * 144], new float[144], 1, new float[DirectConv.WeightGradientScratchSize(g, 6)], dw));
        Assert.All(dw, v => Assert.Equal(0f, v));
    }
}
