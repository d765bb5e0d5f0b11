using System;
using System.Linq;
using NetDsl.Gpu;
using NetDsl.Tests.Infrastructure;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;

namespace NetDsl.Gpu.Tests;

/// <summary>The golden layer and network cases that the CPU path passes, run through the generated GPU twins on ILGPU's CPU
/// accelerator, at the same tolerance (forward output, input gradient, parameter gradients; for the networks also the
/// device loss and the device SGD step).</summary>
public class TwinGoldenTests(CpuAccelerator accelerator) : IClassFixture<CpuAccelerator>
{
    private readonly GpuDevice _device = accelerator.Device;

    public static TheoryData<string> Cases() => new()
    {
        "conv2d_k1_s1_p0", "conv2d_k3_s1_p1", "conv2d_k3_s1_p0_nobias", "conv2d_k5_s1_p2", "conv2d_k3_s2_p1",
        "conv2d_k3x5_s1_p0", "conv2d_k3_s1_p2_dil2", "conv2d_k2_s1_asympad_b1r1",
        "maxpool_k2_s2", "maxpool_k2_s2_ties", "maxpool_k3_s2_p1",
        "avgpool_k2_s2", "avgpool_k2_s2_odd_floor", "avgpool_k3_s1_p1_cip_true", "lppool2d_p2_k2_s2",
        "relu", "relu_zeros", "leaky_relu_0p01", "tanh", "tanh_saturated", "sigmoid", "sigmoid_saturated",
        "linear_flatten", "global_avgpool", "elu", "softmax",
        "convT_k2_s2_p0", "convT_k3_s2_p1", "convT_k3_s2_p0_op1",
        "prelu_single", "prelu_per_channel", "maxout_k2", "lrn_size5",
        "bn2d_train", "bn2d_eval", "bn1d_train", "bn1d_eval", "bn2d_eval_batch1",
    };

    /// <summary>The CPU network (whose parameters the golden sets) and its twin.</summary>
    private (INetwork Cpu, IGpuNetwork Gpu) Create(string name) => name switch
    {
        "conv2d_k1_s1_p0" => (new GoldenConvK1(4), new GoldenConvK1.Gpu(_device, 4)),
        "conv2d_k3_s1_p1" => (new GoldenConvK3P1(4), new GoldenConvK3P1.Gpu(_device, 4)),
        "conv2d_k3_s1_p0_nobias" => (new GoldenConvK3NoBias(4), new GoldenConvK3NoBias.Gpu(_device, 4)),
        "conv2d_k5_s1_p2" => (new GoldenConvK5P2(4), new GoldenConvK5P2.Gpu(_device, 4)),
        "conv2d_k3_s2_p1" => (new GoldenConvK3S2P1(4), new GoldenConvK3S2P1.Gpu(_device, 4)),
        "conv2d_k3x5_s1_p0" => (new GoldenConvK3x5(4), new GoldenConvK3x5.Gpu(_device, 4)),
        "conv2d_k3_s1_p2_dil2" => (new GoldenConvDil2(4), new GoldenConvDil2.Gpu(_device, 4)),
        "conv2d_k2_s1_asympad_b1r1" => (new GoldenConvAsymPad(4), new GoldenConvAsymPad.Gpu(_device, 4)),
        "maxpool_k2_s2" => (new GoldenMaxPoolK2(4), new GoldenMaxPoolK2.Gpu(_device, 4)),
        "maxpool_k2_s2_ties" => (new GoldenMaxPoolTies(4), new GoldenMaxPoolTies.Gpu(_device, 4)),
        "maxpool_k3_s2_p1" => (new GoldenMaxPoolK3S2P1(4), new GoldenMaxPoolK3S2P1.Gpu(_device, 4)),
        "avgpool_k2_s2" => (new GoldenAvgPoolK2(4), new GoldenAvgPoolK2.Gpu(_device, 4)),
        "avgpool_k2_s2_odd_floor" => (new GoldenAvgPoolOddFloor(4), new GoldenAvgPoolOddFloor.Gpu(_device, 4)),
        "avgpool_k3_s1_p1_cip_true" => (new GoldenAvgPoolK3P1(4), new GoldenAvgPoolK3P1.Gpu(_device, 4)),
        "lppool2d_p2_k2_s2" => (new GoldenL2Pool(4), new GoldenL2Pool.Gpu(_device, 4)),
        "relu" => (new GoldenRelu(4), new GoldenRelu.Gpu(_device, 4)),
        "relu_zeros" => (new GoldenReluZeros(4), new GoldenReluZeros.Gpu(_device, 4)),
        "leaky_relu_0p01" => (new GoldenLeakyRelu(4), new GoldenLeakyRelu.Gpu(_device, 4)),
        "tanh" or "tanh_saturated" => (new GoldenTanh(4), new GoldenTanh.Gpu(_device, 4)),
        "sigmoid" or "sigmoid_saturated" => (new GoldenSigmoid(4), new GoldenSigmoid.Gpu(_device, 4)),
        "linear_flatten" => (new GoldenLinearFlatten(4), new GoldenLinearFlatten.Gpu(_device, 4)),
        "global_avgpool" => (new GoldenGlobalAvgPool(4), new GoldenGlobalAvgPool.Gpu(_device, 4)),
        "elu" => (new GoldenElu(4), new GoldenElu.Gpu(_device, 4)),
        "softmax" => (new GoldenSoftmax(4), new GoldenSoftmax.Gpu(_device, 4)),
        "convT_k2_s2_p0" => (new GoldenConvTK2S2(4), new GoldenConvTK2S2.Gpu(_device, 4)),
        "convT_k3_s2_p1" => (new GoldenConvTK3S2P1(4), new GoldenConvTK3S2P1.Gpu(_device, 4)),
        "convT_k3_s2_p0_op1" => (new GoldenConvTOutPad(4), new GoldenConvTOutPad.Gpu(_device, 4)),
        "prelu_single" => (new GoldenPReluSingle(4), new GoldenPReluSingle.Gpu(_device, 4)),
        "prelu_per_channel" => (new GoldenPReluPerChannel(4), new GoldenPReluPerChannel.Gpu(_device, 4)),
        "maxout_k2" => (new GoldenMaxout(4), new GoldenMaxout.Gpu(_device, 4)),
        "lrn_size5" => (new GoldenLrn(4), new GoldenLrn.Gpu(_device, 4)),
        "bn2d_train" or "bn2d_eval" => (new GoldenBn2d(4), new GoldenBn2d.Gpu(_device, 4)),
        "bn1d_train" or "bn1d_eval" => (new GoldenBn1d(4), new GoldenBn1d.Gpu(_device, 4)),
        "bn2d_eval_batch1" => (new GoldenBn2dEps(4), new GoldenBn2dEps.Gpu(_device, 4)),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void LayerMatchesPyTorch(string caseName)
    {
        var golden = GoldenCase.Load(caseName);
        var (cpu, gpu) = Create(caseName);
        using var _ = gpu;
        var x = golden.Inputs["x"];
        int batch = x.Shape[0];
        foreach (var t in cpu.ParameterTensors.ToArray())
            golden.Params[t.Name.Split('.')[1]].Floats.CopyTo(cpu.Parameters.Slice(t.Offset, t.Length));
        Assert.Equal(golden.Params.Count, gpu.ParameterTensors.Length);
        foreach (var t in cpu.BufferTensors.ToArray())
            golden.Buffers[t.Name.Split('.')[1]].Floats.CopyTo(cpu.Buffers.Slice(t.Offset, t.Length));
        Assert.Equal(golden.Buffers.Count, gpu.BufferTensors.Length);
        gpu.CopyParametersFrom(cpu);
        bool training = !golden.Config.TryGetProperty("training", out var mode) || mode.GetBoolean();

        Close.All(golden.Outputs["y"].Floats, gpu.Forward(x.Floats, batch, training), caseName + " y");
        var buffers = gpu.Buffers();
        foreach (var t in gpu.BufferTensors.ToArray()) // running statistics, updated on the device
            Close.All(golden.Outputs[t.Name.Split('.')[1] + "_after"].Floats, buffers.AsSpan(t.Offset, t.Length), caseName + " " + t.Name + " after");
        gpu.ComputeInputGradient = true;
        gpu.ZeroGradients();
        gpu.Backward(golden.GradOutput["y"].Floats, batch);
        Close.All(golden.Grads["x"].Floats, gpu.InputGradient(), caseName + " dL/dx");
        var grads = gpu.Gradients();
        foreach (var t in gpu.ParameterTensors.ToArray())
            Close.All(golden.Grads[t.Name.Split('.')[1]].Floats, grads.AsSpan(t.Offset, t.Length), caseName + " dL/d" + t.Name);
    }

    [Theory]
    [InlineData("net_lenet5")]
    [InlineData("net_inception_small")]
    public void NetworkTrainStepMatchesPyTorch(string caseName)
    {
        var g = GoldenCase.Load(caseName);
        INetwork cpu = caseName == "net_lenet5" ? new LeNet5(2, workers: 1) : new GoldenInceptionSmall(2, workers: 1);
        using IGpuNetwork gpu = caseName == "net_lenet5" ? new LeNet5.Gpu(_device, 2) : new GoldenInceptionSmall.Gpu(_device, 2);
        foreach (var t in cpu.ParameterTensors.ToArray()) g.Params[t.Name].Floats.CopyTo(cpu.Parameters.Slice(t.Offset, t.Length));
        gpu.CopyParametersFrom(cpu);
        var x = g.Inputs["x"].Floats;
        int batch = g.Inputs["x"].Shape[0];
        Close.All(g.Outputs["logits"].Floats, gpu.Forward(x, batch, training: true), "logits");

        // The device loss and the device SGD update (momentum 0.9, weight decay 5e-4), as in PyTorch.
        float loss = gpu.TrainStep(x, g.Inputs["labels"].Labels, new SoftmaxCrossEntropy(), new Sgd(0.1f, momentum: 0.9f, weightDecay: 5e-4f));
        Close.All(g.Outputs["loss"].Floats, new[] { loss }, "loss");
        var grads = gpu.Gradients();
        var after = gpu.Parameters();
        foreach (var t in gpu.ParameterTensors.ToArray())
        {
            Summary.Compare(g.Grads[t.Name], grads.AsSpan(t.Offset, t.Length), "dL/d" + t.Name);
            Summary.Compare(g.AfterStep[t.Name], after.AsSpan(t.Offset, t.Length), t.Name + " after TrainStep");
        }
    }

    [Fact]
    public void SmallCnnWithBatchNormAndReplayedDropoutMatchesPyTorch()
    {
        // The twin draws the CPU network's masks; PyTorch's mask is replayed as the CPU golden test does (HoldDropoutMasks).
        var g = GoldenCase.Load("net_small_cnn");
        using var cpu = new GoldenSmallCnn(2, workers: 1);
        using var gpu = new GoldenSmallCnn.Gpu(_device, 2);
        foreach (var t in cpu.ParameterTensors.ToArray()) g.Params[t.Name].Floats.CopyTo(cpu.Parameters.Slice(t.Offset, t.Length));
        foreach (var t in cpu.BufferTensors.ToArray()) g.Buffers[t.Name].Floats.CopyTo(cpu.Buffers.Slice(t.Offset, t.Length));
        gpu.CopyParametersFrom(cpu);
        int dropout = Array.FindIndex(cpu.Layers.ToArray(), l => l.Kind == LayerKinds.Dropout);
        gpu.SetDropoutMask(dropout, g.Inputs["dropout_mask"].Floats.Select(m => m * 2f).ToArray());
        gpu.HoldDropoutMasks = true;
        gpu.ComputeInputGradient = true;

        var logits = gpu.Forward(g.Inputs["x"].Floats, 2, training: true);
        Close.All(g.Outputs["logits"].Floats, logits, "logits");
        var buffers = gpu.Buffers();
        foreach (var t in gpu.BufferTensors.ToArray())
            Close.All(g.Outputs["buffer_after." + t.Name].Floats, buffers.AsSpan(t.Offset, t.Length), t.Name + " after forward");
        var dLogits = new float[logits.Length];
        new SoftmaxCrossEntropy().Compute(logits, g.Inputs["labels"].Labels, 2, 5, dLogits);
        gpu.ZeroGradients();
        gpu.Backward(dLogits, 2);
        Close.All(g.Grads["x"].Floats, gpu.InputGradient(), "dL/dx");
        var grads = gpu.Gradients();
        foreach (var t in gpu.ParameterTensors.ToArray())
        {
            // conv1 feeds training-mode BN, so its bias gradient is exactly zero in exact arithmetic; PyTorch's is rounding noise.
            if (t.Name == "conv1.bias") Assert.All(grads.AsSpan(t.Offset, t.Length).ToArray(), v => Assert.True(Math.Abs(v) < 1e-5, $"conv1.bias gradient {v}"));
            else Summary.Compare(g.Grads[t.Name], grads.AsSpan(t.Offset, t.Length), "dL/d" + t.Name);
        }
    }
}
