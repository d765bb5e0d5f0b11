using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>Winograd F(2×2, 5×5), eight samples in the lanes, against the convolution's definition in double precision:
/// the output, the input gradient (written, not added) and the weight gradient summed over several calls before one
/// AddWeightGradient5 (added to what dWeight held), for every padding up to 4, odd and even sizes (partial last tiles),
/// one to eight samples per call (idle lanes), and the cached weight transform following changed weights.</summary>
public class Winograd5Tests
{
    [Theory]
    [InlineData(6, 16, 14, 14, 0, 0, 0, 0, 8)]    // LeNet-5's conv2, a full vector of samples
    [InlineData(6, 16, 14, 14, 0, 0, 0, 0, 3)]    // idle lanes
    [InlineData(1, 8, 12, 12, 2, 2, 2, 2, 2)]     // "same" padding, one input channel
    [InlineData(3, 24, 7, 9, 0, 0, 0, 0, 5)]      // odd output sizes (3×5): partial last tile row and column
    [InlineData(2, 8, 5, 6, 4, 4, 4, 4, 2)]       // padding 4 (the most): the input gradient's tiles reach past the image
    [InlineData(8, 16, 9, 8, 1, 3, 3, 1, 8)]      // unequal paddings; eight input channels
    [InlineData(2, 8, 1, 1, 2, 2, 2, 2, 1)]       // 1×1 image
    [InlineData(5, 8, 30, 21, 0, 2, 0, 0, 4)]     // 28 output rows, 17 columns
    public void ForwardAndGradientsMatchTheDefinition(int inC, int outC, int h, int wd, int pt, int pb, int pl, int pr, int samples)
    {
        int oh = h + pt + pb - 4, ow = wd + pl + pr - 4, calls = 2;
        var g = new ConvGeometry(inC, h, wd, 5, 5, 1, 1, pt, pl, 1, oh, ow);
        Assert.True(Winograd.Supports5(g, outC));
        float[] x = TestInputs.Uniform(calls * samples * inC * h * wd, 51), w = TestInputs.Uniform(outC * inC * 25, 52);
        float[] bias = TestInputs.Uniform(outC, 53), dy = TestInputs.Uniform(calls * samples * outC * oh * ow, 54);
        float[] before = TestInputs.Uniform(outC * inC * 25, 55);
        var ws = new Winograd5Workspace(g, outC);
        var reference = ConvolutionReference.Stride1(x, w, bias, dy, calls * samples, inC, h, wd, outC, 5, oh, ow, pt, pl);

        var y = new float[calls * samples * outC * oh * ow];
        var dx = Enumerable.Repeat(7f, calls * samples * inC * h * wd).ToArray(); // overwritten, not added to
        var dWeight = (float[])before.Clone();
        int inSize = inC * h * wd, outSize = outC * oh * ow;
        for (int call = 0; call < calls; call++)
        {
            Winograd.Forward5(ws, w, bias, x.AsSpan(call * samples * inSize), y.AsSpan(call * samples * outSize), samples, pass: 1);
            Winograd.Backward5(ws, w, x.AsSpan(call * samples * inSize), dy.AsSpan(call * samples * outSize), samples, dx.AsSpan(call * samples * inSize), pass: 1);
        }
        Winograd.AddWeightGradient5(ws, dWeight);
        ConvolutionReference.Close(reference.Y, y, "y");
        ConvolutionReference.Close(reference.Dx, dx, "dx");
        // The weight gradient sums every tile's products in the transform domain, where F(2×2, 5×5)'s coefficients (up to
        // 5 in Bᵀ, ⅔ in G) grow the rounding with the tiles summed (126 a sample in the 28×17 case): the goldens' 1e-4.
        ConvolutionReference.Close(reference.Dw.Select((v, i) => v + before[i]).ToArray(), dWeight, "dWeight", 1e-4);
        // The sum was consumed: a second AddWeightGradient5 adds nothing.
        var again = (float[])dWeight.Clone();
        Winograd.AddWeightGradient5(ws, again);
        Assert.Equal(dWeight, again);
    }

    /// <summary>A new pass with changed weights transforms them again; the same pass number does not look (the caller's
    /// promise), pass 0 always looks.</summary>
    [Fact]
    public void ChangedWeightsAreTransformedAgain()
    {
        var g = new ConvGeometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 10, 10);
        float[] x = TestInputs.Uniform(6 * 14 * 14, 61), w = TestInputs.Uniform(16 * 6 * 25, 62), w2 = TestInputs.Uniform(16 * 6 * 25, 63);
        var ws = new Winograd5Workspace(g, 16);
        var y = new float[1600];
        Winograd.Forward5(ws, w, default, x, y, 1, pass: 1);
        Winograd.Forward5(ws, w2, default, x, y, 1, pass: 2);
        ConvolutionReference.Close(ConvolutionReference.Stride1(x, w2, null, new float[1600], 1, 6, 14, 14, 16, 5, 10, 10, 0, 0).Y, y, "y after new weights");
        Winograd.Forward5(ws, w, default, x, y, 1);
        ConvolutionReference.Close(ConvolutionReference.Stride1(x, w, null, new float[1600], 1, 6, 14, 14, 16, 5, 10, 10, 0, 0).Y, y, "y, pass 0");
    }

    [Theory]
    [InlineData(3, 3, 1, 0, 2, 8)]     // not 5×5
    [InlineData(5, 5, 2, 0, 2, 8)]     // stride 2
    [InlineData(5, 5, 1, 5, 2, 8)]     // padding 5
    [InlineData(5, 5, 1, 0, 9, 8)]     // nine input channels
    [InlineData(5, 5, 1, 0, 2, 12)]    // output channels not a multiple of 8
    public void OtherConvolutionsAreNotSupported(int kh, int kw, int stride, int pad, int inC, int outC)
    {
        var g = new ConvGeometry(inC, 12, 12, kh, kw, stride, stride, pad, pad, 1, (12 + 2 * pad - kh) / stride + 1, (12 + 2 * pad - kw) / stride + 1);
        Assert.False(Winograd.Supports5(g, outC));
        Assert.Throws<ArgumentException>(() => new Winograd5Workspace(g, outC));
    }

    [Fact]
    public void MoreThanEightSamplesAreRefused()
    {
        var g = new ConvGeometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 10, 10);
        var ws = new Winograd5Workspace(g, 16);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Winograd.Forward5(ws, new float[2400], default, new float[9 * 1176], new float[9 * 1600], 9));
        Assert.Contains("between 1 and 8", e.Message);
    }
}
