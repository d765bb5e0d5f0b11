using System;
using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tools;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

/// <summary>FGSM against ε·sign of the input gradient worked out by hand for a softmax-linear model; PGD inside the ε-ball
/// and the valid range, raising the loss, and equal to FGSM for one step of size ε; adversarial training's step against the
/// mixed objective's step by hand.</summary>
public class AdversarialTests
{
    static float[] Uniform(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextFloat()).ToArray();
    }

    [Fact]
    public void FgsmIsEpsilonTimesTheSignOfTheHandGradientClippedToTheRange()
    {
        const int batch = 3;
        using var net = new PixelDense(batch, seed: 5, workers: 1); // logits = W x + b, W [2, 64]
        var x = Uniform(batch * 64, 2);
        int[] y = { 0, 1, 1 };
        var adv = new float[x.Length];
        const float eps = 0.3f;
        Adversarial.Fgsm(net, x, y, batch, new SoftmaxCrossEntropy(), eps, adv);

        var w = net.Parameters.Slice(0, 128).ToArray();
        var b = net.Parameters.Slice(128, 2).ToArray();
        int clipped = 0;
        for (int n = 0; n < batch; n++)
        {
            double z0 = b[0], z1 = b[1];
            for (int i = 0; i < 64; i++) { z0 += w[i] * x[n * 64 + i]; z1 += w[64 + i] * x[n * 64 + i]; }
            double p0 = 1 / (1 + Math.Exp(z1 - z0)), p1 = 1 - p0;
            for (int i = 0; i < 64; i++)
            {
                // dL/dx = Σ_k W[k, i]·(p_k − [k = y]) / batch.
                double g = (w[i] * (p0 - (y[n] == 0 ? 1 : 0)) + w[64 + i] * (p1 - (y[n] == 1 ? 1 : 0))) / batch;
                Math.Abs(g).ShouldBeGreaterThan(1e-7);
                float expected = Math.Clamp(x[n * 64 + i] + eps * Math.Sign(g), 0f, 1f);
                adv[n * 64 + i].ShouldBe(expected, $"sample {n}, pixel {i}");
                if (expected is 0f or 1f) clipped++;
            }
        }
        clipped.ShouldBeGreaterThan(0); // the clip was exercised
    }

    [Fact]
    public void PgdStaysInTheBallAndRaisesTheLoss()
    {
        const int batch = 4;
        using var net = new SmoothNet(batch, seed: 3, workers: 1);
        var x = Uniform(batch * SmoothNet.InputSize, 7);
        int[] y = { 0, 1, 2, 1 };
        var loss = new SoftmaxCrossEntropy();
        var adv = new float[x.Length];
        const float eps = 0.05f;
        Adversarial.Pgd(net, x, y, batch, loss, eps, steps: 10, stepSize: 0.02f, randomStart: true, adv, seed: 9);
        for (int i = 0; i < x.Length; i++)
        {
            Math.Abs(adv[i] - x[i]).ShouldBeLessThanOrEqualTo(eps + 1e-7f);
            adv[i].ShouldBeInRange(0f, 1f);
        }
        var g = new float[batch * SmoothNet.OutputSize];
        float clean = loss.Compute(net.Forward(x, batch), y, batch, SmoothNet.OutputSize, g);
        float attacked = loss.Compute(net.Forward(adv, batch), y, batch, SmoothNet.OutputSize, g);
        attacked.ShouldBeGreaterThan(clean);

        // One step of size ε from x is FGSM.
        var pgd1 = new float[x.Length];
        var fgsm = new float[x.Length];
        Adversarial.Pgd(net, x, y, batch, loss, eps, steps: 1, stepSize: eps, randomStart: false, pgd1);
        Adversarial.Fgsm(net, x, y, batch, loss, eps, fgsm);
        pgd1.ShouldBe(fgsm);
        Should.Throw<ArgumentOutOfRangeException>(() => Adversarial.Pgd(net, x, y, batch, loss, eps, 0, 0.1f, false, pgd1)).Message.ShouldContain("steps must be >= 1");
        Should.Throw<ArgumentOutOfRangeException>(() => Adversarial.Fgsm(net, x, y, batch, loss, -1f, fgsm)).Message.ShouldContain("epsilon");
    }

    [Fact]
    public void AdversarialTrainingStepsOnTheMixedObjective()
    {
        const int count = 4;
        var data = new LabeledImages(Uniform(count * 64, 4), new[] { 0, 2, 1, 2 }, 1, 8, 8, 3);
        var loss = new SoftmaxCrossEntropy();
        Attack fgsm = (n, x, y, b, adv) => Adversarial.Fgsm(n, x, y, b, loss, 0.1f, adv);
        using var trained = new TinyConv(count, seed: 2, workers: 1);
        Adversarial.Train(trained, data, null, loss, new Sgd(0.1f), fgsm, epochs: 1, batchSize: count, cleanWeight: 0.3);

        // By hand: x' from the initial weights; gradient 0.3·∇L(x) + 0.7·∇L(x'); one SGD step. The batch's order is the
        // sampler's, so use it too (a mean does not depend on order, up to rounding).
        using var net = new TinyConv(count, seed: 2, workers: 1);
        var sampler = new BatchSampler(count, count, 1);
        var x = new float[count * 64];
        var y = new int[count];
        sampler.CopyBatch(0, data, x, y);
        var adv = new float[x.Length];
        Adversarial.Fgsm(net, x, y, count, loss, 0.1f, adv);
        var total = new float[TinyConv.ParameterCount];
        foreach (var (input, weight) in new[] { (x, 0.3f), (adv, 0.7f) })
        {
            var g = new float[count * 3];
            net.ZeroGradients();
            loss.Compute(net.Forward(input, count, training: true), y, count, 3, g);
            net.Backward(g, count);
            for (int i = 0; i < total.Length; i++) total[i] += weight * net.Gradients[i];
        }
        for (int i = 0; i < total.Length; i++)
            trained.Parameters[i].ShouldBe(net.Parameters[i] - 0.1f * total[i], 1e-5f, $"parameter {i}");
    }
}
