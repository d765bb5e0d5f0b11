using System;
using System.Linq;
using NetDsl.Tests.Infrastructure;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;

namespace NetDsl.Tests.Golden;

/// <summary>The graph networks and the new pooling kinds of the public goldens, through generated code.</summary>
public class GraphGoldenTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void InceptionModuleMatchesPyTorch(int workers)
    {
        var g = GoldenCase.Load("net_inception_small");
        int batch = g.Inputs["labels"].Labels.Length;
        using var net = new GoldenInceptionSmall(batch, workers: workers);
        Assert.Equal(g.Params.Keys.OrderBy(k => k), net.ParameterTensors.ToArray().Select(t => t.Name).OrderBy(k => k));
        foreach (var t in net.ParameterTensors.ToArray()) g.Params[t.Name].Floats.CopyTo(net.Parameters.Slice(t.Offset, t.Length));
        net.ComputeInputGradient = true;
        int Index(string name) => Array.FindIndex(net.Layers.ToArray(), l => l.Name == name);

        var logits = net.Forward(g.Inputs["x"].Floats, batch, training: true).ToArray();
        Close.All(g.Outputs["logits"].Floats, logits, "logits");
        Close.All(g.Outputs["act.stem_out"].Floats, net.LayerOutput(Index("stem_out")), "act.stem_out");
        Close.All(g.Outputs["act.concat"].Floats, net.LayerOutput(Index("concat")), "act.concat");
        Close.All(g.Outputs["act.pooled"].Floats, net.LayerOutput(Index("pooled")), "act.pooled");

        var dLogits = new float[logits.Length];
        float loss = new SoftmaxCrossEntropy().Compute(logits, g.Inputs["labels"].Labels, batch, 3, dLogits);
        Close.All(g.Outputs["loss"].Floats, new[] { loss }, "loss");
        net.ZeroGradients();
        net.Backward(dLogits, batch);
        Close.All(g.Grads["x"].Floats, net.InputGradient, "dL/dx");
        // The stem's output is read by both branches: its gradient is the sum of what each sends back.
        Close.All(g.Grads["act.stem_out"].Floats, net.LayerGradient(Index("stem_out")), "grad act.stem_out");
        Close.All(g.Grads["act.concat"].Floats, net.LayerGradient(Index("concat")), "grad act.concat");
        foreach (var t in net.ParameterTensors.ToArray())
            Close.All(g.Grads[t.Name].Floats, net.Gradients.Slice(t.Offset, t.Length), "dL/d" + t.Name);

        new Sgd(0.1f, momentum: 0.9f, weightDecay: 5e-4f).Step(net.Parameters, net.Gradients);
        foreach (var t in net.ParameterTensors.ToArray())
            Close.All(g.AfterStep[t.Name].Floats, net.Parameters.Slice(t.Offset, t.Length), t.Name + " after SGD step");
    }

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public void L2PoolingMatchesPyTorch(int workers)
    {
        var g = GoldenCase.Load("lppool2d_p2_k2_s2");
        var x = g.Inputs["x"];
        int batch = x.Shape[0];
        using var net = new GoldenL2Pool(batch, workers: workers);
        net.ComputeInputGradient = true;
        var y = net.Forward(x.Floats, batch, training: true).ToArray();
        Close.All(g.Outputs["y"].Floats, y, "y");
        net.Backward(g.GradOutput["y"].Floats, batch);
        Close.All(g.Grads["x"].Floats, net.InputGradient, "dL/dx");
    }
}
