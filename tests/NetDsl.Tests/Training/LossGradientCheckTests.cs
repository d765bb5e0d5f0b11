using System;
using System.Linq;
using NetDsl.Tests.Infrastructure;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Each loss against an independent float64 re-implementation: the value directly, and the analytic float32
/// gradient against central differences of the float64 loss (h = 1e-6, so truncation error is ~1e-12).</summary>
public class LossGradientCheckTests
{
    const int Batch = 4, Features = 7;

    static float[] Random(int seed, float scale)
    {
        var rng = new Random(seed);
        return Enumerable.Range(0, Batch * Features).Select(_ => (float)(rng.NextDouble() * 2 - 1) * scale).ToArray();
    }

    static readonly int[] Labels = [3, 0, 6, 3];

    static float[] SoftTargets(int seed)
    {
        var t = Random(seed, 1f).Select(v => v + 1.5f).ToArray();
        for (int n = 0; n < Batch; n++)
        {
            float s = 0;
            for (int j = 0; j < Features; j++) s += t[n * Features + j];
            for (int j = 0; j < Features; j++) t[n * Features + j] /= s;
        }
        return t;
    }

    static void Check(string what, float[] x, Func<float[], float[], float> ours, Func<double[], double> reference)
    {
        var grad = new float[x.Length];
        float loss = ours(x, grad);
        var xd = x.Select(v => (double)v).ToArray();
        double want = reference(xd);
        Math.Abs(loss - want).ShouldBeLessThan(1e-5 * Math.Max(1, Math.Abs(want)), $"{what} loss {loss} vs float64 {want}");

        const double h = 1e-6;
        var numeric = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            double keep = xd[i];
            xd[i] = keep + h; double up = reference(xd);
            xd[i] = keep - h; double down = reference(xd);
            xd[i] = keep;
            numeric[i] = (float)((up - down) / (2 * h));
        }
        Close.All(numeric, grad, $"{what} gradient vs central differences");
    }

    static double LogSumExp(double[] x, int row)
    {
        double max = double.NegativeInfinity;
        for (int j = 0; j < Features; j++) max = Math.Max(max, x[row * Features + j]);
        double s = 0;
        for (int j = 0; j < Features; j++) s += Math.Exp(x[row * Features + j] - max);
        return max + Math.Log(s);
    }

    static double CrossEntropy(double[] x, int[] labels, float[]? w)
    {
        double loss = 0, ws = 0;
        for (int n = 0; n < Batch; n++)
        {
            double wy = w?[labels[n]] ?? 1;
            loss += wy * (LogSumExp(x, n) - x[n * Features + labels[n]]);
            ws += wy;
        }
        return loss / ws;
    }

    [Fact]
    public void Softmax_cross_entropy_labels() =>
        Check("ce", Random(1, 3f), (x, g) => new SoftmaxCrossEntropy().Compute(x, Labels, Batch, Features, g), x => CrossEntropy(x, Labels, null));

    [Fact]
    public void Softmax_cross_entropy_weighted_labels()
    {
        float[] w = [0.5f, 1f, 2f, 3f, 0.25f, 1f, 4f];
        Check("weighted ce", Random(2, 3f), (x, g) => new SoftmaxCrossEntropy(w).Compute(x, Labels, Batch, Features, g), x => CrossEntropy(x, Labels, w));
    }

    [Fact]
    public void Softmax_cross_entropy_large_logits() =>
        Check("ce ±100", Random(3, 100f), (x, g) => new SoftmaxCrossEntropy().Compute(x, Labels, Batch, Features, g), x => CrossEntropy(x, Labels, null));

    [Fact]
    public void Softmax_cross_entropy_soft_targets_weighted()
    {
        var t = SoftTargets(4);
        float[] w = [0.5f, 1f, 2f, 3f, 0.25f, 1f, 4f];
        Check("soft ce", Random(5, 3f), (x, g) => new SoftmaxCrossEntropy(w).Compute(x, t, Batch, Features, g), x =>
        {
            double loss = 0;
            for (int n = 0; n < Batch; n++)
                for (int j = 0; j < Features; j++)
                    loss += w[j] * t[n * Features + j] * (LogSumExp(x, n) - x[n * Features + j]);
            return loss / Batch;
        });
    }

    [Fact]
    public void Mean_and_sum_squared_error()
    {
        var t = Random(6, 1f);
        double Sse(double[] x) => x.Select((v, i) => (v - t[i]) * (v - t[i])).Sum();
        Check("mse", Random(7, 2f), (x, g) => new MeanSquaredError().Compute(x, t, Batch, Features, g), x => Sse(x) / x.Length);
        Check("sse", Random(8, 2f), (x, g) => new SumSquaredError().Compute(x, t, Batch, Features, g), Sse);
        Check("mse labels", Random(9, 2f), (x, g) => new MeanSquaredError().Compute(x, Labels, Batch, Features, g),
            x => x.Select((v, i) => Math.Pow(v - (i % Features == Labels[i / Features] ? 1 : 0), 2)).Sum() / x.Length);
    }

    [Fact]
    public void Binary_cross_entropy_with_logits()
    {
        var t = SoftTargets(10).Select(v => v * 3).ToArray();
        float[] pw = [1f, 2f, 0.5f, 3f, 1f, 1f, 0.25f];
        double Reference(double[] x, float[]? posWeight) => x.Select((v, i) =>
        {
            double s = 1 / (1 + Math.Exp(-v));
            double p = posWeight?[i % Features] ?? 1;
            return -(p * t[i] * Math.Log(s) + (1 - t[i]) * Math.Log(1 - s));
        }).Sum() / x.Length;
        Check("bce", Random(11, 4f), (x, g) => new BinaryCrossEntropyWithLogits().Compute(x, t, Batch, Features, g), x => Reference(x, null));
        Check("bce pos_weight", Random(12, 4f), (x, g) => new BinaryCrossEntropyWithLogits(pw).Compute(x, t, Batch, Features, g), x => Reference(x, pw));
    }

    [Fact]
    public void Negative_log_likelihood_through_log_softmax()
    {
        float[] w = [0.5f, 1f, 2f, 3f, 0.25f, 1f, 4f];
        foreach (var weights in new[] { null, w })
            Check(weights is null ? "nll" : "weighted nll", Random(13, 3f), (x, g) =>
            {
                var lp = new float[x.Length];
                var glp = new float[x.Length];
                NegativeLogLikelihood.LogSoftmax(x, Batch, Features, lp);
                var nll = weights is null ? new NegativeLogLikelihood() : new NegativeLogLikelihood(weights);
                float loss = nll.Compute(lp, Labels, Batch, Features, glp);
                NegativeLogLikelihood.LogSoftmaxBackward(lp, glp, Batch, Features, g);
                return loss;
            }, x => CrossEntropy(x, Labels, weights));
    }

    [Fact]
    public void Negative_log_likelihood_soft_targets_on_raw_input()
    {
        var t = SoftTargets(14);
        Check("soft nll", Random(15, 3f), (x, g) => new NegativeLogLikelihood().Compute(x, t, Batch, Features, g),
            x => -x.Select((v, i) => v * t[i]).Sum() / Batch);
    }

    [Theory]
    [InlineData(1, 1f)]
    [InlineData(2, 1f)]
    [InlineData(2, 0.5f)]
    public void Multi_margin(int p, float margin)
    {
        float[] w = [0.5f, 1f, 2f, 3f, 0.25f, 1f, 4f];
        var x0 = Random(16 + p, 1.5f);
        Check($"margin p{p}", x0, (x, g) => new MultiMarginLoss(p, margin, w).Compute(x, Labels, Batch, Features, g), x =>
        {
            double loss = 0;
            for (int n = 0; n < Batch; n++)
            {
                int y = Labels[n];
                for (int j = 0; j < Features; j++)
                {
                    if (j == y) continue;
                    double z = Math.Max(0, margin - x[n * Features + y] + x[n * Features + j]);
                    loss += w[y] * Math.Pow(z, p);
                }
            }
            return loss / Features / Batch;
        });
    }
}
