using System;
using System.Linq;
using NetDsl.Tests.Infrastructure;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;

namespace NetDsl.Tests.Golden;

/// <summary>The whole generated LeNet-5 against PyTorch: logits, loss, every gradient, and one SGD step.</summary>
public class NetworkGoldenTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void LeNet5MatchesPyTorch(int workers)
    {
        var g = GoldenCase.Load("net_lenet5");
        using var net = new LeNet5(2, workers: workers);
        Assert.Equal(g.Params.Keys.OrderBy(k => k), net.ParameterTensors.ToArray().Select(t => t.Name).OrderBy(k => k));
        foreach (var t in net.ParameterTensors.ToArray())
        {
            Assert.Equal(g.Params[t.Name].Shape, t.Shape);
            g.Params[t.Name].Floats.CopyTo(net.Parameters.Slice(t.Offset, t.Length));
        }
        net.ComputeInputGradient = true;

        var x = g.Inputs["x"].Floats;
        int[] labels = g.Inputs["labels"].Labels;
        var logits = net.Forward(x, 2, training: true).ToArray();
        Close.All(g.Outputs["logits"].Floats, logits, "logits");

        var dLogits = new float[logits.Length];
        float loss = new SoftmaxCrossEntropy().Compute(logits, labels, 2, 10, dLogits);
        Close.All(g.Outputs["loss"].Floats, new[] { loss }, "loss");

        net.ZeroGradients();
        net.Backward(dLogits, 2);
        Close.All(g.Grads["x"].Floats, net.InputGradient, "dL/dx");
        foreach (var t in net.ParameterTensors.ToArray())
            Summary.Compare(g.Grads[t.Name], net.Gradients.Slice(t.Offset, t.Length), "dL/d" + t.Name);

        new Sgd(0.1f, momentum: 0.9f, weightDecay: 5e-4f).Step(net.Parameters, net.Gradients);
        foreach (var t in net.ParameterTensors.ToArray())
            Summary.Compare(g.AfterStep[t.Name], net.Parameters.Slice(t.Offset, t.Length), t.Name + " after SGD step");
    }

    [Fact]
    public void TrainStepEqualsForwardLossBackwardStep()
    {
        var g = GoldenCase.Load("net_lenet5");
        using var net = new LeNet5(2, workers: 2);
        foreach (var t in net.ParameterTensors.ToArray()) g.Params[t.Name].Floats.CopyTo(net.Parameters.Slice(t.Offset, t.Length));
        float loss = net.TrainStep(g.Inputs["x"].Floats, g.Inputs["labels"].Labels, new SoftmaxCrossEntropy(), new Sgd(0.1f, momentum: 0.9f, weightDecay: 5e-4f));
        Close.All(g.Outputs["loss"].Floats, new[] { loss }, "loss");
        foreach (var t in net.ParameterTensors.ToArray())
            Summary.Compare(g.AfterStep[t.Name], net.Parameters.Slice(t.Offset, t.Length), t.Name + " after TrainStep");
    }
}

public class LayerAccessTests
{
    [Fact]
    public void LayersAndIntermediateActivationsMatchPyTorch()
    {
        // The goldens store LeNet-5's intermediate activations; LayerOutput/LayerGradient expose ours.
        var g = GoldenCase.Load("net_lenet5");
        using var net = new LeNet5(2, workers: 1);
        foreach (var t in net.ParameterTensors.ToArray()) g.Params[t.Name].Floats.CopyTo(net.Parameters.Slice(t.Offset, t.Length));
        Assert.Equal(new[] { "conv1", "tanh1", "pool1", "conv2", "tanh2", "pool2", "fc1", "tanh3", "fc2", "tanh4", "fc3" },
            net.Layers.ToArray().Select(l => l.Name));
        var logits = net.Forward(g.Inputs["x"].Floats, 2, training: true).ToArray();
        var dLogits = new float[20];
        new SoftmaxCrossEntropy().Compute(logits, g.Inputs["labels"].Labels, 2, 10, dLogits);
        net.Backward(dLogits, 2);
        int Index(string name) => Array.FindIndex(net.Layers.ToArray(), l => l.Name == name);
        foreach (var (golden, layer) in new[] { ("pool2_flat", "pool2"), ("fc1_pre", "fc1"), ("fc1_out", "tanh3"), ("fc2_pre", "fc2"), ("fc2_out", "tanh4") })
        {
            Close.All(g.Outputs["act." + golden].Floats, net.LayerOutput(Index(layer)), "act." + golden);
            Close.All(g.Grads["act." + golden].Floats, net.LayerGradient(Index(layer)), "grad act." + golden);
        }
        var fc1 = net.Layers[Index("fc1")];
        Assert.Equal((120, 1, 1, 48120), (fc1.Channels, fc1.Height, fc1.Width, fc1.ParameterCount));
        Assert.Equal(net.ParameterTensors.ToArray().Single(t => t.Name == "fc1.weight").Offset, fc1.ParameterOffset);
    }
}

public class SmallCnnGoldenTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void SmallCnnWithBatchNormAndDropoutMatchesPyTorch(int workers)
    {
        var g = GoldenCase.Load("net_small_cnn");
        using var net = new GoldenSmallCnn(2, workers: workers);
        Assert.Equal(g.Params.Keys.OrderBy(k => k), net.ParameterTensors.ToArray().Select(t => t.Name).OrderBy(k => k));
        foreach (var t in net.ParameterTensors.ToArray()) g.Params[t.Name].Floats.CopyTo(net.Parameters.Slice(t.Offset, t.Length));
        foreach (var t in net.BufferTensors.ToArray()) g.Buffers[t.Name].Floats.CopyTo(net.Buffers.Slice(t.Offset, t.Length));

        // Replay PyTorch's dropout mask: 0/1 → 0 or 1/(1−p) in float32.
        int dropout = Array.FindIndex(net.Layers.ToArray(), l => l.Kind == "Dropout");
        float scale = 1f / (1f - 0.5f);
        var mask = g.Inputs["dropout_mask"].Floats;
        for (int i = 0; i < mask.Length; i++) net.DropoutMask(dropout)[i] = mask[i] * scale;
        net.HoldDropoutMasks = true;
        net.ComputeInputGradient = true;

        var logits = net.Forward(g.Inputs["x"].Floats, 2, training: true).ToArray();
        Close.All(g.Outputs["logits"].Floats, logits, "logits");
        Close.All(g.Outputs["act.flat"].Floats, net.LayerOutput(dropout - 1), "act.flat");
        Close.All(g.Outputs["act.dropped"].Floats, net.LayerOutput(dropout), "act.dropped");
        foreach (var t in net.BufferTensors.ToArray())
            Close.All(g.Outputs["buffer_after." + t.Name].Floats, net.Buffers.Slice(t.Offset, t.Length), t.Name + " after forward");

        var dLogits = new float[logits.Length];
        float loss = new SoftmaxCrossEntropy().Compute(logits, g.Inputs["labels"].Labels, 2, 5, dLogits);
        Close.All(g.Outputs["loss"].Floats, new[] { loss }, "loss");
        net.ZeroGradients();
        net.Backward(dLogits, 2);
        Close.All(g.Grads["x"].Floats, net.InputGradient, "dL/dx");
        Close.All(g.Grads["act.dropped"].Floats, net.LayerGradient(dropout), "grad act.dropped");
        foreach (var t in net.ParameterTensors.ToArray())
        {
            // conv1 feeds training-mode BN, so its bias gradient is exactly zero; PyTorch's is rounding noise (~1e-7).
            if (t.Name == "conv1.bias") Assert.All(net.Gradients.Slice(t.Offset, t.Length).ToArray(), v => Assert.True(Math.Abs(v) < 1e-5, $"conv1.bias gradient {v}"));
            else Close.All(g.Grads[t.Name].Floats, net.Gradients.Slice(t.Offset, t.Length), "dL/d" + t.Name);
        }

        new Sgd(0.1f, momentum: 0.9f, weightDecay: 5e-4f).Step(net.Parameters, net.Gradients);
        foreach (var t in net.ParameterTensors.ToArray())
            Close.All(g.AfterStep[t.Name].Floats, net.Parameters.Slice(t.Offset, t.Length), t.Name + " after SGD step");
    }
}
