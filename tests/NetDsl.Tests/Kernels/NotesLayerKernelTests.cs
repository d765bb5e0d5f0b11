using System;
using System.Linq;
using NetDsl.Kernels;
using Xunit;

namespace NetDsl.Tests.Kernels;

/// <summary>The layers of the lecture notes that PyTorch has no op for (sum pooling, within-channel LRN, channel-wise
/// maxout, DropConnect), against hand-computed cases and definitions written here; the generated passes are also checked
/// by finite differences (<c>GradCheckNotesLayers</c>).</summary>
public class NotesLayerKernelTests
{
    [Fact]
    public void SumPoolAddsEachWindowAndSpreadsItsGradientBack()
    {
        // 3×3 plane 1..9, 2×2 windows, stride 1: the four window sums.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var y = new float[4];
        Pooling.SumForward(x, y, 1, 1, 3, 3, 2, 2, 2, 2, 1, 1, 0, 0);
        Assert.Equal([12f, 16f, 24f, 28f], y);
        // dy = 1 everywhere: each input gets the number of windows that read it.
        var dx = new float[9];
        Pooling.SumBackward([1, 1, 1, 1], dx, 1, 1, 3, 3, 2, 2, 2, 2, 1, 1, 0, 0, accumulate: false);
        Assert.Equal([1f, 2f, 1f, 2f, 4f, 2f, 1f, 2f, 1f], dx);
    }

    [Fact]
    public void SumPoolWithPaddingAndCeilModeCountsOnlyRealInputs()
    {
        // 3×3 plane 1..9, window 2, stride 2, padding 1: windows start at −1 and 1 (floor 2, ceil 2) and hold
        // {1}, {2,3}, {4,7}, {5,6,8,9}.
        float[] x = [1, 2, 3, 4, 5, 6, 7, 8, 9];
        var y = new float[4];
        Pooling.SumForward(x, y, 1, 1, 3, 3, 2, 2, 2, 2, 2, 2, 1, 1);
        Assert.Equal([1f, 5f, 11f, 28f], y);
        // 4×4 plane, window 3, stride 2, no padding, ceil mode: 2×2 windows, the last ones clipped to rows/columns 2..3.
        var plane = Enumerable.Range(1, 16).Select(v => (float)v).ToArray();
        var ceil = new float[4];
        Pooling.SumForward(plane, ceil, 1, 1, 4, 4, 2, 2, 3, 3, 2, 2, 0, 0);
        float Sum(int r0, int r1, int c0, int c1) { float s = 0; for (int r = r0; r <= r1; r++) for (int c = c0; c <= c1; c++) s += plane[r * 4 + c]; return s; }
        Assert.Equal([Sum(0, 2, 0, 2), Sum(0, 2, 2, 3), Sum(2, 3, 0, 2), Sum(2, 3, 2, 3)], ceil);
    }

    [Fact]
    public void SumPoolIsAveragePoolTimesTheArea()
    {
        var rng = new Rng(3);
        var x = Enumerable.Range(0, 2 * 3 * 7 * 6).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        int oh = Pooling.OutputSize(7, 3, 2, 1, false), ow = Pooling.OutputSize(6, 3, 2, 1, false);
        var sum = new float[2 * 3 * oh * ow];
        var avg = new float[sum.Length];
        Pooling.SumForward(x, sum, 2, 3, 7, 6, oh, ow, 3, 3, 2, 2, 1, 1);
        Pooling.AvgForward(x, avg, 2, 3, 7, 6, oh, ow, 3, 3, 2, 2, 1, 1, countIncludePad: true);
        for (int i = 0; i < sum.Length; i++) Assert.True(Math.Abs(sum[i] - 9 * avg[i]) <= 1e-5f, $"[{i}] sum {sum[i]} vs 9 × avg {9 * avg[i]}");
    }

    [Fact]
    public void WithinChannelLrnMatchesAHandComputedRow()
    {
        // One row [1, 2, 3], size 3 (α/size² = 9/9 = 1), β = 1, k = 1: scale = 1 + Σ of the squares of the position and its
        // neighbours in the row (rows above and below lie outside the map): 6, 15, 14.
        float[] x = [1, 2, 3];
        var y = new float[3];
        var scale = new float[3];
        Normalization.LrnWithinForward(x, y, scale, 1, 1, 1, 3, size: 3, alpha: 9, beta: 1, k: 1);
        Assert.Equal([6f, 15f, 14f], scale);
        AssertClose([1 / 6.0, 2 / 15.0, 3 / 14.0], y, 1e-6, "y");
    }

    [Fact]
    public void WithinChannelLrnMatchesTheDefinitionAndItsGradient()
    {
        const int n = 2, c = 2, h = 4, w = 5, size = 3;
        const double alpha = 1.5, beta = 0.75, k = 2;
        var rng = new Rng(5);
        var x = Enumerable.Range(0, n * c * h * w).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var r = Enumerable.Range(0, x.Length).Select(_ => rng.NextDouble() * 2 - 1).ToArray();

        // The definition, in double: each channel on its own, a size×size window centred on (i, j), zeros outside.
        double[] Define(double[] a)
        {
            var b = new double[a.Length];
            for (int q = 0; q < n * c; q++)
                for (int i = 0; i < h; i++)
                    for (int j = 0; j < w; j++)
                    {
                        double s = 0;
                        for (int di = -(size / 2); di <= (size - 1) / 2; di++)
                            for (int dj = -(size / 2); dj <= (size - 1) / 2; dj++)
                            {
                                int ii = i + di, jj = j + dj;
                                if (ii >= 0 && ii < h && jj >= 0 && jj < w) s += a[q * h * w + ii * w + jj] * a[q * h * w + ii * w + jj];
                            }
                        b[q * h * w + i * w + j] = a[q * h * w + i * w + j] / Math.Pow(k + alpha / (size * size) * s, beta);
                    }
            return b;
        }

        var y = new float[x.Length];
        var scale = new float[x.Length];
        Normalization.LrnWithinForward(x, y, scale, n, c, h, w, size, alpha, beta, k);
        AssertClose(Define(x.Select(v => (double)v).ToArray()), y, 1e-5, "forward");

        var dy = r.Select(v => (float)v).ToArray();
        var dx = new float[x.Length];
        Normalization.LrnWithinBackward(x, dy, scale, dx, n, c, h, w, size, alpha, beta, accumulate: false);
        var numeric = new double[x.Length];
        var xd = x.Select(v => (double)v).ToArray();
        for (int i = 0; i < x.Length; i++)
        {
            double keep = xd[i];
            xd[i] = keep + 1e-6; double up = Define(xd).Zip(r, (a, b) => a * b).Sum();
            xd[i] = keep - 1e-6; double down = Define(xd).Zip(r, (a, b) => a * b).Sum();
            xd[i] = keep;
            numeric[i] = (up - down) / 2e-6;
        }
        AssertClose(numeric, dx, 1e-4, "backward");
    }

    [Fact]
    public void ChannelMaxoutTakesTheMaximumOfEachGroupOfMaps()
    {
        // 4 channels of 2 positions, pieces 2: groups {0, 1} and {2, 3}.
        float[] x = [1, 5, /**/ 3, 2, /**/ 0, 7, /**/ 0, -2];
        var y = new float[4];
        var winner = new int[4];
        Activations.ChannelMaxoutForward(x, y, winner, 1, 2, 2, 2);
        Assert.Equal([3f, 5f, 0f, 7f], y);
        Assert.Equal([1, 0, 0, 0], winner); // the tie 0 = 0 goes to the first piece
        var dx = new float[8];
        Activations.ChannelMaxoutBackward([10, 20, 30, 40], winner, dx, 1, 2, 2, 2, accumulate: false);
        Assert.Equal([0f, 20f, /**/ 10f, 0f, /**/ 30f, 40f, /**/ 0f, 0f], dx);
    }

    [Fact]
    public void ChannelMaxoutRejectsBuffersThatDoNotFit()
    {
        var e = Assert.Throws<ArgumentException>(() => Activations.ChannelMaxoutForward(new float[7], new float[4], new int[4], 1, 2, 2, 2));
        Assert.Contains("the input holds 7 values (needs 1·2·2·2 = 8)", e.Message);
    }

    [Fact]
    public void DropConnectMasksTheWeightInTrainingOnlyAndMasksItsGradient()
    {
        using var net = new DropConnectNet(2, seed: 3);
        var rng = new Rng(9);
        var x = Enumerable.Range(0, 2 * DropConnectNet.InputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var weight = net.Dense1Weight.ToArray(); // [300, 4]
        const int units = 300, inputs = 4;

        // Inference: the weight as it is.
        var eval = net.Forward(x, 2).ToArray();
        for (int s = 0; s < 2; s++)
            for (int u = 0; u < units; u++)
            {
                double expected = 0;
                for (int i = 0; i < inputs; i++) expected += x[s * inputs + i] * weight[u * inputs + i];
                Assert.True(Math.Abs(eval[s * units + u] - expected) <= 1e-5, $"inference [{s}, {u}]");
            }

        // Training: one mask for the batch, each element 0 or 1/(1 − 0.5) = 2, about half of them 0.
        net.ComputeInputGradient = true;
        var train = net.Forward(x, 2, training: true).ToArray();
        var mask = net.DropoutMask(0).ToArray();
        Assert.Equal(units * inputs, mask.Length);
        Assert.All(mask, m => Assert.True(m == 0f || m == 2f, $"mask value {m}"));
        double dropped = mask.Count(m => m == 0f) / (double)mask.Length;
        Assert.InRange(dropped, 0.43, 0.57);
        for (int s = 0; s < 2; s++)
            for (int u = 0; u < units; u++)
            {
                double expected = 0;
                for (int i = 0; i < inputs; i++) expected += x[s * inputs + i] * mask[u * inputs + i] * weight[u * inputs + i];
                Assert.True(Math.Abs(train[s * units + u] - expected) <= 1e-5, $"training [{s}, {u}]");
            }

        // Backward: dW = mask ⊙ (dyᵀ · x), dx = dy · (mask ⊙ W).
        var dy = Enumerable.Range(0, 2 * units).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        net.ZeroGradients();
        net.Backward(dy, 2);
        var dWeight = net.Dense1WeightGradient.ToArray();
        for (int u = 0; u < units; u++)
            for (int i = 0; i < inputs; i++)
            {
                double expected = mask[u * inputs + i] * (dy[u] * x[i] + dy[units + u] * x[inputs + i]);
                Assert.True(Math.Abs(dWeight[u * inputs + i] - expected) <= 1e-4, $"dWeight [{u}, {i}]: {dWeight[u * inputs + i]} vs {expected}");
            }
        var dx = net.InputGradient.ToArray();
        for (int s = 0; s < 2; s++)
            for (int i = 0; i < inputs; i++)
            {
                double expected = 0;
                for (int u = 0; u < units; u++) expected += dy[s * units + u] * mask[u * inputs + i] * weight[u * inputs + i];
                Assert.True(Math.Abs(dx[s * inputs + i] - expected) <= 1e-4, $"dx [{s}, {i}]");
            }

        // The next training step draws a new mask; the same seed and step draw the same one with any worker count.
        net.Forward(x, 2, training: true);
        Assert.False(mask.SequenceEqual(net.DropoutMask(0).ToArray()), "a second training step drew the same mask");
        using var other = new DropConnectNet(2, seed: 3, workers: 1);
        other.Forward(x, 2, training: true);
        Assert.Equal(mask, other.DropoutMask(0).ToArray());
    }

    private static void AssertClose(double[] expected, float[] actual, double tolerance, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= tolerance * Math.Max(1, Math.Abs(expected[i])), $"{what}[{i}]: {actual[i]:G7}, expected {expected[i]:G7}");
    }
}

/// <summary>A dense layer with DropConnect alone, so its output is x · (mask ⊙ W)ᵀ.</summary>
[Network(4, 1, 1)]
[Dense(300, DropConnect = 0.5, Bias = false)]
public partial class DropConnectNet;
