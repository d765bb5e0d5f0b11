using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Infrastructure;
using NetDsl.Tests.Networks;
using Xunit;

namespace NetDsl.Tests.Golden;

/// <summary>Every golden layer case run through the generated network with that one layer: forward output,
/// input gradient and parameter gradients against PyTorch, with one worker and with two (one sample each).</summary>
public class LayerGoldenTests
{
    public static TheoryData<string, int> Cases()
    {
        var data = new TheoryData<string, int>();
        foreach (var name in new[]
        {
            "conv2d_k1_s1_p0", "conv2d_k3_s1_p1", "conv2d_k3_s1_p0_nobias", "conv2d_k5_s1_p2", "conv2d_k3_s2_p1",
            "conv2d_k3x5_s1_p0", "conv2d_k3_s1_p2_dil2", "conv2d_k2_s1_asympad_b1r1",
            "maxpool_k2_s2", "maxpool_k2_s2_ties", "maxpool_k3_s2_p1",
            "avgpool_k2_s2", "avgpool_k2_s2_odd_floor", "avgpool_k3_s1_p1_cip_true",
            "relu", "relu_zeros", "leaky_relu_0p01", "tanh", "tanh_saturated", "sigmoid", "sigmoid_saturated",
            "linear_flatten",
            "global_avgpool", "prelu_single", "prelu_per_channel", "elu", "softmax", "maxout_k2", "lrn_size5",
            "convT_k2_s2_p0", "convT_k3_s2_p1", "convT_k3_s2_p0_op1",
            "bn2d_train", "bn2d_eval", "bn1d_train", "bn1d_eval", "bn2d_eval_batch1",
        })
            foreach (int workers in new[] { 1, 2 }) data.Add(name, workers);
        return data;
    }

    private static INetwork Create(string name, int workers) => name switch
    {
        "conv2d_k1_s1_p0" => new GoldenConvK1(4, workers: workers),
        "conv2d_k3_s1_p1" => new GoldenConvK3P1(4, workers: workers),
        "conv2d_k3_s1_p0_nobias" => new GoldenConvK3NoBias(4, workers: workers),
        "conv2d_k5_s1_p2" => new GoldenConvK5P2(4, workers: workers),
        "conv2d_k3_s2_p1" => new GoldenConvK3S2P1(4, workers: workers),
        "conv2d_k3x5_s1_p0" => new GoldenConvK3x5(4, workers: workers),
        "conv2d_k3_s1_p2_dil2" => new GoldenConvDil2(4, workers: workers),
        "conv2d_k2_s1_asympad_b1r1" => new GoldenConvAsymPad(4, workers: workers),
        "maxpool_k2_s2" => new GoldenMaxPoolK2(4, workers: workers),
        "maxpool_k2_s2_ties" => new GoldenMaxPoolTies(4, workers: workers),
        "maxpool_k3_s2_p1" => new GoldenMaxPoolK3S2P1(4, workers: workers),
        "avgpool_k2_s2" => new GoldenAvgPoolK2(4, workers: workers),
        "avgpool_k2_s2_odd_floor" => new GoldenAvgPoolOddFloor(4, workers: workers),
        "avgpool_k3_s1_p1_cip_true" => new GoldenAvgPoolK3P1(4, workers: workers),
        "relu" or "tanh" or "sigmoid" or "tanh_saturated" or "sigmoid_saturated" or "leaky_relu_0p01" => name switch
        {
            "relu" => new GoldenRelu(4, workers: workers),
            "leaky_relu_0p01" => new GoldenLeakyRelu(4, workers: workers),
            "tanh" or "tanh_saturated" => new GoldenTanh(4, workers: workers),
            _ => new GoldenSigmoid(4, workers: workers),
        },
        "relu_zeros" => new GoldenReluZeros(4, workers: workers),
        "linear_flatten" => new GoldenLinearFlatten(4, workers: workers),
        "global_avgpool" => new GoldenGlobalAvgPool(4, workers: workers),
        "prelu_single" => new GoldenPReluSingle(4, workers: workers),
        "prelu_per_channel" => new GoldenPReluPerChannel(4, workers: workers),
        "elu" => new GoldenElu(4, workers: workers),
        "softmax" => new GoldenSoftmax(4, workers: workers),
        "maxout_k2" => new GoldenMaxout(4, workers: workers),
        "lrn_size5" => new GoldenLrn(4, workers: workers),
        "convT_k2_s2_p0" => new GoldenConvTK2S2(4, workers: workers),
        "convT_k3_s2_p1" => new GoldenConvTK3S2P1(4, workers: workers),
        "convT_k3_s2_p0_op1" => new GoldenConvTOutPad(4, workers: workers),
        "bn2d_train" or "bn2d_eval" => new GoldenBn2d(4, workers: workers),
        "bn1d_train" or "bn1d_eval" => new GoldenBn1d(4, workers: workers),
        "bn2d_eval_batch1" => new GoldenBn2dEps(4, workers: workers),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void MatchesPyTorch(string caseName, int workers)
    {
        var golden = GoldenCase.Load(caseName);
        var net = Create(caseName, workers);
        var x = golden.Inputs["x"];
        int batch = x.Shape[0];
        Assert.Equal(x.Length / batch, net.InputSize);

        // The single layer's parameters are "<layer>.weight"/"<layer>.bias"; the goldens call them weight/bias.
        foreach (var t in net.ParameterTensors.ToArray())
        {
            var g = golden.Params[t.Name.Split('.')[1]];
            Assert.Equal(g.Shape, t.Shape);
            g.Floats.CopyTo(net.Parameters.Slice(t.Offset, t.Length));
        }
        Assert.Equal(golden.Params.Count, net.ParameterTensors.Length);

        foreach (var t in net.BufferTensors.ToArray())
            golden.Buffers[t.Name.Split('.')[1]].Floats.CopyTo(net.Buffers.Slice(t.Offset, t.Length));
        Assert.Equal(golden.Buffers.Count, net.BufferTensors.Length);
        bool training = !golden.Config.TryGetProperty("training", out var mode) || mode.GetBoolean();

        var y = net.Forward(x.Floats, batch, training).ToArray();
        Close.All(golden.Outputs["y"].Floats, y, caseName + " y");
        foreach (var t in net.BufferTensors.ToArray())
            Close.All(golden.Outputs[t.Name.Split('.')[1] + "_after"].Floats, net.Buffers.Slice(t.Offset, t.Length), caseName + " " + t.Name + " after");

        net.ComputeInputGradient = true;
        net.ZeroGradients();
        net.Backward(golden.GradOutput["y"].Floats, batch);
        Close.All(golden.Grads["x"].Floats, net.InputGradient, caseName + " dL/dx");
        foreach (var t in net.ParameterTensors.ToArray())
            Close.All(golden.Grads[t.Name.Split('.')[1]].Floats, net.Gradients.Slice(t.Offset, t.Length), caseName + " dL/d" + t.Name);
    }

    [Fact]
    public void DropoutWithTheStoredMaskMatchesPyTorch()
    {
        // The generated dropout layer draws its own mask; the arithmetic it applies (mask · 1/(1−p) in float32,
        // then the same mask on the way back) is checked here with the mask PyTorch drew.
        var golden = GoldenCase.Load("dropout_p0p5");
        float p = (float)golden.Config.GetProperty("p").GetDouble();
        float scale = 1f / (1f - p);
        float[] mask = golden.Inputs["mask"].Floats.Select(m => m * scale).ToArray();
        var x = golden.Inputs["x"].Floats;
        var y = new float[x.Length];
        Vec.Multiply(x, mask, y);
        Close.All(golden.Outputs["y"].Floats, y, "dropout y");
        var dx = new float[x.Length];
        Vec.Multiply(golden.GradOutput["y"].Floats, mask, dx);
        Close.All(golden.Grads["x"].Floats, dx, "dropout dL/dx");
    }

    [Fact]
    public void GeneratedDropoutDropsAboutPAndScalesTheRest()
    {
        using var net = new GoldenDropout(64, seed: 3, workers: 2);
        var x = Enumerable.Range(0, 64 * GoldenDropout.InputSize).Select(i => 1f + (i % 7)).ToArray();
        var y = net.Forward(x, 64, training: true).ToArray();
        int dropped = y.Count(v => v == 0f);
        double fraction = dropped / (double)y.Length;
        Assert.InRange(fraction, 0.45, 0.55); // 3072 draws: 5 sigma is about ±0.045
        for (int i = 0; i < y.Length; i++)
            if (y[i] != 0f) Assert.Equal(x[i] * 2f, y[i]);

        // Backward sends the gradient through exactly the kept elements, with the same scale.
        net.ComputeInputGradient = true;
        net.Backward(Enumerable.Repeat(1f, y.Length).ToArray(), 64);
        var dx = net.InputGradient.ToArray();
        for (int i = 0; i < y.Length; i++) Assert.Equal(y[i] == 0f ? 0f : 2f, dx[i]);

        // Inference is the identity; a new training step draws a new mask.
        Assert.Equal(x, net.Forward(x, 64).ToArray());
        var y2 = net.Forward(x, 64, training: true).ToArray();
        Assert.NotEqual(y, y2);
    }

    [Fact]
    public void DropoutMaskDoesNotDependOnTheWorkerCount()
    {
        using var one = new GoldenDropout(32, seed: 5, workers: 1);
        using var two = new GoldenDropout(32, seed: 5, workers: 2);
        var x = Enumerable.Range(0, 32 * GoldenDropout.InputSize).Select(i => (float)i).ToArray();
        Assert.Equal(one.Forward(x, 32, training: true).ToArray(), two.Forward(x, 32, training: true).ToArray());
    }
}
