using System;
using NetDsl.Kernels;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>
/// The direct convolution's pooled output (<see cref="DirectConv.Forward"/> with <c>pool</c>: a ReLU and a 2×2 max pool
/// done on pairs of rows in registers) against storing the ReLU and pooling it with <see cref="Pool.Max2x2"/>: the same
/// values and winners, bit for bit, over ties (a zero filter), a NaN input, odd heights (the last row in no window),
/// partial 32-column blocks and rows of two blocks. Where the 512-bit path does not run (<see cref="DirectConv.CanPool"/>
/// false, as in CI's runs without AVX-512) the call is refused by name instead.
/// </summary>
public class DirectConvPoolKernelTests
{
    [Theory]
    [InlineData(1, 32, 28, 28, 3, 1)]   // the sample cnn's conv1
    [InlineData(3, 16, 13, 28, 5, 2)]   // RGB, 5×5, an odd height
    [InlineData(2, 8, 10, 60, 3, 1)]    // two 32-column blocks, the second partial
    [InlineData(1, 24, 9, 19, 3, 0)]    // valid convolution: 7×17, odd both ways
    public void ThePooledOutputIsTheStoredReluPooled(int inC, int outC, int h, int w, int k, int pad)
    {
        var g = new ConvGeometry(inC, h, w, k, k, 1, 1, pad, pad, 1, h + 2 * pad - k + 1, w + 2 * pad - k + 1);
        float[] x = TestInputs.Uniform(inC * h * w, 51), weight = TestInputs.Uniform(outC * inC * k * k, 52), bias = TestInputs.Uniform(outC, 53);
        x[x.Length / 3] = float.NaN;
        weight.AsSpan(inC * k * k, inC * k * k).Clear(); // channel 1: zero everywhere, every window a tie
        bias[1] = 0f;
        int ph = g.OutH / 2, pw = g.OutW / 2;
        var scratch = new float[DirectConv.ScratchSize(g)];
        var relu = new float[outC * g.OutH * g.OutW];
        DirectConv.Forward(in g, outC, weight, bias, x, default, scratch, relu);
        var expected = new float[outC * ph * pw];
        var winners = new int[expected.Length];
        Pool.Max2x2(outC, g.OutH, g.OutW, relu, expected, winners);

        var pooled = new float[expected.Length];
        var argmax = new int[expected.Length];
        if (!DirectConv.CanPool(in g, outC))
        {
            Assert.Contains("CanPool", Assert.Throws<InvalidOperationException>(() => DirectConv.Forward(in g, outC, weight, bias, x, default, scratch, pool: pooled)).Message);
            return;
        }
        DirectConv.Forward(in g, outC, weight, bias, x, default, scratch, pool: pooled, argmax: argmax);
        for (int i = 0; i < expected.Length; i++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(expected[i]) == BitConverter.SingleToInt32Bits(pooled[i]), $"pooled[{i}]: {pooled[i]}, pooling the ReLU gives {expected[i]}");
            Assert.True(winners[i] == argmax[i], $"winner of window {i}: {argmax[i]}, Pool.Max2x2 picks {winners[i]}");
        }
        Assert.Contains(pooled, float.IsNaN);
        var valuesOnly = new float[expected.Length];
        DirectConv.Forward(in g, outC, weight, bias, x, default, scratch, pool: valuesOnly);
        Assert.Equal(pooled, valuesOnly);
    }

    [Fact]
    public void PoolingWithOtherOutputsOrShortBuffersIsRefusedByName()
    {
        var g = new ConvGeometry(1, 28, 28, 3, 3, 1, 1, 1, 1, 1, 28, 28);
        if (!DirectConv.CanPool(in g, 32)) return; // refused earlier by CanPool: ThePooledOutputIsTheStoredReluPooled checks that
        var scratch = new float[DirectConv.ScratchSize(g)];
        float[] x = new float[784], w = new float[288];
        Assert.Contains("y and relu are empty", Assert.Throws<ArgumentException>(() => DirectConv.Forward(in g, 32, w, default, x, new float[32 * 784], scratch, pool: new float[32 * 196])).Message);
        Assert.Contains("expected 6272 (32×14×14)", Assert.Throws<ArgumentException>(() => DirectConv.Forward(in g, 32, w, default, x, default, scratch, pool: new float[100])).Message);
        Assert.Contains("argmax has 5 ints", Assert.Throws<ArgumentException>(() => DirectConv.Forward(in g, 32, w, default, x, default, scratch, pool: new float[6272], argmax: new int[5])).Message);
    }
}
