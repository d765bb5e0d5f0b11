using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>The layer kernels (pooling, activations, normalization, maxout) against definitions written here in double
/// precision: forwards against the formulas, backwards against central finite differences of those double forwards,
/// plus hand-computed pooling cases (ceil mode, count_include_pad) and the PyTorch L2-pooling golden.</summary>
public class LayerKernelTests
{
    // ------------------------------------------------------------------ helpers

    private static float[] Random(int n, int seed, float scale = 1f)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)((rng.NextDouble() * 2 - 1) * scale);
        return v;
    }

    private static double[] D(float[] v) => v.Select(f => (double)f).ToArray();

    /// <summary>Central differences of f at x (double), one coordinate at a time.</summary>
    private static double[] NumericGradient(float[] x, Func<double[], double> f, double h)
    {
        var p = D(x);
        var g = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            double keep = p[i];
            p[i] = keep + h; double up = f(p);
            p[i] = keep - h; double down = f(p);
            p[i] = keep;
            g[i] = (up - down) / (2 * h);
        }
        return g;
    }

    private static double Dot(float[] a, double[] b)
    {
        double s = 0;
        for (int i = 0; i < a.Length; i++) s += a[i] * b[i];
        return s;
    }

    /// <summary>max|actual − expected| ≤ rel·max|expected| + abs (the goldens' rule).</summary>
    private static void Near(double[] expected, ReadOnlySpan<float> actual, string what, double rel = 1e-4, double abs = 1e-6)
    {
        Assert.True(expected.Length == actual.Length, $"{what}: length {actual.Length}, expected {expected.Length}");
        double maxRef = expected.Select(Math.Abs).DefaultIfEmpty(0).Max(), maxErr = 0;
        int worst = -1;
        for (int i = 0; i < expected.Length; i++)
        {
            double e = Math.Abs(expected[i] - actual[i]);
            if (!(e <= maxErr)) { maxErr = double.IsNaN(e) ? double.PositiveInfinity : e; worst = i; }
        }
        double tol = rel * maxRef + abs;
        Assert.True(maxErr <= tol, $"{what}: max error {maxErr:G4} at [{worst}] (ours {(worst >= 0 ? actual[worst] : 0)}, expected {(worst >= 0 ? expected[worst] : 0)}) exceeds {tol:G4}");
    }

    /// <summary>The kernel's backward with accumulate: true must add what accumulate: false writes (up to rounding:
    /// overlapping contributions are added to the existing values one at a time).</summary>
    private static void AccumulateAdds(float[] overwritten, Action<float[]> backward, int length, string what)
    {
        var start = Random(length, 99);
        var acc = (float[])start.Clone();
        backward(acc);
        Near(start.Select((v, i) => (double)v + overwritten[i]).ToArray(), acc, what + " accumulated", 1e-6, 1e-6);
    }

    // ------------------------------------------------------------------ pooling: output sizes

    [Theory]
    [InlineData(4, 3, 2, 1, false, 2)]
    [InlineData(4, 3, 2, 1, true, 3)]   // ⌈1.5⌉ + 1; the last window starts at 4 − 1 = 3 < 4: kept
    [InlineData(5, 2, 2, 1, true, 3)]   // ⌈2.5⌉ + 1 = 4, but window 3 would start at padded 6 ≥ 5 + 1: dropped
    [InlineData(5, 2, 2, 1, false, 3)]
    [InlineData(7, 2, 2, 0, false, 3)]
    [InlineData(7, 2, 2, 0, true, 4)]
    [InlineData(6, 3, 3, 1, true, 3)]
    [InlineData(6, 3, 3, 1, false, 2)]
    [InlineData(5, 2, 3, 0, false, 2)]  // stride > window
    [InlineData(5, 2, 3, 0, true, 2)]
    [InlineData(1, 1, 1, 0, true, 1)]
    public void PoolOutputSizeFollowsPyTorch(int input, int kernel, int stride, int padding, bool ceil, int expected)
        => Assert.Equal(expected, Pooling.OutputSize(input, kernel, stride, padding, ceil));

    [Fact]
    public void PoolOutputSizeMatchesTheWindowCount()
    {
        // Floor: windows that fit the padded input. Ceil: windows that start within the padded extent rounded up to a
        // stride, dropping one that starts in the right padding.
        for (int input = 1; input <= 12; input++)
            for (int kernel = 1; kernel <= 5; kernel++)
                for (int stride = 1; stride <= 4; stride++)
                    for (int pad = 0; 2 * pad <= kernel; pad++)
                    {
                        if (input + 2 * pad < kernel) continue;
                        int floor = 0, ceil = 0;
                        for (int o = 0; o < 100; o++)
                        {
                            if (o * stride + kernel <= input + 2 * pad) floor++;
                            if (o * stride <= input + 2 * pad - kernel + stride - 1 && o * stride < input + pad) ceil++;
                        }
                        Assert.Equal(floor, Pooling.OutputSize(input, kernel, stride, pad, false));
                        Assert.Equal(ceil, Pooling.OutputSize(input, kernel, stride, pad, true));
                    }
    }

    // ------------------------------------------------------------------ pooling: definitions

    public enum PoolKind { Max, Min, AvgIncludePad, AvgExcludePad, L2 }

    /// <summary>The double definition: the window's real inputs (rows oh·sH − padH …, clipped to the input).</summary>
    private static double[] PoolReference(double[] x, PoolKind kind, int planes, int inH, int inW, int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
    {
        var y = new double[planes * outH * outW];
        for (int pl = 0; pl < planes; pl++)
            for (int oh = 0; oh < outH; oh++)
                for (int ow = 0; ow < outW; ow++)
                {
                    var values = new System.Collections.Generic.List<double>();
                    int inPadded = 0;
                    for (int dh = 0; dh < kH; dh++)
                        for (int dw = 0; dw < kW; dw++)
                        {
                            int ih = oh * sH - padH + dh, iw = ow * sW - padW + dw;
                            if (ih >= -padH && ih < inH + padH && iw >= -padW && iw < inW + padW) inPadded++;
                            if (ih >= 0 && ih < inH && iw >= 0 && iw < inW) values.Add(x[(pl * inH + ih) * inW + iw]);
                        }
                    y[(pl * outH + oh) * outW + ow] = kind switch
                    {
                        PoolKind.Max => values.Max(),
                        PoolKind.Min => values.Min(),
                        PoolKind.AvgIncludePad => values.Sum() / inPadded,
                        PoolKind.AvgExcludePad => values.Sum() / values.Count,
                        // PyTorch: avg_pool2d(x²) · kH·kW, then the square root (a clipped window is rescaled)
                        _ => Math.Sqrt(values.Sum(v => v * v) / values.Count * (kH * kW)),
                    };
                }
        return y;
    }

    private static void PoolForward(PoolKind kind, float[] x, float[] y, int[] arg, int samples, int channels, int inH, int inW, int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
    {
        switch (kind)
        {
            case PoolKind.Max: Pooling.MaxForward(x, y, arg, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW); break;
            case PoolKind.Min: Pooling.MinForward(x, y, arg, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW); break;
            case PoolKind.AvgIncludePad: Pooling.AvgForward(x, y, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, countIncludePad: true); break;
            case PoolKind.AvgExcludePad: Pooling.AvgForward(x, y, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, countIncludePad: false); break;
            default: Pooling.L2Forward(x, y, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW); break;
        }
    }

    private static void PoolBackward(PoolKind kind, float[] x, float[] y, int[] arg, float[] dy, float[] dx, bool accumulate, int samples, int channels, int inH, int inW, int outH, int outW, int kH, int kW, int sH, int sW, int padH, int padW)
    {
        switch (kind)
        {
            case PoolKind.Max: Pooling.MaxBackward(dy, arg, dx, samples, channels, inH, inW, outH, outW, accumulate); break;
            case PoolKind.Min: Pooling.MinBackward(dy, arg, dx, samples, channels, inH, inW, outH, outW, accumulate); break;
            case PoolKind.AvgIncludePad: Pooling.AvgBackward(dy, dx, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, true, accumulate); break;
            case PoolKind.AvgExcludePad: Pooling.AvgBackward(dy, dx, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW, false, accumulate); break;
            default: Pooling.L2Backward(x, y, dy, dx, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, accumulate); break;
        }
    }

    [Theory]
    [InlineData(2, 3, 7, 9, 3, 3, 2, 2, 1, 1, false)]
    [InlineData(1, 2, 7, 9, 3, 2, 2, 3, 1, 1, true)]
    [InlineData(2, 1, 5, 5, 2, 2, 3, 3, 0, 0, false)]  // stride > window: inputs between windows get no gradient
    [InlineData(2, 2, 5, 7, 2, 2, 3, 3, 0, 0, true)]
    [InlineData(1, 2, 6, 8, 2, 2, 2, 2, 0, 0, false)]  // the vectorized 2×2 path
    [InlineData(3, 2, 16, 20, 2, 2, 2, 2, 0, 0, false)] // the 2×2 path with full vectors and an overlapping tail
    [InlineData(1, 2, 7, 9, 2, 2, 2, 2, 0, 0, false)]  // 2×2 on odd sizes: trailing row and column ignored
    [InlineData(1, 2, 7, 9, 2, 2, 2, 2, 0, 0, true)]   // ceil: clipped last windows
    [InlineData(2, 2, 5, 6, 3, 3, 3, 2, 1, 0, true)]
    [InlineData(3, 2, 5, 5, 2, 2, 2, 2, 1, 1, true)]   // ceil mode's dropped window
    [InlineData(1, 3, 11, 4, 4, 3, 3, 1, 2, 1, true)]
    [InlineData(1, 1, 1, 1, 1, 1, 1, 1, 0, 0, false)]
    [InlineData(2, 1, 4, 4, 3, 3, 1, 1, 1, 1, false)]  // overlapping windows: gradients add up
    public void PoolingMatchesTheDefinitions(int samples, int channels, int inH, int inW, int kH, int kW, int sH, int sW, int padH, int padW, bool ceil)
        => CheckPooling(samples, channels, inH, inW, kH, kW, sH, sW, padH, padW, ceil);

    [Fact]
    public void PoolingMatchesTheDefinitionsOnRandomShapes()
    {
        var rng = new Random(2024);
        for (int trial = 0; trial < 40; trial++)
        {
            int kH = rng.Next(1, 5), kW = rng.Next(1, 5);
            int padH = rng.Next(0, kH / 2 + 1), padW = rng.Next(0, kW / 2 + 1);
            int inH = rng.Next(Math.Max(1, kH - 2 * padH), 11), inW = rng.Next(Math.Max(1, kW - 2 * padW), 11);
            CheckPooling(rng.Next(1, 3), rng.Next(1, 3), inH, inW, kH, kW, rng.Next(1, 5), rng.Next(1, 5), padH, padW, rng.Next(2) == 1);
        }
    }

    private static void CheckPooling(int samples, int channels, int inH, int inW, int kH, int kW, int sH, int sW, int padH, int padW, bool ceil)
    {
        int outH = Pooling.OutputSize(inH, kH, sH, padH, ceil), outW = Pooling.OutputSize(inW, kW, sW, padW, ceil);
        int planes = samples * channels, inSize = planes * inH * inW, outSize = planes * outH * outW;
        var x = Random(inSize, inSize + 7);
        var dy = Random(outSize, outSize + 11);
        foreach (PoolKind kind in Enum.GetValues<PoolKind>())
        {
            if (kind == PoolKind.L2 && (padH != 0 || padW != 0)) continue; // PyTorch's LPPool2d has no padding
            string what = $"{kind} {inH}×{inW} k{kH}×{kW} s{sH}×{sW} p{padH}×{padW}{(ceil ? " ceil" : "")}";
            var y = new float[outSize];
            var arg = new int[outSize];
            PoolForward(kind, x, y, arg, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
            double[] reference = PoolReference(D(x), kind, planes, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
            if (kind is PoolKind.Max or PoolKind.Min)
                for (int i = 0; i < outSize; i++) Assert.Equal((float)reference[i], y[i]); // a selection is exact
            else Near(reference, y, what + " forward");

            var dx = Random(inSize, 5); // garbage: accumulate: false must overwrite it
            PoolBackward(kind, x, y, arg, dy, dx, false, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
            double h = kind is PoolKind.Max or PoolKind.Min ? 1e-7 : 1e-5; // piecewise linear: tiny steps stay off the kinks
            var expected = NumericGradient(x, p => Dot(dy, PoolReference(p, kind, planes, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW)), h);
            Near(expected, dx, what + " backward");
            AccumulateAdds(dx, acc => PoolBackward(kind, x, y, arg, dy, acc, true, samples, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW), inSize, what);

            if (samples > 1) // a worker's share: the last sample alone gives the same values
            {
                var yLast = new float[outSize / samples];
                var argLast = new int[outSize / samples];
                int inS = inSize / samples, outS = outSize / samples;
                PoolForward(kind, x.AsSpan(inSize - inS).ToArray(), yLast, argLast, 1, channels, inH, inW, outH, outW, kH, kW, sH, sW, padH, padW);
                Assert.Equal(y.AsSpan(outSize - outS).ToArray(), yLast);
            }
        }
    }

    // ------------------------------------------------------------------ pooling: hand-computed cases

    private static readonly float[] OneToSixteen = Enumerable.Range(1, 16).Select(i => (float)i).ToArray(); // a 4×4 plane

    [Fact]
    public void AvgPoolCeilModeCountsPaddingButNotTheOverhang()
    {
        // 4×4 plane 1…16, window 3, stride 2, padding 1, ceil: 3×3 outputs. Window row/col 2 starts at 3 and covers 3…5:
        // input row 3, padding row 4, overhang row 5 (past the padded edge 4 + 1), so it counts 2 rows with the padding.
        var y = new float[9];
        Pooling.AvgForward(OneToSixteen, y, 1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1, countIncludePad: true);
        Assert.Equal(14f / 9f, y[0]);       // rows −1…1, cols −1…1: 1+2+5+6 over 3·3
        Assert.Equal(30f / 9f, y[1]);       // cols 1…3: 2+3+4+6+7+8 over 3·3
        Assert.Equal(12f / 6f, y[2]);       // cols 3…5: 4+8 over 3·2
        Assert.Equal(99f / 9f, y[4]);       // rows 1…3, cols 1…3, all real
        Assert.Equal(16f / 4f, y[8]);       // x[3,3] = 16 over 2·2
        Pooling.AvgForward(OneToSixteen, y, 1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1, countIncludePad: false);
        Assert.Equal(14f / 4f, y[0]);
        Assert.Equal(12f / 2f, y[2]);
        Assert.Equal(99f / 9f, y[4]);
        Assert.Equal(16f, y[8]);

        // Backward, count_include_pad: dy = 1 everywhere; x[3,3] is read by windows (1,1) /9, (1,2) /6, (2,1) /6, (2,2) /4.
        var dx = new float[16];
        Pooling.AvgBackward(Enumerable.Repeat(1f, 9).ToArray(), dx, 1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1, true, false);
        Assert.Equal(1f / 9f + 1f / 6f + 1f / 6f + 1f / 4f, dx[15], 6);
        Assert.Equal(1f / 9f, dx[0], 6);    // x[0,0]: window (0,0) only
    }

    [Fact]
    public void AvgPoolCeilModeClipsTheLastWindowWithoutPadding()
    {
        // 3×3 plane 1…9, window 2, stride 2, ceil: 2×2; the divisor of a clipped window is its real size.
        var x = Enumerable.Range(1, 9).Select(i => (float)i).ToArray();
        var y = new float[4];
        Pooling.AvgForward(x, y, 1, 1, 3, 3, 2, 2, 2, 2, 2, 2, 0, 0, countIncludePad: true);
        Assert.Equal(new[] { 12f / 4, 9f / 2, 15f / 2, 9f }, y);
    }

    [Fact]
    public void MaxPoolPadsWithMinusInfinityKeepsTheFirstTieAndPassesNaN()
    {
        var y = new float[9];
        var arg = new int[9];
        Pooling.MaxForward(OneToSixteen.Select(v => -v).ToArray(), y, arg, 1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1);
        Assert.Equal(-1f, y[0]);            // padding is −∞, not 0
        Assert.Equal(0, arg[0]);
        Assert.Equal(-16f, y[8]);           // window (2,2) starts at row 3, column 3: only x[3,3] is real
        Assert.Equal(15, arg[8]);

        // Ties: the first maximum in row-major order.
        var ties = new float[] { 1, 3, 3, 2, 3, 0 };  // 2×3, windows 2×2 at columns 0 and 1: the 3s at 1, 2 and 4 tie
        var y2 = new float[2];
        var a2 = new int[2];
        Pooling.MaxForward(ties, y2, a2, 1, 1, 2, 3, 1, 2, 2, 2, 1, 1, 0, 0);
        Assert.Equal(new[] { 3f, 3f }, y2);
        Assert.Equal(new[] { 1, 1 }, a2);

        // NaN wins, and a later NaN moves the index (PyTorch's val > max || isnan(val)).
        var nan = new float[] { 1, float.NaN, 5, 2, float.NaN, 1, float.NaN, 0 }; // 2 rows of 4, window 1×4
        Pooling.MaxForward(nan, y2, a2, 1, 1, 2, 4, 2, 1, 1, 4, 1, 1, 0, 0);
        Assert.True(float.IsNaN(y2[0]) && float.IsNaN(y2[1]));
        Assert.Equal(new[] { 1, 6 }, a2);   // indices within the plane: row 1's second NaN is at 4 + 2
        Pooling.MinForward(nan, y2, a2, 1, 1, 2, 4, 2, 1, 1, 4, 1, 1, 0, 0);
        Assert.True(float.IsNaN(y2[0]) && float.IsNaN(y2[1]));

        // Min pooling pads with +∞.
        Pooling.MinForward(OneToSixteen, y, arg, 1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1);
        Assert.Equal(1f, y[0]);
        Assert.Equal(16f, y[8]);
    }

    [Fact]
    public void L2PoolCeilModeRescalesAClippedWindowAsPyTorch()
    {
        // One row 3, 4, 2; window 1×2, stride 2, ceil: [√(9 + 16), √(4 / 1 · 2)] (PyTorch: avg_pool2d(x²)·kH·kW, then √).
        var y = new float[2];
        Pooling.L2Forward(new float[] { 3, 4, 2 }, y, 1, 1, 1, 3, 1, 2, 1, 2, 1, 2);
        Assert.Equal(5f, y[0]);
        Assert.Equal(MathF.Sqrt(8f), y[1]);
        // dx = dy·x/y, times kH·kW/n = 2 for the clipped window: 1·2/√8·2 = √2.
        var dx = new float[3];
        Pooling.L2Backward(new float[] { 3, 4, 2 }, y, new float[] { 1, 1 }, dx, 1, 1, 1, 3, 1, 2, 1, 2, 1, 2, false);
        Assert.Equal(new[] { 0.6f, 0.8f }, dx.AsSpan(0, 2).ToArray());
        Assert.Equal(MathF.Sqrt(2f), dx[2], 6);
    }

    [Fact]
    public void L2PoolOfAnAllZeroWindowPassesNoGradient()
    {
        var x = new float[] { 0, 0, 1, 2 };   // 1×4, window 1×2, stride 2: norms 0 and √5
        var y = new float[2];
        Pooling.L2Forward(x, y, 1, 1, 1, 4, 1, 2, 1, 2, 1, 2);
        Assert.Equal(0f, y[0]);
        var dx = new float[] { 7, 7, 7, 7 };
        Pooling.L2Backward(x, y, new float[] { 1, 1 }, dx, 1, 1, 1, 4, 1, 2, 1, 2, 1, 2, false);
        Assert.Equal(0f, dx[0]);
        Assert.Equal(0f, dx[1]);
        Assert.Equal(1f / MathF.Sqrt(5f), dx[2], 6);
    }

    [Fact]
    public void L2PoolMatchesThePyTorchGolden()
    {
        var g = GoldenCase.Load("lppool2d_p2_k2_s2");
        Assert.Equal(2, g.Config.GetProperty("norm_type").GetInt32());
        Assert.False(g.Config.GetProperty("ceil_mode").GetBoolean());
        int k = g.Config.GetProperty("kernel_size").GetInt32(), s = g.Config.GetProperty("stride").GetInt32();
        var xT = g.Inputs["x"];
        int n = xT.Shape[0], c = xT.Shape[1], h = xT.Shape[2], w = xT.Shape[3];
        int oh = g.Outputs["y"].Shape[2], ow = g.Outputs["y"].Shape[3];
        Assert.Equal(Pooling.OutputSize(h, k, s, 0, false), oh);
        var y = new float[n * c * oh * ow];
        Pooling.L2Forward(xT.Floats, y, n, c, h, w, oh, ow, k, k, s, s);
        Close.All(g.Outputs["y"].Floats, y, "lppool2d y");
        var dx = new float[xT.Length];
        Pooling.L2Backward(xT.Floats, y, g.GradOutput["y"].Floats, dx, n, c, h, w, oh, ow, k, k, s, s, false);
        Close.All(g.Grads["x"].Floats, dx, "lppool2d dx");
    }

    [Fact]
    public void PoolingRejectsBadShapes()
    {
        var x = new float[16];
        var y = new float[9];
        var e = Assert.Throws<ArgumentException>(() => Pooling.AvgForward(x, y, 1, 1, 4, 4, 4, 4, 3, 3, 2, 2, 1, 1, true));
        Assert.Contains("outH is 4", e.Message);
        e = Assert.Throws<ArgumentException>(() => Pooling.AvgForward(x, y, 1, 1, 4, 4, 3, 3, 2, 2, 2, 2, 2, 2, true));
        Assert.Contains("at most half the window", e.Message);
        e = Assert.Throws<ArgumentException>(() => Pooling.AvgForward(x, y, 2, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1, true));
        Assert.Contains("input buffer holds 16", e.Message);
        e = Assert.Throws<ArgumentException>(() => Pooling.MaxForward(x, y, new int[4], 1, 1, 4, 4, 3, 3, 3, 3, 2, 2, 1, 1));
        Assert.Contains("argmax holds 4", e.Message);
    }

    // ------------------------------------------------------------------ global average pooling

    [Theory]
    [InlineData(2, 3, 7 * 9)]
    [InlineData(1, 5, 1)]
    [InlineData(3, 2, 40)]
    public void GlobalAvgPoolMatchesTheDefinition(int samples, int channels, int planeSize)
    {
        var x = Random(samples * channels * planeSize, 3);
        var dy = Random(samples * channels, 4);
        double[] Reference(double[] v) => Enumerable.Range(0, samples * channels).Select(p => v.Skip(p * planeSize).Take(planeSize).Sum() / planeSize).ToArray();
        var y = new float[samples * channels];
        Pooling.GlobalAvgForward(x, y, samples, channels, planeSize);
        Near(Reference(D(x)), y, "global avg forward");
        var dx = Random(x.Length, 8);
        Pooling.GlobalAvgBackward(dy, dx, samples, channels, planeSize, false);
        Near(NumericGradient(x, p => Dot(dy, Reference(p)), 1e-5), dx, "global avg backward");
        AccumulateAdds(dx, acc => Pooling.GlobalAvgBackward(dy, acc, samples, channels, planeSize, true), x.Length, "global avg");
    }

    // ------------------------------------------------------------------ elementwise activations

    [Theory]
    [InlineData(1.0f, 37)]
    [InlineData(0.3f, 64)]
    [InlineData(2.5f, 5)]
    public void EluMatchesTheDefinition(float alpha, int n)
    {
        var x = Random(n, n, 3f);
        x[0] = 0f;
        var dy = Random(n, n + 1);
        double[] Reference(double[] v) => v.Select(a => a > 0 ? a : alpha * (Math.Exp(a) - 1)).ToArray();
        var y = new float[n];
        Activations.EluForward(x, y, alpha);
        Near(Reference(D(x)), y, "elu forward");
        var dx = Random(n, 2);
        Activations.EluBackward(x, y, dy, dx, alpha, false);
        Assert.Equal(dy[0] * alpha, dx[0]); // elu'(0) = α, as PyTorch
        var expected = NumericGradient(x, p => Dot(dy, Reference(p)), 1e-6);
        expected[0] = dy[0] * alpha;        // the one-sided kink (α ≠ 1) is defined, not differentiated
        Near(expected, dx, "elu backward");
        AccumulateAdds(dx, acc => Activations.EluBackward(x, y, dy, acc, alpha, true), n, "elu");
    }

    [Theory]
    [InlineData(0.01f, 37)]
    [InlineData(0.2f, 8)]
    [InlineData(-0.5f, 3)]
    public void LeakyReluMatchesTheDefinition(float slope, int n)
    {
        var x = Random(n, n);
        x[1] = 0f;
        var dy = Random(n, n + 1);
        double[] Reference(double[] v) => v.Select(a => a > 0 ? a : slope * a).ToArray();
        var y = new float[n];
        Activations.LeakyReluForward(x, y, slope);
        for (int i = 0; i < n; i++) Assert.Equal((float)Reference(D(x))[i], y[i]);
        var dx = Random(n, 2);
        Activations.LeakyReluBackward(x, dy, dx, slope, false);
        Assert.Equal(slope * dy[1], dx[1]); // the slope at 0, as PyTorch
        var expected = NumericGradient(x, p => Dot(dy, Reference(p)), 1e-7);
        expected[1] = slope * dy[1];
        Near(expected, dx, "leaky relu backward");
        AccumulateAdds(dx, acc => Activations.LeakyReluBackward(x, dy, acc, slope, true), n, "leaky relu");
    }

    [Theory]
    [InlineData(2, 3, 20, true)]
    [InlineData(2, 3, 20, false)]
    [InlineData(3, 5, 1, true)]
    [InlineData(1, 4, 9, false)]
    public void PReluMatchesTheDefinition(int samples, int channels, int planeSize, bool perChannel)
    {
        int size = samples * channels * planeSize;
        var x = Random(size, size);
        x[0] = 0f;
        var dy = Random(size, size + 1);
        var slope = perChannel ? Random(channels, 3) : new[] { 0.25f };
        double[] Reference(double[] v, double[] a) => v.Select((e, i) => e > 0 ? e : a[a.Length == 1 ? 0 : i / planeSize % channels] * e).ToArray();
        var y = new float[size];
        Activations.PReluForward(x, y, slope, samples, channels, planeSize);
        Near(Reference(D(x), D(slope)), y, "prelu forward", 1e-7, 0);
        var dx = Random(size, 2);
        var dSlope = Random(slope.Length, 4);
        var dSlopeStart = (float[])dSlope.Clone();
        Activations.PReluBackward(x, dy, slope, dx, dSlope, samples, channels, planeSize, false);
        var expected = NumericGradient(x, p => Dot(dy, Reference(p, D(slope))), 1e-7);
        expected[0] = slope[0] * dy[0];     // alpha at 0, as PyTorch
        Near(expected, dx, "prelu dx");
        var expectedSlope = NumericGradient(slope, a => Dot(dy, Reference(D(x), a)), 1e-6);
        Near(expectedSlope.Select((g, i) => g + dSlopeStart[i]).ToArray(), dSlope, "prelu dSlope (added)");
        AccumulateAdds(dx, acc => Activations.PReluBackward(x, dy, slope, acc, new float[slope.Length], samples, channels, planeSize, true), size, "prelu");
    }

    // ------------------------------------------------------------------ softmax

    [Theory]
    [InlineData(2, 5, 1, 1f)]
    [InlineData(3, 4, 6, 1f)]
    [InlineData(1, 7, 3, 30f)]  // large logits: the maximum shift keeps e^x finite
    public void SoftmaxMatchesTheDefinition(int samples, int channels, int planeSize, float scale)
    {
        int size = samples * channels * planeSize;
        var x = Random(size, size, scale);
        var dy = Random(size, size + 1);
        double[] Reference(double[] v)
        {
            var r = new double[v.Length];
            for (int n = 0; n < samples; n++)
                for (int p = 0; p < planeSize; p++)
                {
                    int Idx(int c) => (n * channels + c) * planeSize + p;
                    double m = Enumerable.Range(0, channels).Max(c => v[Idx(c)]);
                    double z = Enumerable.Range(0, channels).Sum(c => Math.Exp(v[Idx(c)] - m));
                    for (int c = 0; c < channels; c++) r[Idx(c)] = Math.Exp(v[Idx(c)] - m) / z;
                }
            return r;
        }
        var y = new float[size];
        Activations.SoftmaxForward(x, y, samples, channels, planeSize);
        Near(Reference(D(x)), y, "softmax forward");
        var dx = Random(size, 2);
        Activations.SoftmaxBackward(y, dy, dx, samples, channels, planeSize, false);
        Near(NumericGradient(x, p => Dot(dy, Reference(p)), 1e-6 / scale), dx, "softmax backward", 1e-4, 1e-5);
        AccumulateAdds(dx, acc => Activations.SoftmaxBackward(y, dy, acc, samples, channels, planeSize, true), size, "softmax");
    }

    // ------------------------------------------------------------------ maxout

    [Theory]
    [InlineData(3, 12, 4, 2)]
    [InlineData(5, 7, 3, 3)]
    [InlineData(1, 33, 2, 5)]
    public void MaxoutMatchesTheDefinition(int rows, int inSize, int units, int pieces)
    {
        int width = units * pieces;
        var x = Random(rows * inSize, 1);
        var weight = Random(width * inSize, 2);
        var bias = Random(width, 3);
        var dy = Random(rows * units, 4);
        double[] Reference(double[] xv, double[] wv, double[] bv)
        {
            var y = new double[rows * units];
            for (int r = 0; r < rows; r++)
                for (int u = 0; u < units; u++)
                    y[r * units + u] = Enumerable.Range(0, pieces).Max(k =>
                        bv[u * pieces + k] + Enumerable.Range(0, inSize).Sum(f => wv[(u * pieces + k) * inSize + f] * xv[r * inSize + f]));
            return y;
        }
        var z = new float[rows * width];
        var yk = new float[rows * units];
        var winner = new int[rows * units];
        Activations.MaxoutForward(x, weight, bias, z, yk, winner, rows, inSize, units, pieces);
        Near(Reference(D(x), D(weight), D(bias)), yk, "maxout forward");
        for (int i = 0; i < winner.Length; i++) Assert.Equal(yk[i], z[i / units * width + i % units * pieces + winner[i]]);

        var dWeight = Random(weight.Length, 5);
        var dBias = Random(bias.Length, 6);
        float[] dWeightStart = (float[])dWeight.Clone(), dBiasStart = (float[])dBias.Clone();
        var dx = Random(x.Length, 7);
        Activations.MaxoutBackward(x, weight, dy, winner, z, dWeight, dBias, dx, rows, inSize, units, pieces, false);
        Near(NumericGradient(x, p => Dot(dy, Reference(p, D(weight), D(bias))), 1e-6), dx, "maxout dx");
        Near(NumericGradient(weight, p => Dot(dy, Reference(D(x), p, D(bias))), 1e-6).Select((g, i) => g + dWeightStart[i]).ToArray(), dWeight, "maxout dWeight (added)");
        Near(NumericGradient(bias, p => Dot(dy, Reference(D(x), D(weight), p))).Select((g, i) => g + dBiasStart[i]).ToArray(), dBias, "maxout dBias (added)");

        var dxAcc = Random(x.Length, 99);
        var sum = dxAcc.Select((v, i) => (double)v + dx[i]).ToArray();
        Activations.MaxoutBackward(x, weight, dy, winner, new float[z.Length], new float[dWeight.Length], new float[dBias.Length], dxAcc, rows, inSize, units, pieces, true);
        Near(sum, dxAcc, "maxout dx accumulated", 1e-6, 1e-6);
        var dWeightOnly = new float[dWeight.Length];
        Activations.MaxoutBackward(x, weight, dy, winner, new float[z.Length], dWeightOnly, new float[dBias.Length], Span<float>.Empty, rows, inSize, units, pieces, false);
        Near(dWeight.Select((v, i) => (double)v - dWeightStart[i]).ToArray(), dWeightOnly, "maxout without dx", 1e-6, 1e-6);
    }

    private static double[] NumericGradient(float[] x, Func<double[], double> f) => NumericGradient(x, f, 1e-6);

    // ------------------------------------------------------------------ batch normalization

    private static (double[] Y, double[] Mean, double[] Var) BatchNormReference(double[] x, double[] gamma, double[] beta, int samples, int channels, int planeSize, double eps)
    {
        var y = new double[x.Length];
        var mean = new double[channels];
        var variance = new double[channels];
        int m = samples * planeSize;
        for (int c = 0; c < channels; c++)
        {
            var values = Enumerable.Range(0, samples).SelectMany(n => Enumerable.Range(0, planeSize).Select(i => x[(n * channels + c) * planeSize + i])).ToArray();
            mean[c] = values.Average();
            variance[c] = values.Sum(v => (v - mean[c]) * (v - mean[c])) / m; // biased
            for (int n = 0; n < samples; n++)
                for (int i = 0; i < planeSize; i++)
                {
                    int at = (n * channels + c) * planeSize + i;
                    y[at] = gamma[c] * (x[at] - mean[c]) / Math.Sqrt(variance[c] + eps) + beta[c];
                }
        }
        return (y, mean, variance);
    }

    [Theory]
    [InlineData(4, 3, 25)]
    [InlineData(2, 5, 1)]    // after a dense layer
    [InlineData(3, 2, 19)]
    public void BatchNormTrainingMatchesTheDefinition(int samples, int channels, int planeSize)
    {
        int size = samples * channels * planeSize;
        const float momentum = 0.1f, eps = 1e-5f;
        var x = Random(size, 1, 2f).Select(v => v + 0.5f).ToArray();
        var gamma = Random(channels, 2).Select(v => v + 1.5f).ToArray();
        var beta = Random(channels, 3);
        var dy = Random(size, 4);
        var (yRef, meanRef, varRef) = BatchNormReference(D(x), D(gamma), D(beta), samples, channels, planeSize, eps);

        float[] mean = new float[channels], invStd = new float[channels];
        float[] runningMean = Random(channels, 5), runningVar = Random(channels, 6).Select(v => v + 2f).ToArray();
        float[] rm0 = (float[])runningMean.Clone(), rv0 = (float[])runningVar.Clone();
        Normalization.BatchNormTrainingStatistics(x, samples, channels, planeSize, momentum, eps, mean, invStd, runningMean, runningVar);
        int m = samples * planeSize;
        Near(meanRef, mean, "batch mean");
        Near(varRef.Select(v => 1 / Math.Sqrt(v + eps)).ToArray(), invStd, "batch invStd");
        Near(meanRef.Select((v, c) => (1 - momentum) * rm0[c] + momentum * v).ToArray(), runningMean, "running mean");
        Near(varRef.Select((v, c) => (1 - momentum) * rv0[c] + momentum * v * m / (m - 1)).ToArray(), runningVar, "running var (unbiased)");

        var y = new float[size];
        var xhat = new float[size];
        Normalization.BatchNormForward(x, y, xhat, mean, invStd, gamma, beta, samples, channels, planeSize);
        Near(yRef, y, "bn forward");

        float[] sumDy = new float[channels], sumDyXhat = new float[channels];
        float[] dGamma = Random(channels, 7), dBeta = Random(channels, 8);
        float[] dGamma0 = (float[])dGamma.Clone(), dBeta0 = (float[])dBeta.Clone();
        Normalization.BatchNormBackwardReduce(dy, xhat, samples, channels, planeSize, sumDy, sumDyXhat, dGamma, dBeta);
        var dx = Random(size, 9);
        Normalization.BatchNormBackward(dy, xhat, gamma, invStd, sumDy, sumDyXhat, dx, samples, channels, planeSize, samples, true, false);
        Near(NumericGradient(x, p => Dot(dy, BatchNormReference(p, D(gamma), D(beta), samples, channels, planeSize, eps).Y), 1e-5), dx, "bn dx (through the batch statistics)");
        Near(NumericGradient(gamma, g => Dot(dy, BatchNormReference(D(x), g, D(beta), samples, channels, planeSize, eps).Y), 1e-5).Select((g, c) => g + dGamma0[c]).ToArray(), dGamma, "bn dGamma (added)");
        Near(NumericGradient(beta, b => Dot(dy, BatchNormReference(D(x), D(gamma), b, samples, channels, planeSize, eps).Y), 1e-5).Select((g, c) => g + dBeta0[c]).ToArray(), dBeta, "bn dBeta (added)");
        AccumulateAdds(dx, acc => Normalization.BatchNormBackward(dy, xhat, gamma, invStd, sumDy, sumDyXhat, acc, samples, channels, planeSize, samples, true, true), size, "bn");

        // A worker's share (the last sample) with the whole batch's size gives the same dx.
        int per = channels * planeSize;
        var dxLast = new float[per];
        Normalization.BatchNormBackward(dy.AsSpan(size - per), xhat.AsSpan(size - per), gamma, invStd, sumDy, sumDyXhat, dxLast, 1, channels, planeSize, samples, true, false);
        Assert.Equal(dx.AsSpan(size - per).ToArray(), dxLast);
    }

    [Fact]
    public void BatchNormEvalUsesTheRunningStatistics()
    {
        const int samples = 2, channels = 3, planeSize = 10;
        int size = samples * channels * planeSize;
        const float eps = 1e-2f;
        var x = Random(size, 1, 2f);
        float[] gamma = Random(channels, 2), beta = Random(channels, 3), dy = Random(size, 4);
        float[] runningMean = Random(channels, 5), runningVar = Random(channels, 6).Select(v => v + 1.5f).ToArray();
        double[] Reference(double[] v) => v.Select((e, i) => { int c = i / planeSize % channels; return gamma[c] * (e - runningMean[c]) / Math.Sqrt(runningVar[c] + (double)eps) + beta[c]; }).ToArray();
        float[] mean = new float[channels], invStd = new float[channels];
        Normalization.BatchNormEvalStatistics(runningMean, runningVar, eps, mean, invStd);
        var y = new float[size];
        var xhat = new float[size];
        Normalization.BatchNormForward(x, y, xhat, mean, invStd, gamma, beta, samples, channels, planeSize);
        Near(Reference(D(x)), y, "bn eval forward");
        var dx = new float[size];
        Normalization.BatchNormBackward(dy, xhat, gamma, invStd, new float[channels], new float[channels], dx, samples, channels, planeSize, samples, false, false);
        Near(NumericGradient(x, p => Dot(dy, Reference(p)), 1e-4), dx, "bn eval dx");
    }

    [Fact]
    public void BatchNormTrainingNeedsTwoValuesPerChannel()
    {
        var c = new float[2];
        var e = Assert.Throws<InvalidOperationException>(() => Normalization.BatchNormTrainingStatistics(new float[2], 1, 2, 1, 0.1f, 1e-5f, c, c, c, c));
        Assert.Contains("more than one value per channel", e.Message);
    }

    // ------------------------------------------------------------------ local response normalization

    [Theory]
    [InlineData(2, 7, 6, 5, 1e-4, 0.75, 2.0)]
    [InlineData(1, 6, 5, 4, 0.5, 0.6, 1.0)]   // even size: the window is c−2 … c+1
    [InlineData(2, 3, 4, 1, 0.3, 1.2, 1.5)]
    [InlineData(1, 3, 1, 7, 2.0, 0.75, 1.0)]  // window wider than the channels
    public void LrnMatchesTheDefinition(int samples, int channels, int planeSize, int lrnSize, double alpha, double beta, double k)
    {
        int total = samples * channels * planeSize;
        var x = Random(total, total, 2f);
        var dy = Random(total, total + 1);
        double[] Reference(double[] v)
        {
            var r = new double[v.Length];
            for (int n = 0; n < samples; n++)
                for (int c = 0; c < channels; c++)
                    for (int p = 0; p < planeSize; p++)
                    {
                        double sum = 0;
                        for (int j = c - lrnSize / 2; j <= c + (lrnSize - 1) / 2; j++)
                            if (j >= 0 && j < channels) sum += v[(n * channels + j) * planeSize + p] * v[(n * channels + j) * planeSize + p];
                        int at = (n * channels + c) * planeSize + p;
                        r[at] = v[at] / Math.Pow(k + alpha / lrnSize * sum, beta);
                    }
            return r;
        }
        var y = new float[total];
        var scale = new float[total];
        Normalization.LrnForward(x, y, scale, samples, channels, planeSize, lrnSize, alpha, beta, k);
        Near(Reference(D(x)), y, "lrn forward");
        var dx = Random(total, 3);
        Normalization.LrnBackward(x, dy, scale, dx, samples, channels, planeSize, lrnSize, alpha, beta, false);
        Near(NumericGradient(x, p => Dot(dy, Reference(p)), 1e-5), dx, "lrn backward");
        AccumulateAdds(dx, acc => Normalization.LrnBackward(x, dy, scale, acc, samples, channels, planeSize, lrnSize, alpha, beta, true), total, "lrn");
    }
}
