using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>Winograd F(2×2, 3×3) against the convolution's definition in double precision: outputs, input gradients
/// (the transposed-weight mode), every padding up to 2, odd and even sizes, partial tile rows, several samples per call,
/// output channels split in panels, and the cached weight transform following changed weights.</summary>
public class WinogradTests
{
    /// <summary>y of a stride-1 3×3 convolution by its definition (no output gradient needed).</summary>
    private static double[] Conv(float[] x, float[] w, float[]? bias, int samples, int inC, int h, int wd, int outC, int oh, int ow, int pt, int pl) =>
        ConvolutionReference.Stride1(x, w, bias, new float[samples * outC * oh * ow], samples, inC, h, wd, outC, 3, oh, ow, pt, pl).Y;

    [Theory]
    [InlineData(16, 16, 14, 14, 1, 1, 1, 1, 3, 2)]   // the sample cnn's second convolution, several samples per call
    [InlineData(3, 8, 7, 9, 0, 0, 0, 0, 2, 2)]       // valid convolution, odd sizes: partial last tile row and column
    [InlineData(5, 9, 5, 6, 2, 2, 2, 2, 1, 2)]       // padding 2 (its input gradient has padding 0), 9 channels: a partial panel
    [InlineData(4, 17, 20, 19, 1, 0, 2, 1, 2, 2)]    // unequal paddings, more than 8 tiles across a row
    [InlineData(2, 8, 1, 1, 1, 1, 1, 1, 3, 2)]       // 1×1 image
    [InlineData(16, 16, 14, 14, 1, 1, 1, 1, 3, 4)]   // F(4×4, 3×3): 14 = 4·4 − 2, the last tile row and column half outside
    [InlineData(32, 64, 14, 14, 1, 1, 1, 1, 1, 4)]   // the cnn's second convolution at batch 1
    [InlineData(6, 8, 10, 15, 1, 1, 1, 1, 2, 4)]     // four tiles a row (two tile rows per vector), an odd number of tile rows
    [InlineData(2, 8, 340, 14, 1, 1, 1, 1, 1, 4)]    // four tiles a row, too tall for the padded copy: one tile row per vector
    [InlineData(3, 8, 7, 9, 0, 0, 0, 0, 2, 4)]
    [InlineData(5, 9, 5, 6, 2, 2, 2, 2, 1, 4)]
    [InlineData(4, 17, 37, 38, 1, 0, 2, 1, 2, 4)]    // more than 8 tiles across a row (two vectors of tiles)
    [InlineData(2, 8, 1, 1, 1, 1, 1, 1, 3, 4)]
    public void ForwardAndInputGradientMatchTheDefinition(int inC, int outC, int h, int wd, int pt, int pb, int pl, int pr, int samples, int tile)
    {
        int oh = h + pt + pb - 2, ow = wd + pl + pr - 2;
        float[] x = TestInputs.Uniform(samples * inC * h * wd, 1), w = TestInputs.Uniform(outC * inC * 9, 2), bias = TestInputs.Uniform(outC, 3), dy = TestInputs.Uniform(samples * outC * oh * ow, 4);
        var g = new ConvGeometry(inC, h, wd, 3, 3, 1, 1, pt, pl, 1, oh, ow);
        Assert.True(Winograd.Supports(g));
        var ws = new WinogradWorkspace(g, outC, samples, tile);
        var y = new float[samples * outC * oh * ow];
        Winograd.Forward(ws, w, transposedWeight: false, bias, x, y, samples, 0, outC);
        ConvolutionReference.Close(Conv(x, w, bias, samples, inC, h, wd, outC, oh, ow, pt, pl), y, "y");

        var back = new ConvGeometry(outC, oh, ow, 3, 3, 1, 1, 2 - pt, 2 - pl, 1, h, wd);
        Assert.True(Winograd.Supports(back));
        var wsBack = new WinogradWorkspace(back, inC, samples, tile);
        var dx = new float[samples * inC * h * wd];
        Winograd.Forward(wsBack, w, transposedWeight: true, default, dy, dx, samples, 0, inC);
        ConvolutionReference.Close(ConvolutionReference.Stride1(x, w, null, dy, samples, inC, h, wd, outC, 3, oh, ow, pt, pl).Dx, dx, "dx");
    }

    /// <summary>The weight gradient in the forward pass's tile (F(2×2): 16 points; F(4×4): 36, A dy Aᵀ and Gᵀ dU G)
    /// against the definition: several calls summed before one AddWeightGradient, added to what dWeight held; odd sizes,
    /// both F(4×4) layouts (two tile rows per vector and one), unequal padding.</summary>
    [Theory]
    [InlineData(32, 64, 14, 14, 1, 1, 1, 1, 3, 4)]   // the sample cnn's conv2: four tiles a row, two tile rows per vector
    [InlineData(32, 64, 14, 14, 1, 1, 1, 1, 3, 2)]
    [InlineData(6, 8, 10, 15, 1, 1, 1, 1, 2, 4)]     // four tiles a row, an odd number of tile rows
    [InlineData(4, 17, 37, 38, 1, 0, 2, 1, 2, 4)]    // more than 8 tiles across a row; unequal padding
    [InlineData(3, 8, 7, 9, 0, 0, 0, 0, 2, 4)]       // valid convolution, partial last tiles
    [InlineData(5, 9, 5, 6, 2, 2, 2, 2, 1, 4)]       // padding 2
    [InlineData(5, 9, 5, 6, 2, 2, 2, 2, 1, 2)]
    public void TheWeightGradientMatchesTheDefinition(int inC, int outC, int h, int wd, int pt, int pb, int pl, int pr, int samples, int tile)
    {
        int oh = h + pt + pb - 2, ow = wd + pl + pr - 2, calls = 2;
        float[] x = TestInputs.Uniform(calls * samples * inC * h * wd, 41), dy = TestInputs.Uniform(calls * samples * outC * oh * ow, 42);
        float[] w = TestInputs.Uniform(outC * inC * 9, 43), before = TestInputs.Uniform(outC * inC * 9, 44);
        var g = new ConvGeometry(inC, h, wd, 3, 3, 1, 1, pt, pl, 1, oh, ow);
        var ws = new WinogradWorkspace(g, outC, samples, tile);
        var dWeight = (float[])before.Clone();
        for (int call = 0; call < calls; call++)
            Winograd.WeightGradient(ws, x.AsSpan(call * samples * inC * h * wd), dy.AsSpan(call * samples * outC * oh * ow), samples);
        Winograd.AddWeightGradient(ws, dWeight);
        var dw = ConvolutionReference.Stride1(x, w, null, dy, calls * samples, inC, h, wd, outC, 3, oh, ow, pt, pl).Dw;
        ConvolutionReference.Close(dw.Select((v, i) => v + before[i]).ToArray(), dWeight, "dWeight");
        // The sum was consumed: a second AddWeightGradient adds nothing.
        var again = (float[])dWeight.Clone();
        Winograd.AddWeightGradient(ws, again);
        Assert.Equal(dWeight, again);
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void OutputChannelsSplitInPanelsGiveTheSameBits(int tile)
    {
        const int inC = 6, outC = 21, h = 10, wd = 13;
        var g = new ConvGeometry(inC, h, wd, 3, 3, 1, 1, 1, 1, 1, h, wd);
        float[] x = TestInputs.Uniform(inC * h * wd, 5), w = TestInputs.Uniform(outC * inC * 9, 6), bias = TestInputs.Uniform(outC, 7);
        var whole = new float[outC * h * wd];
        Winograd.Forward(new WinogradWorkspace(g, outC, 1, tile), w, false, bias, x, whole, 1, 0, outC);
        var parts = new float[outC * h * wd];
        parts.AsSpan().Fill(float.NaN);
        var ws = new WinogradWorkspace(g, outC, 1, tile);
        foreach (var (o0, o1) in new[] { (8, 16), (0, 8), (16, 21) }) Winograd.Forward(ws, w, false, bias, x, parts, 1, o0, o1);
        for (int i = 0; i < whole.Length; i++) Assert.Equal(BitConverter.SingleToInt32Bits(whole[i]), BitConverter.SingleToInt32Bits(parts[i]));
    }

    [Fact]
    public void ARangeWritesOnlyItsChannels()
    {
        const int inC = 4, outC = 24, h = 6, wd = 7;
        var g = new ConvGeometry(inC, h, wd, 3, 3, 1, 1, 1, 1, 1, h, wd);
        float[] x = TestInputs.Uniform(inC * h * wd, 8), w = TestInputs.Uniform(outC * inC * 9, 9);
        var y = new float[outC * h * wd];
        y.AsSpan().Fill(float.NaN);
        Winograd.Forward(new WinogradWorkspace(g, outC, 1), w, false, default, x, y, 1, 8, 16);
        for (int i = 0; i < y.Length; i++)
            Assert.Equal(i >= 8 * h * wd && i < 16 * h * wd, !float.IsNaN(y[i]));
    }

    [Theory]
    [InlineData(2)]
    [InlineData(4)]
    public void TheCachedWeightTransformFollowsChangedWeightsBetweenPasses(int tile)
    {
        const int inC = 5, outC = 8, h = 6, wd = 6;
        var g = new ConvGeometry(inC, h, wd, 3, 3, 1, 1, 1, 1, 1, h, wd);
        float[] x = TestInputs.Uniform(inC * h * wd, 10), w = TestInputs.Uniform(outC * inC * 9, 11);
        var ws = new WinogradWorkspace(g, outC, 1, tile);
        var y = new float[outC * h * wd];
        Winograd.Forward(ws, w, false, default, x, y, 1, 0, outC, pass: 1);
        w[17] += 0.5f;
        Winograd.Forward(ws, w, false, default, x, y, 1, 0, outC, pass: 2);
        ConvolutionReference.Close(Conv(x, w, null, 1, inC, h, wd, outC, h, wd, 1, 1), y, "after a weight changed");
        w[0] = -w[0];
        Winograd.Forward(ws, w, false, default, x, y, 1, 0, outC); // pass 0: always compared
        ConvolutionReference.Close(Conv(x, w, null, 1, inC, h, wd, outC, h, wd, 1, 1), y, "pass 0");
    }

    [Fact]
    public void UnsupportedGeometriesAndBadArgumentsAreRefusedByName()
    {
        Assert.False(Winograd.Supports(new ConvGeometry(4, 8, 8, 3, 3, 2, 2, 1, 1, 1, 4, 4)));   // stride 2
        Assert.False(Winograd.Supports(new ConvGeometry(4, 8, 8, 5, 5, 1, 1, 2, 2, 1, 8, 8)));   // 5×5
        Assert.False(Winograd.Supports(new ConvGeometry(4, 8, 8, 3, 3, 1, 1, 3, 3, 1, 12, 12))); // padding 3
        var g = new ConvGeometry(4, 8, 8, 3, 3, 1, 1, 1, 1, 1, 8, 8);
        Assert.Contains("stride-1", Assert.Throws<ArgumentException>(() => new WinogradWorkspace(new ConvGeometry(4, 8, 8, 3, 3, 2, 2, 1, 1, 1, 4, 4), 8, 1)).Message);
        var ws = new WinogradWorkspace(g, 8, 2);
        var e = Assert.Throws<ArgumentException>(() => Winograd.Forward(ws, new float[10], false, default, new float[2 * 256], new float[2 * 512], 2, 0, 8));
        Assert.Contains("expected 288", e.Message);
        Assert.Contains("between 1 and 2", Assert.Throws<ArgumentOutOfRangeException>(() => Winograd.Forward(ws, new float[288], false, default, new float[3 * 256], new float[3 * 512], 3, 0, 8)).Message);
        Assert.Contains("multiple of 8", Assert.Throws<ArgumentOutOfRangeException>(() => Winograd.Forward(ws, new float[288], false, default, new float[256], new float[512], 1, 4, 8)).Message);
        Assert.Contains("must be 2 or 4", Assert.Throws<ArgumentOutOfRangeException>(() => new WinogradWorkspace(g, 8, 1, outputTile: 3)).Message);
    }

    /// <summary>The fused ReLU and 2×2 max pool (the <c>pool</c> output) against storing the ReLU and pooling it with
    /// <see cref="Pool.Max2x2"/>: the same bits, over both tiles, both vector layouts of F(4×4) (two tile rows per vector
    /// and one), odd output sizes (the last row or column unpooled), a channel range, several samples, and NaN, ±0 and
    /// ties in the windows.</summary>
    [Theory]
    [InlineData(32, 64, 14, 14, 1, 4)]  // the sample cnn's conv2: four tiles a row, two tile rows per vector
    [InlineData(32, 64, 14, 14, 3, 2)]
    [InlineData(3, 16, 28, 28, 2, 4)]   // seven tiles a row: one tile row per vector
    [InlineData(3, 16, 28, 28, 2, 2)]   // fourteen tiles a row: two vectors of tiles
    [InlineData(4, 8, 13, 11, 2, 4)]    // odd output: its last row and column are in no window
    [InlineData(4, 8, 13, 11, 1, 2)]
    [InlineData(5, 9, 10, 15, 2, 4)]    // four tiles a row, an odd number of tile rows; 9 channels: a partial panel
    [InlineData(2, 8, 37, 38, 1, 4)]    // more than 8 tiles across a row
    public void TheFusedPoolGivesTheBitsOfPoolingTheStoredRelu(int inC, int outC, int h, int wd, int samples, int tile)
    {
        var g = new ConvGeometry(inC, h, wd, 3, 3, 1, 1, 1, 1, 1, h, wd);
        float[] x = TestInputs.Uniform(samples * inC * h * wd, 21), w = TestInputs.Uniform(outC * inC * 9, 22), bias = TestInputs.Uniform(outC, 23);
        // A NaN input spreads to the outputs that see it; a zero weight column and zero bias for channel 1 give ties at 0.
        x[x.Length / 2 + 3] = float.NaN;
        for (int k = 0; k < inC * 9; k++) w[inC * 9 + k] = 0f;
        bias[1] = 0f;
        int ph = h / 2, pw = wd / 2, plane = h * wd;
        var ws = new WinogradWorkspace(g, outC, samples, tile);
        var relu = new float[samples * outC * plane];
        Winograd.Forward(ws, w, false, bias, x, default, samples, 0, outC, relu: relu);
        var expected = new float[samples * outC * ph * pw];
        var expectedWinners = new int[expected.Length];
        Pool.Max2x2(samples * outC, h, wd, relu, expected, expectedWinners);

        var pooled = new float[expected.Length];
        pooled.AsSpan().Fill(-1234f);
        Winograd.Forward(new WinogradWorkspace(g, outC, samples, tile), w, false, bias, x, default, samples, 0, outC, pool: pooled);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(pooled[i]), $"pooled[{i}]: {pooled[i]}, pooling the ReLU gives {expected[i]}");
        // With the winners (training): the same values, and the indices Pool.Max2x2 records.
        var winners = new int[expected.Length];
        winners.AsSpan().Fill(-1);
        pooled.AsSpan().Fill(-1234f);
        Winograd.Forward(new WinogradWorkspace(g, outC, samples, tile), w, false, bias, x, default, samples, 0, outC, pool: pooled, argmax: winners);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(pooled[i]), $"pooled[{i}] with winners: {pooled[i]}, pooling the ReLU gives {expected[i]}");
            Assert.True(expectedWinners[i] == winners[i], $"winner of window {i}: {winners[i]}, Pool.Max2x2 picks {expectedWinners[i]}");
        }
        // (Whether the NaN survives the ReLU depends on the width, as in the unfused layers: either way the same bits as they give.)

        // A channel range writes only its channels' pooled planes, and the ReLU alongside when asked.
        if (outC < 16) return;
        var part = new float[expected.Length];
        part.AsSpan().Fill(-1234f);
        var reluPart = new float[relu.Length];
        Winograd.Forward(new WinogradWorkspace(g, outC, samples, tile), w, false, bias, x, default, samples, 8, 16, relu: reluPart, pool: part);
        for (int i = 0; i < part.Length; i++)
        {
            int channel = i / (ph * pw) % outC;
            if (channel is >= 8 and < 16) Assert.Equal(BitConverter.SingleToInt32Bits(expected[i]), BitConverter.SingleToInt32Bits(part[i]));
            else Assert.Equal(-1234f, part[i]);
        }
        for (int i = 0; i < relu.Length; i++)
            if (i / plane % outC is >= 8 and < 16) Assert.Equal(BitConverter.SingleToInt32Bits(relu[i]), BitConverter.SingleToInt32Bits(reluPart[i]));
    }

    [Fact]
    public void AShortPoolOutputIsRefusedWithItsShape()
    {
        var g = new ConvGeometry(4, 8, 8, 3, 3, 1, 1, 1, 1, 1, 8, 8);
        var e = Assert.Throws<ArgumentException>(() => Winograd.Forward(new WinogradWorkspace(g, 8, 1), new float[288], false, default, new float[256], default, 1, 0, 8, pool: new float[100]));
        Assert.Contains("expected 128 (8×4×4 a sample)", e.Message);
        Assert.Contains("all empty", Assert.Throws<ArgumentException>(() => Winograd.Forward(new WinogradWorkspace(g, 8, 1), new float[288], false, default, new float[256], default, 1, 0, 8)).Message);
        Assert.Contains("argmax needs pool", Assert.Throws<ArgumentException>(() => Winograd.Forward(new WinogradWorkspace(g, 8, 1), new float[288], false, default, new float[256], new float[512], 1, 0, 8, argmax: new int[128])).Message);
        Assert.Contains("argmax has 100 ints, expected 128", Assert.Throws<ArgumentException>(() => Winograd.Forward(new WinogradWorkspace(g, 8, 1), new float[288], false, default, new float[256], default, 1, 0, 8, pool: new float[128], argmax: new int[100])).Message);
    }
}
