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
