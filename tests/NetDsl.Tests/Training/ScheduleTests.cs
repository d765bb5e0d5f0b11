using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

public class ScheduleTests
{
    [Fact]
    public void StepDecayHalvesEveryThreeEpochs()
    {
        var s = new StepDecay(0.1f, stepSize: 3, gamma: 0.5);
        new[] { 0, 1, 2, 3, 5, 6, 9 }.Select(n => s.RateAt(n)).ShouldBe(new[] { 0.1f, 0.1f, 0.1f, 0.05f, 0.05f, 0.025f, 0.0125f });
    }

    [Fact]
    public void InverseTimeForms()
    {
        var a = new InverseTimeDecay(1f, kappa: 0.5);       // η0/(1+κn)
        a.RateAt(0).ShouldBe(1f);
        a.RateAt(2).ShouldBe(0.5f);
        a.RateAt(4).ShouldBe(1f / 3f);
        var b = new ShiftedInverseDecay(0.3f, kappa: 2);     // the notes' η0/(n+κ)
        b.RateAt(0).ShouldBe(0.15f, 1e-9f);
        b.RateAt(1).ShouldBe(0.1f, 1e-9f);
        b.RateAt(8).ShouldBe(0.03f, 1e-8f);
        b.Unit.ShouldBe(ScheduleUnit.Step); // the notes count iterations
    }

    [Fact]
    public void ExponentialDecayIsEToTheMinusKappaN()
    {
        var s = new ExponentialDecay(2f, kappa: Math.Log(2));
        s.RateAt(0).ShouldBe(2f);
        s.RateAt(3).ShouldBe(0.25f, 1e-7f);
        s.RateAt(1).ShouldBe(1f, 1e-7f);
    }

    [Fact]
    public void CosineAnnealingHitsItsClosedFormAndHoldsTheMinimum()
    {
        var s = new CosineAnnealing(1f, period: 4, minimumRate: 0.2f);
        s.RateAt(0).ShouldBe(1f);
        s.RateAt(2).ShouldBe(0.6f, 1e-7f);                                   // halfway: (1 + 0.2)/2
        s.RateAt(1).ShouldBe((float)(0.2 + 0.8 * (1 + Math.Sqrt(0.5)) / 2), 1e-7f); // cos(π/4) = √½
        s.RateAt(4).ShouldBe(0.2f);
        s.RateAt(100).ShouldBe(0.2f);
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new StepDecay(0.1f, 0)).Message.ShouldContain("stepSize must be >= 1, got 0");
        Should.Throw<ArgumentOutOfRangeException>(() => new ShiftedInverseDecay(0.1f, 0)).Message.ShouldContain("kappa must be finite and > 0, got 0");
        Should.Throw<ArgumentOutOfRangeException>(() => new ExponentialDecay(0.1f, -1)).Message.ShouldContain("kappa must be finite and >= 0, got -1");
        Should.Throw<ArgumentOutOfRangeException>(() => new InverseTimeDecay(float.NaN, 1)).Message.ShouldContain("initialRate (η0) must be finite and >= 0");
        Should.Throw<ArgumentOutOfRangeException>(() => new CosineAnnealing(0.1f, 10, 0.5f)).Message.ShouldContain("minimumRate must be between 0 and initialRate 0.1, got 0.5");
        Should.Throw<ArgumentOutOfRangeException>(() => new ConstantRate(0.1f).RateAt(-1)).Message.ShouldContain("counter must be >= 0, got -1");
    }

    internal static LabeledImages RandomImages(int count, int channels, int height, int width, int classes, ulong seed)
    {
        var rng = new Rng(seed);
        var pixels = new float[count * channels * height * width];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = rng.NextFloat();
        var labels = new int[count];
        for (int i = 0; i < count; i++) labels[i] = (int)(rng.NextUInt64() % (ulong)classes);
        return new LabeledImages(pixels, labels, channels, height, width, classes);
    }

    /// <summary>Per step: parameters and gradients just before the optimizer step (OnStep), and the rate it reported.</summary>
    internal static List<(float[] Params, float[] Grads, float Rate, int BatchSize)> Record(INetwork net, LabeledImages data, Optimizer opt, TrainingOptions options, Loss? loss = null)
    {
        var steps = new List<(float[], float[], float, int)>();
        var o = new TrainingOptions
        {
            Epochs = options.Epochs, BatchSize = options.BatchSize, Seed = options.Seed, Shuffle = options.Shuffle,
            Schedule = options.Schedule, LayerLearningRates = options.LayerLearningRates, FrozenLayers = options.FrozenLayers,
            Augmentation = options.Augmentation, LearningRateForEpoch = options.LearningRateForEpoch,
            OnStep = s => steps.Add((s.Network.Parameters.ToArray(), s.Network.Gradients.ToArray(), s.LearningRate, s.BatchSize)),
        };
        Trainer.Fit(net, data, null, loss ?? new SoftmaxCrossEntropy(), opt, o);
        return steps;
    }

    [Fact]
    public void PerStepScheduleReachesEverySgdStep()
    {
        var data = RandomImages(20, 1, 8, 8, 3, 5);
        var net = new TinyConv(8, seed: 3, workers: 1);
        var schedule = new ExponentialDecay(0.5f, 0.25, ScheduleUnit.Step);
        var steps = Record(net, data, new Sgd(99f), new TrainingOptions { Epochs = 2, BatchSize = 8, Schedule = schedule });
        steps.Count.ShouldBe(6); // ⌈20/8⌉ = 3 steps per epoch
        for (int k = 0; k < steps.Count; k++)
        {
            float rate = (float)(0.5 * Math.Exp(-0.25 * k));
            steps[k].Rate.ShouldBe(rate);
            var after = k + 1 < steps.Count ? steps[k + 1].Params : net.Parameters.ToArray();
            for (int i = 0; i < after.Length; i++)
                after[i].ShouldBe(steps[k].Params[i] - rate * steps[k].Grads[i], 1e-6f); // plain SGD: p − η_k g
        }
    }

    [Fact]
    public void PerEpochScheduleIsReportedAndApplied()
    {
        var data = RandomImages(10, 1, 8, 8, 3, 6);
        var net = new TinyConv(8, seed: 3, workers: 1);
        var reports = Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(1f),
            new TrainingOptions { Epochs = 4, BatchSize = 5, Schedule = new StepDecay(0.2f, 2, 0.1) });
        reports.Select(r => r.LearningRate).ShouldBe(new[] { 0.2f, 0.2f, (float)(0.2 * 0.1), (float)(0.2 * 0.1) });
        Should.Throw<ArgumentException>(() => Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(1f),
            new TrainingOptions { Schedule = new ConstantRate(1f), LearningRateForEpoch = _ => 1f })).Message.ShouldContain("either Schedule or LearningRateForEpoch");
    }
}
