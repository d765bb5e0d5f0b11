using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tests.Training;
using NetDsl.Tools;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

/// <summary>Delegates to a network, then multiplies one layer's parameter gradients by a factor: a deliberately wrong backward pass.</summary>
sealed class CorruptGradients(INetwork inner, string layer, float factor) : INetwork
{
    public int InputSize => inner.InputSize;
    public int OutputSize => inner.OutputSize;
    public int ParameterCount => inner.ParameterCount;
    public int MaxBatch => inner.MaxBatch;
    public Span<float> Parameters => inner.Parameters;
    public Span<float> Gradients => inner.Gradients;
    public ReadOnlySpan<ParameterTensor> ParameterTensors => inner.ParameterTensors;
    public Span<float> Buffers => inner.Buffers;
    public ReadOnlySpan<ParameterTensor> BufferTensors => inner.BufferTensors;
    public ReadOnlySpan<LayerInfo> Layers => inner.Layers;
    public ReadOnlySpan<float> LayerOutput(int index) => inner.LayerOutput(index);
    public ReadOnlySpan<float> LayerGradient(int index) => inner.LayerGradient(index);
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false) => inner.Forward(input, batch, training);
    public void Backward(ReadOnlySpan<float> outputGradient, int batch)
    {
        inner.Backward(outputGradient, batch);
        var l = inner.Layers.ToArray().Single(x => x.Name == layer);
        foreach (ref float g in inner.Gradients.Slice(l.ParameterOffset, l.ParameterCount)) g *= factor;
    }
    public bool ComputeInputGradient { get => inner.ComputeInputGradient; set => inner.ComputeInputGradient = value; }
    public ReadOnlySpan<float> InputGradient => inner.InputGradient;
    public void ZeroGradients() => inner.ZeroGradients();
    public void Initialize(int seed) => inner.Initialize(seed);
}

public class GradientCheckToolTests
{
    static (float[] X, int[] Y) Batch(int n, int size)
    {
        var rng = new Rng(77);
        return (Enumerable.Range(0, n * size).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray(), Enumerable.Range(0, n).Select(i => i % 3).ToArray());
    }

    [Fact]
    public void CorrectNetworkReportsTinyErrorsPerLayer()
    {
        var net = new SmoothNet(4, seed: 2, workers: 1);
        var (x, y) = Batch(4, SmoothNet.InputSize);
        var before = net.Parameters.ToArray();
        var report = GradientCheck.Run(net, x, y, new SoftmaxCrossEntropy(), new GradientCheckOptions { SamplesPerTensor = 12 });
        report.Layers.Select(l => l.Layer).ShouldBe(new[] { "conv1", "dense1", "dense2" });
        report.Layers.Select(l => l.Checked).ShouldBe(new[] { 15, 17, 15 }); // 12 of each weight, all of the biases (3, 5, 3)
        report.Passed.ShouldBeTrue(report.ToString());
        report.WorstRelativeError.ShouldBeLessThan(5e-3, report.ToString()); // float32 forward passes: about 1e-3
        net.Parameters.ToArray().ShouldBe(before); // restored
    }

    [Fact]
    public void CorruptedLayerIsReportedAndOnlyIt()
    {
        var net = new CorruptGradients(new SmoothNet(4, seed: 2, workers: 1), "dense1", 1.5f);
        var (x, y) = Batch(4, SmoothNet.InputSize);
        var report = GradientCheck.Run(net, x, y, new SoftmaxCrossEntropy());
        report.Passed.ShouldBeFalse();
        var dense1 = report.Layers.Single(l => l.Layer == "dense1");
        dense1.Passed.ShouldBeFalse();
        dense1.MaxRelativeError.ShouldBe(1.0 / 3, 0.02, report.ToString()); // |1.5g − g| / 1.5|g|
        report.Layers.Where(l => l.Layer != "dense1").ShouldAllBe(l => l.Passed && l.MaxRelativeError < 1e-2);
        report.ToString().ShouldContain("dense1 (Dense): 21 checked"); // 16 of the weight, all 5 biases
        report.ToString().ShouldContain("FAILED");
    }

    [Fact]
    public void FrozenLayersAreReportedAsFrozenWithZeroGradients()
    {
        var net = new FrozenFirst(2, workers: 1);
        var (x, y) = Batch(2, FrozenFirst.InputSize);
        var report = GradientCheck.Run(net, x, y, new SoftmaxCrossEntropy());
        var conv = report.Layers.Single(l => l.Layer == "conv1");
        conv.Frozen.ShouldBeTrue();
        conv.Passed.ShouldBeTrue();
        report.Layers.Single(l => l.Layer == "dense1").Passed.ShouldBeTrue(report.ToString());
    }
}

public class ActivationStatisticsTests
{
    [Fact]
    public void HandComputedStatistics()
    {
        // PixelDense: y = W x + b with W = 0, b = (1, 0); two samples of all-ones → outputs (1, 0), (1, 0).
        var net = new PixelDense(2, workers: 1);
        net.Parameters.Clear();
        net.Parameters[128] = 1f; // dense1.bias[0]
        var x = Enumerable.Repeat(1f, 128).ToArray();
        net.Forward(x, 2, training: true);
        net.ZeroGradients();
        net.Backward(new float[] { 1, -1, 3, 0 }, 2);
        var stats = new ActivationStatistics();
        stats.Observe(net, epoch: 0);
        var s = stats.ForEpoch(0).Single();
        s.Layer.ShouldBe("dense1");
        (s.Output.Mean, s.Output.Std, s.Output.ZeroFraction).ShouldBe((0.5, 0.5, 0.5));
        s.OutputGradient.Mean.ShouldBe(0.75);
        s.OutputGradient.Std.ShouldBe(Math.Sqrt((0.0625 + 3.0625 + 5.0625 + 0.5625) / 4), 1e-12);
        s.OutputGradient.ZeroFraction.ShouldBe(0.25);
        // dW row 0 = (1 + 3)·x = 4, row 1 = −1 (64 each); db = (4, −1): 65 fours and 65 minus ones.
        var p = s.ParameterGradient!;
        (p.Count, p.Mean, p.Std, p.ZeroFraction, p.MaxAbs).ShouldBe((130L, 1.5, 2.5, 0.0, 4.0));
    }

    [Fact]
    public void TrainerHookCollectsEveryLayerEveryEpoch()
    {
        var data = ScheduleTests.RandomImages(20, 1, 8, 8, 3, 41);
        var net = new TinyConv(5, seed: 1, workers: 1);
        var stats = new ActivationStatistics(every: 2);
        Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { Epochs = 2, BatchSize = 5, OnStep = stats.Observe });
        stats.Epochs.ShouldBe(new[] { 0, 1 });
        stats.Observations(0).ShouldBe(2); // steps 0 and 2 of 0..3
        stats.Observations(1).ShouldBe(2); // steps 4 and 6
        var e = stats.ForEpoch(1);
        e.Select(l => l.Layer).ShouldBe(new[] { "conv1", "relu1", "dense1" });
        e[1].Output.ZeroFraction.ShouldBeInRange(0.01, 0.99); // ReLU zeroes some, not all
        e[1].Output.Count.ShouldBe(2 * 5 * 4 * 6 * 6);
        e[1].ParameterGradient.ShouldBeNull();
        e[0].ParameterGradient!.Count.ShouldBe(2 * 40);
        stats.Format(1).ShouldContain("relu1");
        Should.Throw<ArgumentOutOfRangeException>(() => stats.ForEpoch(5)).Message.ShouldContain("epoch 5 was not observed; observed: 0, 1");
    }
}

public class OverfitCheckTests
{
    [Fact]
    public void AWorkingNetworkMemorizesASmallSubset()
    {
        var data = ScheduleTests.RandomImages(32, 1, 8, 8, 3, 51);
        var result = OverfitCheck.Run(new TinyConv(16, seed: 1, workers: 1), data, new SoftmaxCrossEntropy(), new Adam(0.01f), samples: 16, maxSteps: 500);
        result.Passed.ShouldBeTrue(result.ToString());
        result.FinalAccuracy.ShouldBe(1.0);
        result.FinalLoss.ShouldBeLessThanOrEqualTo(0.05);
        result.InitialLoss.ShouldBeGreaterThan(0.5); // random labels: about ln 3 at the start
        result.Losses.Count.ShouldBe(result.Steps + 1);
    }

    [Fact]
    public void ANetworkThatCannotLearnFails()
    {
        var data = ScheduleTests.RandomImages(16, 1, 8, 8, 3, 52);
        var result = OverfitCheck.Run(new TinyConv(16, seed: 1, workers: 1), data, new SoftmaxCrossEntropy(), new Sgd(0f), samples: 16, maxSteps: 20);
        result.Passed.ShouldBeFalse();
        result.Steps.ShouldBe(20);
        result.FinalLoss.ShouldBe(result.InitialLoss);
        result.ToString().ShouldContain("FAILED");
        Should.Throw<ArgumentOutOfRangeException>(() => OverfitCheck.Run(new TinyConv(4), data, new SoftmaxCrossEntropy(), new Sgd(0.1f), samples: 8))
            .Message.ShouldContain("samples must be between 1 and min(data count 16, MaxBatch 4)");
    }
}
