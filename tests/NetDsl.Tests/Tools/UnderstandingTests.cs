using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tools;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

/// <summary>Understanding a trained net: activation maximization against a hand-computed step and a monotone ascent, CNN
/// codes against the convolution's definition, and the linear SVM against a separable set, a two-point problem solved by
/// hand, finite differences of its hinge objective, and the optimality of its solution.</summary>
public class UnderstandingTests
{
    private static float[] Random(int n, int seed, float scale = 1)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => (rng.NextFloat() * 2 - 1) * scale).ToArray();
    }

    [Fact]
    public void OneStepMatchesTheHandComputedUpdate()
    {
        using var net = new LinearFilterNet(1, seed: 3, workers: 1);
        var w = net.ConvWeight.ToArray(); // [2, 1, 3, 3]
        var x0 = Random(16, 5);
        const float eta = 0.5f, lambda = 0.1f;
        for (int channel = 0; channel < 2; channel++)
        {
            // a = mean over the 2×2 positions of (w_c ⋆ x + b_c): da/dx[p] = ¼ Σ over the windows holding p of w_c at p's tap.
            var g = new float[16];
            for (int oy = 0; oy < 2; oy++)
                for (int ox = 0; ox < 2; ox++)
                    for (int ky = 0; ky < 3; ky++)
                        for (int kx = 0; kx < 3; kx++) g[(oy + ky) * 4 + ox + kx] += w[channel * 9 + ky * 3 + kx] / 4;
            var result = ActivationMaximization.Run(net, "conv", channel, new ActivationMaximizationOptions
            {
                Steps = 1, StepSize = eta, NormalizeGradient = false, L2Decay = lambda, BlurEvery = 0, Start = x0,
            });
            for (int i = 0; i < 16; i++) result.Image[i].ShouldBe((1 - lambda) * (x0[i] + eta * g[i]), 1e-5f, $"channel {channel}, pixel {i}");
            // The activation is linear here: it rose by exactly the step's projection on the gradient, less the decay's pull.
            float a0 = ActivationMaximization.Activation(net, "conv", channel, x0);
            result.Activations[0].ShouldBe(a0, 1e-5f);
            result.Activations[1].ShouldBe(ActivationMaximization.Activation(net, "conv", channel, result.Image), 1e-5f);
        }
    }

    [Fact]
    public void NormalizedStepDividesTheGradientByItsRootMeanSquare()
    {
        using var net = new LinearFilterNet(1, seed: 3, workers: 1);
        var w = net.ConvWeight.ToArray();
        var x0 = Random(16, 5);
        var g = new float[16];
        for (int oy = 0; oy < 2; oy++)
            for (int ox = 0; ox < 2; ox++)
                for (int ky = 0; ky < 3; ky++)
                    for (int kx = 0; kx < 3; kx++) g[(oy + ky) * 4 + ox + kx] += w[9 + ky * 3 + kx] / 4;
        float rms = MathF.Sqrt(g.Sum(v => v * v) / 16);
        var result = ActivationMaximization.Run(net, "conv", 1, new ActivationMaximizationOptions { Steps = 1, StepSize = 0.1f, L2Decay = 0, BlurEvery = 0, Start = x0 });
        for (int i = 0; i < 16; i++) result.Image[i].ShouldBe(x0[i] + 0.1f * g[i] / rms, 1e-5f);
    }

    [Fact]
    public void BlurIsTheNormalizedOneTwoOneKernel()
    {
        var image = new float[9];
        image[4] = 1;
        ActivationMaximization.Blur(image, 1, 3, 3);
        float[] expected = [1 / 9f, 1 / 6f, 1 / 9f, 1 / 6f, 1 / 4f, 1 / 6f, 1 / 9f, 1 / 6f, 1 / 9f];
        for (int i = 0; i < 9; i++) image[i].ShouldBe(expected[i], 1e-6f);
    }

    [Fact]
    public void AscentRaisesTheFiltersActivationAtEveryStep()
    {
        using var net = new FilterNet(1, seed: 2, workers: 1);
        for (int channel = 0; channel < 3; channel++)
        {
            // pool1's channel mean is the mean of maxima of ReLUs of affine functions of x: convex in x, so a gradient step
            // can only raise it (f(x + ηg) ≥ f(x) + η‖g‖²), whatever the step size.
            var plain = ActivationMaximization.Run(net, "pool1", channel, new ActivationMaximizationOptions { Steps = 30, StepSize = 0.5f, NormalizeGradient = false, L2Decay = 0, BlurEvery = 0, Seed = 4 });
            for (int s = 1; s < plain.Activations.Length; s++)
                plain.Activations[s].ShouldBeGreaterThanOrEqualTo(plain.Activations[s - 1] - 1e-6f, $"channel {channel}, step {s}");
            plain.Activations[^1].ShouldBeGreaterThan(plain.Activations[0] + 0.1f);
            // Deeper (not convex: conv2 mixes pool1's channels with both signs) and with the regularizers (decay, blur,
            // clamping to [0, 1]), it still ends far above where it started.
            var regular = ActivationMaximization.Run(net, "conv2", channel, new ActivationMaximizationOptions { Steps = 60, StartMean = 0.5f, Min = 0, Max = 1 });
            regular.Activations[^1].ShouldBeGreaterThan(regular.Activations[0] + 0.1f, $"channel {channel}");
            regular.Image.ShouldAllBe(v => v >= 0 && v <= 1);
        }
    }

    [Fact]
    public void UnknownLayerAndChannelAreNamed()
    {
        using var net = new FilterNet(1, seed: 2, workers: 1);
        Should.Throw<ArgumentException>(() => ActivationMaximization.Run(net, "conv3", 0)).Message.ShouldContain("conv1, relu1, pool1, conv2, act2, dense1");
        Should.Throw<ArgumentOutOfRangeException>(() => ActivationMaximization.Run(net, "conv2", 6)).Message.ShouldContain("6 channels");
    }

    [Fact]
    public void CodesOfANamedLayerAreItsOutputByDefinition()
    {
        using var net = new TinyConv(2, seed: 6, workers: 1); // MaxBatch 2: five images take three forward passes
        var images = Random(5 * 64, 9);
        var codes = CnnCodes.Extract(net, images, 5, "conv1");
        codes.Length.ShouldBe(5 * 4 * 6 * 6);
        var w = net.Conv1Weight.ToArray();
        var b = net.Conv1Bias.ToArray();
        for (int n = 0; n < 5; n++)
            for (int o = 0; o < 4; o++)
                for (int y = 0; y < 6; y++)
                    for (int x = 0; x < 6; x++)
                    {
                        float sum = b[o];
                        for (int ky = 0; ky < 3; ky++)
                            for (int kx = 0; kx < 3; kx++) sum += w[o * 9 + ky * 3 + kx] * images[n * 64 + (y + ky) * 8 + x + kx];
                        codes[((n * 4 + o) * 6 + y) * 6 + x].ShouldBe(sum, 1e-5f);
                    }
        Should.Throw<ArgumentException>(() => CnnCodes.Extract(net, images, 5, "fc")).Message.ShouldContain("conv1, relu1, dense1");
    }

    [Fact]
    public void SvmSeparatesALinearlySeparableSet()
    {
        // Three clusters of radius 1 around (0, 5), (5, −3), (−5, −3): a linear classifier separates them.
        var rng = new Rng(3);
        float[][] centres = [[0, 5], [5, -3], [-5, -3]];
        int n = 150;
        var x = new float[n * 2];
        var labels = new int[n];
        for (int i = 0; i < n; i++)
        {
            labels[i] = i % 3;
            x[i * 2] = centres[labels[i]][0] + (rng.NextFloat() * 2 - 1);
            x[i * 2 + 1] = centres[labels[i]][1] + (rng.NextFloat() * 2 - 1);
        }
        var svm = LinearSvm.Train(x, labels, 2, 3);
        svm.Accuracy(x, labels).ShouldBe(1.0);
        svm.Predict([0.3f, 4.1f]).ShouldBe(0);
        svm.Predict([4.5f, -2.2f]).ShouldBe(1);
        svm.Predict([-5.6f, -3.4f]).ShouldBe(2);
    }

    [Fact]
    public void TwoPointProblemHasTheHandSolution()
    {
        // min ½(w₁² + w₂² + b²) s.t. w₁ + b ≥ 1 and w₁ − b ≥ 1: w = (1, 0), b = 0 for class 0; the mirror image for class 1.
        float[] x = [1, 0, -1, 0];
        int[] labels = [0, 1];
        var svm = LinearSvm.Train(x, labels, 2, 2, new LinearSvmOptions { C = 10, Standardize = false, Tolerance = 1e-9, MaxPasses = 1000 });
        double[] expected = [1, 0, -1, 0];
        for (int i = 0; i < 4; i++) svm.Weights[i].ShouldBe(expected[i], 1e-6);
        svm.Bias[0].ShouldBe(0, 1e-6);
        svm.Bias[1].ShouldBe(0, 1e-6);
    }

    [Fact]
    public void HingeObjectiveGradientMatchesFiniteDifferences()
    {
        const int n = 20, d = 5, k = 3;
        const double c = 0.7;
        var x = Random(n * d, 11);
        var labels = Enumerable.Range(0, n).Select(i => i * 7 % k).ToArray();
        var w = Random(k * d, 12).Select(v => (double)v).ToArray();
        var b = Random(k, 13).Select(v => (double)v).ToArray();
        var dw = new double[k * d];
        var db = new double[k];
        LinearSvm.Objective(w, b, x, labels, d, k, c, dw, db);
        // Away from the kinks (no margin within 1e-3 of 1) the objective is smooth and the central difference is exact to O(h²).
        for (int kk = 0; kk < k; kk++)
            for (int i = 0; i < n; i++)
            {
                double score = b[kk];
                for (int f = 0; f < d; f++) score += w[kk * d + f] * x[i * d + f];
                double y = labels[i] == kk ? 1 : -1;
                Math.Abs(1 - y * score).ShouldBeGreaterThan(1e-3);
            }
        const double h = 1e-6;
        var sw = new double[k * d];
        var sb = new double[k];
        double At(double[] ww, double[] bb) => LinearSvm.Objective(ww, bb, x, labels, d, k, c, sw, sb);
        for (int i = 0; i < w.Length; i++)
        {
            var plus = (double[])w.Clone(); plus[i] += h;
            var minus = (double[])w.Clone(); minus[i] -= h;
            dw[i].ShouldBe((At(plus, b) - At(minus, b)) / (2 * h), 1e-6);
        }
        for (int i = 0; i < k; i++)
        {
            var plus = (double[])b.Clone(); plus[i] += h;
            var minus = (double[])b.Clone(); minus[i] -= h;
            db[i].ShouldBe((At(w, plus) - At(w, minus)) / (2 * h), 1e-6);
        }
    }

    [Fact]
    public void DualCoordinateDescentReachesThePrimalMinimum()
    {
        // A convex objective: the solver's point must beat every small perturbation of itself.
        const int n = 60, d = 4, k = 3;
        var x = Random(n * d, 21, 2);
        var labels = Enumerable.Range(0, n).Select(i => (x[i * d] > 0 ? 1 : 0) + (x[i * d + 1] > 0.5f ? 1 : 0)).ToArray();
        var svm = LinearSvm.Train(x, labels, d, k, new LinearSvmOptions { C = 0.5, Standardize = false, Tolerance = 1e-8, MaxPasses = 5000 });
        var w = svm.Weights.ToArray();
        var b = svm.Bias.ToArray();
        var gw = new double[k * d];
        var gb = new double[k];
        double best = LinearSvm.Objective(w, b, x, labels, d, k, 0.5, gw, gb);
        var rng = new Rng(5);
        for (int t = 0; t < 50; t++)
        {
            var pw = w.Select(v => v + (rng.NextFloat() * 2 - 1) * 1e-2).ToArray();
            var pb = b.Select(v => v + (rng.NextFloat() * 2 - 1) * 1e-2).ToArray();
            LinearSvm.Objective(pw, pb, x, labels, d, k, 0.5, gw, gb).ShouldBeGreaterThanOrEqualTo(best - 1e-6);
        }
    }
}
