using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

public class LayerScaleTests
{
    static float[] Slice(float[] all, LayerInfo l) => all.AsSpan(l.ParameterOffset, l.ParameterCount).ToArray();
    static LayerInfo Layer(INetwork net, string name) => net.Layers.ToArray().Single(l => l.Name == name);

    [Theory]
    [InlineData("adamw")]
    [InlineData("sgd")]
    public void FrozenLayerDoesNotMoveEvenUnderWeightDecay(string kind)
    {
        var data = ScheduleTests.RandomImages(24, 1, 8, 8, 3, 7);
        var net = new TinyConv(8, seed: 4, workers: 1);
        var before = net.Parameters.ToArray();
        Optimizer opt = kind == "adamw" ? new AdamW(0.05f, weightDecay: 0.5f) : new Sgd(0.1f, momentum: 0.9f, weightDecay: 0.5f);
        var steps = ScheduleTests.Record(net, data, opt, new TrainingOptions { Epochs = 2, BatchSize = 8, FrozenLayers = ["conv1"] });
        var after = net.Parameters.ToArray();
        var conv = Layer(net, "conv1");
        Slice(after, conv).ShouldBe(Slice(before, conv)); // bit for bit
        var dense = Layer(net, "dense1");
        Slice(after, dense).Zip(Slice(before, dense)).Count(p => p.First != p.Second).ShouldBeGreaterThan(dense.ParameterCount / 2);
        foreach (var s in steps) Slice(s.Grads, conv).ShouldAllBe(g => g == 0f); // frozen gradients zeroed before the step
    }

    [Fact]
    public void MultiplierScalesThePlainSgdStep()
    {
        var data = ScheduleTests.RandomImages(16, 1, 8, 8, 3, 8);
        var net = new TinyConv(8, seed: 5, workers: 1);
        const float lr = 0.3f;
        var steps = ScheduleTests.Record(net, data, new Sgd(lr), new TrainingOptions { Epochs = 1, BatchSize = 8, LayerLearningRates = new Dictionary<string, float> { ["dense1"] = 0.1f } });
        var dense = Layer(net, "dense1");
        for (int k = 0; k < steps.Count; k++)
        {
            var after = k + 1 < steps.Count ? steps[k + 1].Params : net.Parameters.ToArray();
            for (int i = 0; i < after.Length; i++)
            {
                float m = i >= dense.ParameterOffset && i < dense.ParameterOffset + dense.ParameterCount ? 0.1f : 1f;
                after[i].ShouldBe(steps[k].Params[i] - m * lr * steps[k].Grads[i], 1e-6f);
            }
        }
    }

    [Fact]
    public void MultiplierScalesTheFirstAdamStepWhichGradientScalingWouldNot()
    {
        // Adam's first step is −lr·g/(|g| + ε) (bias corrections cancel): invariant to scaling g, linear in lr.
        var net = new TinyConv(4, seed: 6, workers: 1);
        var x = ScheduleTests.RandomImages(4, 1, 8, 8, 3, 9);
        const float lr = 0.01f, eps = 1e-8f;
        var opt = new LayerScaledOptimizer(net, new Adam(lr, eps: eps), new Dictionary<string, float> { ["conv1"] = 0.1f });
        net.Forward(x.Pixels, 4, training: true);
        var grad = new float[4 * 3];
        new SoftmaxCrossEntropy().Compute(net.Forward(x.Pixels, 4, training: true), x.Labels, 4, 3, grad);
        net.ZeroGradients();
        net.Backward(grad, 4);
        var p0 = net.Parameters.ToArray();
        var g = net.Gradients.ToArray();
        opt.Step(net.Parameters, net.Gradients);
        var conv = Layer(net, "conv1");
        for (int i = 0; i < p0.Length; i++)
        {
            float m = i < conv.ParameterCount ? 0.1f : 1f;
            double expected = p0[i] - m * lr * g[i] / (Math.Abs(g[i]) + eps);
            net.Parameters[i].ShouldBe((float)expected, 2e-7f + 1e-6f * Math.Abs((float)expected), $"parameter {i}");
        }
        opt.StepCount.ShouldBe(1);
    }

    [Fact]
    public void BadLayerNamesAndMultipliersAreNamed()
    {
        var net = new TinyConv(4);
        Should.Throw<ArgumentException>(() => new LayerScaledOptimizer(net, new Sgd(0.1f), new Dictionary<string, float> { ["fc9"] = 0.1f }))
            .Message.ShouldContain("no layer named 'fc9'; the layers with parameters are conv1, dense1");
        Should.Throw<ArgumentException>(() => new LayerScaledOptimizer(net, new Sgd(0.1f), new Dictionary<string, float> { ["relu1"] = 0f }))
            .Message.ShouldContain("layer 'relu1' (ReLU) has no parameters");
        Should.Throw<ArgumentOutOfRangeException>(() => new LayerScaledOptimizer(net, new Sgd(0.1f), new Dictionary<string, float> { ["conv1"] = -1f }))
            .Message.ShouldContain("multiplier of layer 'conv1' must be finite and >= 0, got -1");
        var data = ScheduleTests.RandomImages(4, 1, 8, 8, 3, 1);
        Should.Throw<ArgumentException>(() => Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f),
            new TrainingOptions { FrozenLayers = ["conv1"], LayerLearningRates = new Dictionary<string, float> { ["conv1"] = 0.5f } }))
            .Message.ShouldContain("layer 'conv1' is both frozen and given learning-rate multiplier 0.5");
    }
}
