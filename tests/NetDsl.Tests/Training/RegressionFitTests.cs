using System;
using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Regression: Trainer.Fit on real-valued targets with a label-aware flip and a momentum schedule against the same
/// steps written out by hand; the linear schedule against numpy's linspace; a momentum change against the SGD formula by hand;
/// the keypoint flip against a hand case.</summary>
public class RegressionFitTests
{
    static RegressionImages Data(int count, ulong seed)
    {
        var rng = new Rng(seed);
        var x = Enumerable.Range(0, count * 36).Select(_ => rng.NextFloat()).ToArray();
        var t = Enumerable.Range(0, count * 4).Select(_ => rng.NextFloat() * 2 - 1).ToArray();
        return new RegressionImages(x, t, 1, 6, 6, 4);
    }

    [Fact]
    public void TwoStepsWithFlipsAndAMomentumScheduleEqualTheStepsByHand()
    {
        var data = Data(4, 5);
        var flip = TargetAugmentation.HorizontalFlip(1.0, mirrorAxis: 0, (0, 1)); // always: the hand steps flip every sample
        var loss = new MeanSquaredError();
        using var chunked = new PointNet(maxBatch: 1, seed: 3, workers: 1);
        var reports = Trainer.Fit(chunked, data, null, loss, new Sgd(0.05f, momentum: 0.9f, nesterov: true), new TrainingOptions
        {
            Epochs = 1, BatchSize = 2, Shuffle = false, TargetAugmentation = flip,
            MomentumSchedule = new LinearSchedule(0.9f, 0.99f, 1, ScheduleUnit.Step), // 0.9 at step 0, 0.99 at step 1
        });

        using var net = new PointNet(maxBatch: 2, seed: 3, workers: 1);
        var sgd = new Sgd(0.05f, momentum: 0.9f, nesterov: true);
        var grad = new float[2 * PointNet.OutputSize];
        double lossSum = 0;
        for (int step = 0; step < 2; step++)
        {
            var x = data.Pixels.AsSpan(step * 72, 72).ToArray();
            var t = data.Targets.AsSpan(step * 8, 8).ToArray();
            for (int n = 0; n < 2; n++)
            {
                for (int r = 0; r < 6; r++) Array.Reverse(x, n * 36 + r * 6, 6);
                var k = t.AsSpan(n * 4, 4);
                (k[0], k[1], k[2], k[3]) = (-k[2], k[3], -k[0], k[1]); // x ← −x, then keypoints 0 and 1 trade places
            }
            net.ZeroGradients();
            lossSum += loss.Compute(net.Forward(x, 2, training: true), t, 2, PointNet.OutputSize, grad) * 2.0;
            net.Backward(grad, 2);
            sgd.Momentum = step == 0 ? 0.9f : 0.99f;
            sgd.Step(net.Parameters, net.Gradients);
        }
        for (int i = 0; i < PointNet.ParameterCount; i++) chunked.Parameters[i].ShouldBe(net.Parameters[i], 1e-5f, $"parameter {i}");
        reports[0].TrainLoss.ShouldBe(lossSum / 4, 1e-5);
        double.IsNaN(reports[0].TrainAccuracy).ShouldBeTrue();
    }

    [Fact]
    public void LinearScheduleIsNumpysLinspace()
    {
        // numpy.linspace(0.03, 0.0001, 5) = [0.03, 0.022525, 0.01505, 0.007575, 0.0001]
        var s = new LinearSchedule(0.03f, 0.0001f, 4);
        double[] expected = { 0.03, 0.022525, 0.01505, 0.007575, 0.0001 };
        for (int n = 0; n < 5; n++) s.RateAt(n).ShouldBe((float)expected[n], 1e-7f);
        s.RateAt(9).ShouldBe(0.0001f);
        new LinearSchedule(0.9f, 0.999f, 2).RateAt(1).ShouldBe(0.9495f, 1e-6f);
        Should.Throw<ArgumentOutOfRangeException>(() => new LinearSchedule(0.1f, 0.2f, 0)).Message.ShouldContain("length (T)");
    }

    [Fact]
    public void ChangingMomentumBetweenStepsFollowsTheSgdFormula()
    {
        // Nesterov SGD on one parameter: b1 = g1, p −= lr·(g1 + μ1·b1); b2 = μ2·b1 + g2, p −= lr·(g2 + μ2·b2).
        var sgd = new Sgd(0.1f, momentum: 0.5f, nesterov: true);
        var p = new float[] { 1f };
        sgd.Step(p, new float[] { 1f });
        p[0].ShouldBe(1f - 0.1f * 1.5f, 1e-6f);
        sgd.Momentum = 0.9f;
        sgd.Step(p, new float[] { 2f });
        p[0].ShouldBe(1f - 0.15f - 0.1f * (2f + 0.9f * 2.9f), 1e-6f);
        Should.Throw<ArgumentOutOfRangeException>(() => sgd.Momentum = 0f).Message.ShouldContain("not to or from 0");
        Should.Throw<ArgumentOutOfRangeException>(() => new Sgd(0.1f).Momentum = 0.9f);
        Should.Throw<ArgumentException>(() => Trainer.SetMomentum(new Adam(), 0.9f)).Message.ShouldContain("needs an Sgd");
    }

    [Fact]
    public void TheKeypointFlipMirrorsAndSwaps()
    {
        var image = Enumerable.Range(0, 8).Select(i => (float)i).ToArray(); // 1×2×4
        var targets = new float[] { 1f, 0.5f, 3f, 1.5f };
        var rng = new Rng(1);
        TargetAugmentation.HorizontalFlip(1.0, null, (0, 1)).Apply(image, 1, 2, 4, targets, ref rng);
        image.ShouldBe(new float[] { 3, 2, 1, 0, 7, 6, 5, 4 });
        // x ← 4 − x: (3, 0.5), (1, 1.5); then the two keypoints trade places.
        targets.ShouldBe(new float[] { 1f, 1.5f, 3f, 0.5f });
        var unflipped = new float[] { 1f, 0.5f, 3f, 1.5f };
        TargetAugmentation.HorizontalFlip(0.0).Apply(image, 1, 2, 4, unflipped, ref rng);
        unflipped.ShouldBe(new float[] { 1f, 0.5f, 3f, 1.5f });
        Should.Throw<ArgumentOutOfRangeException>(() => TargetAugmentation.HorizontalFlip(1.0, null, (0, 2)).Apply(image, 1, 2, 4, targets, ref rng))
            .Message.ShouldContain("beyond the 2");
    }

    [Fact]
    public void TargetsOfTheWrongSizeAreRefused()
    {
        using var net = new PointNet(maxBatch: 2, seed: 3, workers: 1);
        var three = new RegressionImages(new float[72], new float[6], 1, 6, 6, 3);
        Should.Throw<ArgumentException>(() => Trainer.Fit(net, three, null, new MeanSquaredError(), new Sgd(0.1f), new TrainingOptions()))
            .Message.ShouldContain("3 targets per sample, but the network has 4 outputs");
        Should.Throw<ArgumentException>(() => new RegressionImages(new float[72], new float[7], 1, 6, 6, 4)).Message.ShouldContain("2·4 = 8 targets");
    }
}
