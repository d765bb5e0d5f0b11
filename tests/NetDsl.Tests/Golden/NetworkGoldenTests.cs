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
