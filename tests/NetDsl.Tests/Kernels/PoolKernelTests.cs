using System;
using NetDsl.Kernels;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>
/// The vectorized 2×2 max pool (<see cref="Pool"/>: AVX2 and SSE chunks, the last overlapping the one before, and a
/// scalar tail) against the definition written out here, bit for bit, at every width from 2 to 40 and a few wider, odd
/// heights and widths included, over inputs full of ties, signed zeros and NaNs (the cases where a vector path could pick
/// another winner than the first maximum in window order).
/// </summary>
public class PoolKernelTests
{
    public static TheoryData<int, int> Shapes()
    {
        var data = new TheoryData<int, int>();
        foreach (int h in new[] { 2, 3, 6 })
            for (int w = 2; w <= 40; w++) data.Add(h, w);
        data.Add(4, 56);
        data.Add(5, 67);
        return data;
    }

    private static float[] Input(int n, int seed)
    {
        var rng = new Random(seed);
        float[] pool = { -1f, -0f, 0f, 0.5f, 1f, 2f, float.NaN, -3f };
        var x = new float[n];
        for (int i = 0; i < n; i++) x[i] = rng.Next(10) < 8 ? pool[rng.Next(pool.Length - 2)] : pool[rng.Next(pool.Length)];
        return x;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void MaxPoolForwardAndBackwardMatchTheDefinition(int h, int w)
    {
        const int planes = 3;
        int oh = h / 2, ow = w / 2;
        var x = Input(planes * h * w, h * 100 + w);
        var y = new float[planes * oh * ow];
        var argmax = new int[planes * oh * ow];
        var values = new float[planes * oh * ow];
        Pool.Max2x2(planes, h, w, x, y, argmax);
        Pool.Max2x2(planes, h, w, x, values, default);

        var ry = new float[y.Length];
        var ra = new int[y.Length];
        for (int p = 0; p < planes; p++)
            for (int r = 0; r < oh; r++)
                for (int j = 0; j < ow; j++)
                {
                    int o = p * oh * ow + r * ow + j, top = 2 * r * w + 2 * j;
                    float best = x[p * h * w + top];
                    int at = top;
                    foreach (int i in new[] { top + 1, top + w, top + w + 1 })
                    {
                        float v = x[p * h * w + i];
                        if (v > best || float.IsNaN(v)) { best = v; at = i; }
                    }
                    ry[o] = best;
                    ra[o] = at;
                }
        for (int o = 0; o < y.Length; o++)
        {
            Assert.True(BitConverter.SingleToInt32Bits(ry[o]) == BitConverter.SingleToInt32Bits(y[o]), $"{h}×{w}: output {o} is {y[o]}, the definition gives {ry[o]}");
            Assert.True(BitConverter.SingleToInt32Bits(ry[o]) == BitConverter.SingleToInt32Bits(values[o]), $"{h}×{w}: output {o} without indices is {values[o]}, the definition gives {ry[o]}");
            Assert.True(ra[o] == argmax[o], $"{h}×{w}: winner of output {o} is {argmax[o]}, the definition gives {ra[o]}");
        }

        // Backward, plain and with the ReLU before the pool folded in (gate = the pool's output).
        var dy = Input(y.Length, h * 100 + w + 1);
        foreach (bool gated in new[] { false, true })
        {
            var dx = new float[x.Length];
            dx.AsSpan().Fill(7f); // every element must be written
            Pool.Max2x2Backward(planes, h, w, dy, argmax, gated ? y : default, dx);
            var rdx = new float[x.Length];
            for (int p = 0; p < planes; p++)
                for (int o = 0; o < oh * ow; o++)
                {
                    int k = p * oh * ow + o;
                    rdx[p * h * w + ra[k]] = gated && !(y[k] > 0f) ? 0f : 0f + dy[k];
                }
            for (int i = 0; i < dx.Length; i++)
                Assert.True(BitConverter.SingleToInt32Bits(rdx[i]) == BitConverter.SingleToInt32Bits(dx[i]), $"{h}×{w} {(gated ? "gated" : "plain")}: dx[{i}] is {dx[i]}, the definition gives {rdx[i]}");
        }
    }
}
