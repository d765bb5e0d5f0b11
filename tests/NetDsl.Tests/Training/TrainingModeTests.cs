using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Data;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

public class TrainingModeTests
{
    /// <summary>One plain full-batch step computed directly: forward all samples at once, mean loss gradient, SGD.</summary>
    static float[] DirectFullBatchStep(LabeledImages data, Loss loss, float lr)
    {
        var net = new TinyConv(data.Count, seed: 11, workers: 1);
        var grad = new float[data.Count * 3];
        loss.Compute(net.Forward(data.Pixels, data.Count, training: true), data.Labels, data.Count, 3, grad);
        net.ZeroGradients();
        net.Backward(grad, data.Count);
        new Sgd(lr).Step(net.Parameters, net.Gradients);
        return net.Parameters.ToArray();
    }

    public static TheoryData<string> Losses() => new() { "ce", "weighted-ce", "mse", "sse" };

    static Loss Make(string name) => name switch
    {
        "ce" => new SoftmaxCrossEntropy(),
        "weighted-ce" => new SoftmaxCrossEntropy([0.5f, 2f, 1.25f]),
        "mse" => new MeanSquaredError(),
        _ => new SumSquaredError(),
    };

    [Theory]
    [MemberData(nameof(Losses))]
    public void FullBatchLargerThanMaxBatchAccumulatesTheExactMeanGradient(string lossName)
    {
        var data = ScheduleTests.RandomImages(11, 1, 8, 8, 3, 12);
        var expected = DirectFullBatchStep(data, Make(lossName), 0.5f);
        var net = new TinyConv(4, seed: 11, workers: 1); // chunks of 4, 4, 3
        var steps = ScheduleTests.Record(net, data, new Sgd(0.5f), new TrainingOptions { Epochs = 1, BatchSize = TrainingOptions.FullBatch, Shuffle = false }, Make(lossName));
        steps.Count.ShouldBe(1);
        steps[0].BatchSize.ShouldBe(11);
        var actual = net.Parameters.ToArray();
        for (int i = 0; i < actual.Length; i++) actual[i].ShouldBe(expected[i], 1e-5f, $"{lossName}: parameter {i}");
        actual.ShouldNotBe(steps[0].Params); // it did move
    }

    [Fact]
    public void StochasticModeTakesOneStepPerSampleInOrder()
    {
        var data = ScheduleTests.RandomImages(6, 1, 8, 8, 3, 13);
        var net = new TinyConv(4, seed: 2, workers: 1);
        var steps = ScheduleTests.Record(net, data, new Sgd(0.1f), new TrainingOptions { Epochs = 1, BatchSize = 1, Shuffle = false });
        steps.Count.ShouldBe(6);
        steps.ShouldAllBe(s => s.BatchSize == 1);
        // The same six updates by hand with TrainStep.
        var reference = new TinyConv(4, seed: 2, workers: 1);
        var sgd = new Sgd(0.1f);
        for (int i = 0; i < 6; i++) reference.TrainStep(data.Pixels.AsSpan(i * 64, 64), data.Labels.AsSpan(i, 1), new SoftmaxCrossEntropy(), sgd);
        net.Parameters.ToArray().ShouldBe(reference.Parameters.ToArray());
    }

    [Fact]
    public void MiniBatchModeTakesCeilingOfCountOverBatchSteps()
    {
        var data = ScheduleTests.RandomImages(10, 1, 8, 8, 3, 14);
        ScheduleTests.Record(new TinyConv(8, workers: 1), data, new Sgd(0.1f), new TrainingOptions { Epochs = 2, BatchSize = 4 })
            .Select(s => s.BatchSize).ShouldBe(new[] { 4, 4, 2, 4, 4, 2 });
        // Mini-batches above MaxBatch are accumulated too: batch 7 on MaxBatch 3.
        ScheduleTests.Record(new TinyConv(3, workers: 1), data, new Sgd(0.1f), new TrainingOptions { Epochs = 1, BatchSize = 7 })
            .Select(s => s.BatchSize).ShouldBe(new[] { 7, 3 });
    }
}

/// <summary>A stand-in network whose output for a sample is a fixed row, chosen by the sample's single input value.</summary>
sealed class TableNetwork(float[][] rows) : INetwork
{
    readonly float[] _out = new float[8 * rows[0].Length];
    public int InputSize => 1;
    public int OutputSize => rows[0].Length;
    public int ParameterCount => 0;
    public int MaxBatch => 8;
    public Span<float> Parameters => Span<float>.Empty;
    public Span<float> Gradients => Span<float>.Empty;
    public ReadOnlySpan<ParameterTensor> ParameterTensors => ReadOnlySpan<ParameterTensor>.Empty;
    public Span<float> Buffers => Span<float>.Empty;
    public ReadOnlySpan<ParameterTensor> BufferTensors => ReadOnlySpan<ParameterTensor>.Empty;
    public ReadOnlySpan<LayerInfo> Layers => ReadOnlySpan<LayerInfo>.Empty;
    public ReadOnlySpan<float> LayerOutput(int index) => throw new NotSupportedException();
    public ReadOnlySpan<float> LayerGradient(int index) => throw new NotSupportedException();
    public ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false)
    {
        for (int n = 0; n < batch; n++) rows[(int)input[n]].CopyTo(_out, n * OutputSize);
        return _out.AsSpan(0, batch * OutputSize);
    }
    public void Backward(ReadOnlySpan<float> outputGradient, int batch) => throw new NotSupportedException();
    public bool ComputeInputGradient { get; set; }
    public ReadOnlySpan<float> InputGradient => throw new NotSupportedException();
    public void ZeroGradients() { }
    public void Initialize(int seed) { }
}

public class EnsembleTests
{
    // Three samples, three classes, labels 0, 1, 2.
    static readonly LabeledImages Data = new([0f, 1f, 2f], [0, 1, 2], 1, 1, 1, 3);

    // Member A: sample 0 → class 0 (barely), sample 1 → class 0 (wrong, very sure), sample 2 → class 2.
    static readonly TableNetwork A = new([[1f, 0.9f, 0f], [5f, 0f, 0f], [0f, 0f, 1f]]);
    // Member B: sample 0 → class 1 (wrong, sure), sample 1 → class 1 (barely), sample 2 → class 0 (wrong, barely).
    static readonly TableNetwork B = new([[0f, 3f, 0f], [0f, 0.1f, 0f], [0.2f, 0f, 0f]]);

    static double[] Softmax(params double[] z) { var e = z.Select(Math.Exp).ToArray(); return e.Select(v => v / e.Sum()).ToArray(); }

    [Fact]
    public void ProbabilityAveragingIsTheMeanOfTheSoftmaxes()
    {
        var e = new Ensemble([A, B]);
        var output = new float[9];
        e.Predict(new float[] { 0f, 1f, 2f }, 3, output);
        var p0 = Softmax(1, 0.9, 0).Zip(Softmax(0, 3, 0), (a, b) => (a + b) / 2).ToArray();
        for (int j = 0; j < 3; j++) output[j].ShouldBe((float)p0[j], 1e-6f);
        // Mean probabilities: sample 0 ≈ (0.243, 0.654, 0.104) → 1 (wrong); sample 1 ≈ (0.654, 0.181, 0.164) → 0 (wrong);
        // sample 2 ≈ (0.294, 0.260, 0.442) → 2 (right).
        e.Accuracy(Data).ShouldBe(1.0 / 3);
        new Ensemble([A]).Accuracy(Data).ShouldBe(2.0 / 3);  // A alone: samples 0 and 2
        new Ensemble([B]).Accuracy(Data).ShouldBe(1.0 / 3);  // B alone: sample 1
    }

    [Fact]
    public void LogitAveragingCanDisagreeWithProbabilityAveraging()
    {
        // Sample 1: logits mean (2.5, 0.05, 0) → class 0; probabilities also class 0. Sample 0: logit mean (0.5, 1.95, 0) → class 1.
        var logits = new Ensemble([A, B], EnsembleAveraging.Logits);
        var output = new float[9];
        logits.Predict(new float[] { 0f, 1f, 2f }, 3, output);
        output.ShouldBe(new[] { 0.5f, 1.95f, 0f, 2.5f, 0.05f, 0f, 0.1f, 0f, 0.5f }, 1e-6);
        logits.Accuracy(Data).ShouldBe(1.0 / 3); // only sample 2 (0.5 on class 2)

        // The same three members disagree: C is very sure of class 0, D (twice) fairly sure of class 1.
        var c = new TableNetwork([[10f, 0f, 0f]]);
        var d = new TableNetwork([[0f, 4f, 0f]]);
        var one = new LabeledImages([0f], [1], 1, 1, 1, 3);
        new Ensemble([c, d, d], EnsembleAveraging.Logits).Accuracy(one).ShouldBe(0); // mean logits (10/3, 8/3, 0) → class 0
        new Ensemble([c, d, d]).Accuracy(one).ShouldBe(1);                            // mean probabilities ≈ (0.345, 0.643, 0.012) → class 1
    }

    [Fact]
    public void MismatchedMembersAreRejected()
    {
        var two = new TableNetwork([[0f, 1f]]);
        Should.Throw<ArgumentException>(() => new Ensemble([A, two])).Message.ShouldContain("member 1 maps 1 → 2 floats, member 0 maps 1 → 3");
        Should.Throw<ArgumentException>(() => new Ensemble(Array.Empty<INetwork>())).Message.ShouldContain("at least one network");
    }
}

public class DeclaredFrozenTests
{
    [Fact]
    public void LayersDeclaredFrozenStayExactlyUnchangedUnderWeightDecayAndMomentum()
    {
        using var net = new NetDsl.Tests.Networks.FrozenStemNet(8, seed: 3);
        Assert.True(net.Layers[0].Frozen);
        Assert.False(net.Layers[2].Frozen);
        var rng = new NetDsl.Kernels.Rng(5);
        var pixels = System.Linq.Enumerable.Range(0, 16 * 36).Select(_ => rng.NextFloat()).ToArray();
        var labels = System.Linq.Enumerable.Range(0, 16).Select(i => i % 3).ToArray();
        var data = new NetDsl.Data.LabeledImages(pixels, labels, 1, 6, 6, 3);
        var before = net.Parameters.ToArray();
        var stem = net.ParameterTensors.ToArray().Where(t => t.Name.StartsWith("stem", System.StringComparison.Ordinal)).ToArray();
        NetDsl.Training.Trainer.Fit(net, data, null, new NetDsl.Training.SoftmaxCrossEntropy(),
            new NetDsl.Training.Sgd(0.1f, momentum: 0.9f, weightDecay: 0.1f), new NetDsl.Training.TrainingOptions { Epochs = 2, BatchSize = 8 });
        foreach (var t in stem) Assert.True(before.AsSpan(t.Offset, t.Length).SequenceEqual(net.Parameters.Slice(t.Offset, t.Length)), t.Name + " moved");
        var head = net.ParameterTensors.ToArray().Single(t => t.Name == "head.weight");
        Assert.False(before.AsSpan(head.Offset, head.Length).SequenceEqual(net.Parameters.Slice(head.Offset, head.Length)), "the head did not train");
        // The generated backward leaves a frozen layer's gradients at zero.
        foreach (var t in stem) Assert.All(net.Gradients.Slice(t.Offset, t.Length).ToArray(), g => Assert.Equal(0f, g));
    }
}

public class RegularizationTrainingTests
{
    [Fact]
    public void L2OnWeightsEqualsSgdWeightDecayOnWeightsOnly()
    {
        // One full-batch SGD step with L2 = λ on the weights equals a step where the gradient of every weight
        // gets +λ·W (and biases nothing): computed here by hand from the network's own backward pass.
        var rng = new NetDsl.Kernels.Rng(9);
        var pixels = Enumerable.Range(0, 8 * 36).Select(_ => rng.NextFloat()).ToArray();
        var labels = Enumerable.Range(0, 8).Select(i => i % 3).ToArray();
        var data = new LabeledImages(pixels, labels, 1, 6, 6, 3);
        using var a = new FrozenStemNet(8, seed: 4);
        using var b = new FrozenStemNet(8, seed: 4);
        const float lr = 0.1f, l2 = 0.05f;

        var head = a.ParameterTensors.ToArray().Single(t => t.Name == "head.weight");
        var headBias = a.ParameterTensors.ToArray().Single(t => t.Name == "head.bias");
        var before = b.Parameters.ToArray();
        var logits = b.Forward(pixels, 8, training: true).ToArray();
        var grad = new float[logits.Length];
        new SoftmaxCrossEntropy().Compute(logits, labels, 8, 3, grad);
        b.ZeroGradients();
        b.Backward(grad, 8);
        var g = b.Gradients.ToArray();

        Trainer.Fit(a, data, null, new SoftmaxCrossEntropy(), new Sgd(lr), new TrainingOptions { Epochs = 1, BatchSize = 8, Shuffle = false, L2 = l2 });
        for (int i = 0; i < head.Length; i++)
        {
            int k = head.Offset + i;
            Assert.Equal(before[k] - lr * (g[k] + l2 * before[k]), a.Parameters[k], 5);
        }
        for (int i = 0; i < headBias.Length; i++)
        {
            int k = headBias.Offset + i;
            Assert.Equal(before[k] - lr * g[k], a.Parameters[k], 5); // biases are not regularized
        }
    }

    [Fact]
    public void PerLayerRegularizationReplacesTheGlobalOneAndBadNamesAreRefused()
    {
        using var net = new FrozenStemNet(4);
        var penalties = Trainer.Penalties(net, new TrainingOptions { L2 = 0.1f, LayerRegularization = new Dictionary<string, (float, float)> { ["head"] = (0.01f, 0f) } });
        var head = net.ParameterTensors.ToArray().Single(t => t.Name == "head.weight");
        Assert.Contains(penalties, p => p.Offset == head.Offset && p.L1 == 0.01f && p.L2 == 0f);
        Assert.Contains(penalties, p => p.Offset == 0 && p.L2 == 0.1f); // stem.weight keeps the global L2
        var e = Assert.Throws<ArgumentException>(() => Trainer.Penalties(net, new TrainingOptions { LayerRegularization = new Dictionary<string, (float, float)> { ["nope"] = (0f, 1f) } }));
        Assert.Contains("'nope'", e.Message);
    }
}
