using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Per-pixel cross-entropy beyond its PyTorch golden (loss_ce_perpixel, in LossGoldenTests): against the
/// per-sample cross-entropy on 1×1 maps, one-hot soft targets, finite differences, and its bad-input errors.</summary>
public class PixelwiseLossTests
{
    private static float[] Random(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => (float)(rng.NextDouble() * 4 - 2)).ToArray();
    }

    [Fact]
    public void OnOneByOneMapsItIsTheOrdinaryCrossEntropy()
    {
        const int batch = 5, classes = 4;
        var x = Random(batch * classes, 1);
        int[] labels = { 0, 3, 1, 1, 2 };
        float[] weights = { 0.5f, 2f, 1f, 3f };
        var g1 = new float[x.Length];
        var g2 = new float[x.Length];
        float a = new PixelwiseSoftmaxCrossEntropy(classes, weights).Compute(x, labels, batch, classes, g1);
        float b = new SoftmaxCrossEntropy(weights).Compute(x, labels, batch, classes, g2);
        a.ShouldBe(b, 1e-6f);
        for (int i = 0; i < g1.Length; i++) g1[i].ShouldBe(g2[i], 1e-7f);
    }

    [Fact]
    public void OneHotSoftTargetsEqualLabels()
    {
        const int batch = 2, classes = 3, pixels = 6;
        var x = Random(batch * classes * pixels, 2);
        var labels = Enumerable.Range(0, batch * pixels).Select(i => (i * 7 + 1) % classes).ToArray();
        var onehot = new float[x.Length];
        for (int n = 0; n < batch; n++) for (int p = 0; p < pixels; p++) onehot[n * classes * pixels + labels[n * pixels + p] * pixels + p] = 1f;
        var loss = new PixelwiseSoftmaxCrossEntropy(classes);
        var g1 = new float[x.Length];
        var g2 = new float[x.Length];
        float a = loss.Compute(x, labels, batch, classes * pixels, g1);
        float b = loss.Compute(x, onehot, batch, classes * pixels, g2);
        a.ShouldBe(b, 1e-5f);
        for (int i = 0; i < g1.Length; i++) g1[i].ShouldBe(g2[i], 1e-6f);
    }

    [Fact]
    public void GradientMatchesFiniteDifferences()
    {
        const int batch = 2, classes = 3, pixels = 4;
        var x = Random(batch * classes * pixels, 3);
        var labels = new[] { 0, 1, 2, 1, 2, 2, 0, 1 };
        var loss = new PixelwiseSoftmaxCrossEntropy(classes, new[] { 1f, 0.5f, 2f });
        var g = new float[x.Length];
        loss.Compute(x, labels, batch, classes * pixels, g);
        var scratch = new float[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            float keep = x[i];
            const float h = 1e-2f;
            x[i] = keep + h; double up = loss.Compute(x, labels, batch, classes * pixels, scratch);
            x[i] = keep - h; double down = loss.Compute(x, labels, batch, classes * pixels, scratch);
            x[i] = keep;
            ((up - down) / (2 * h)).ShouldBe(g[i], 2e-3, $"element {i}");
        }
    }

    [Fact]
    public void BadInputsAreNamed()
    {
        var loss = new PixelwiseSoftmaxCrossEntropy(3);
        var g = new float[12];
        Should.Throw<ArgumentException>(() => loss.Compute(new float[12], new int[3], 1, 12, g)).Message.ShouldContain("expected one per pixel: batch·H·W = 1·4 = 4");
        Should.Throw<ArgumentOutOfRangeException>(() => loss.Compute(new float[12], new[] { 0, 1, 3, 0 }, 1, 12, g)).Message.ShouldContain("label 3 of pixel 2 of sample 0 is out of range for 3 classes");
        Should.Throw<ArgumentException>(() => loss.Compute(new float[10], new int[5], 1, 10, new float[10])).Message.ShouldContain("not a multiple of the 3 classes");
        Should.Throw<ArgumentOutOfRangeException>(() => new PixelwiseSoftmaxCrossEntropy(1));
    }
}
