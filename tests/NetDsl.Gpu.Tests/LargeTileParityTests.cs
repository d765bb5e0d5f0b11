using System;
using NetDsl.Gpu;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Gpu.Tests;

/// <summary>Networks trained on the large-tile kernels (the GEMM, the split-K weight gradients, the 256-thread per-channel
/// reductions of biases and batch norm): the path a GPU takes, against the CPU network.</summary>
public class LargeTileParityTests(LargeGroupAccelerator accelerator, ITestOutputHelper output) : IClassFixture<LargeGroupAccelerator>
{
    private readonly GpuDevice _device = accelerator.Device;

    [Fact]
    public void LeNet5TenStepsOnTheLargeTile()
    {
        using var cpu = new NetDsl.Tests.Networks.LeNet5(3, seed: 7, workers: 1);
        using var gpu = new NetDsl.Tests.Networks.LeNet5.Gpu(_device, 3, seed: 7);
        Assert.True(LoadedKernels.For(_device.Accelerator).Large);
        TrainingParityTests.TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new NetDsl.Training.Sgd(0.05f, momentum: 0.9f),
            new NetDsl.Training.SoftmaxCrossEntropy(), "LeNet-5 SGD, large tile");
    }

    [Fact]
    public void BatchNormNetworkOnTheLargeTile()
    {
        using var cpu = new NetDsl.Tests.Networks.GoldenSmallCnn(3, seed: 2, workers: 1);
        using var gpu = new NetDsl.Tests.Networks.GoldenSmallCnn.Gpu(_device, 3, seed: 2);
        TrainingParityTests.OneStepMatches(cpu, gpu, inputSeed: 3, gradientSeed: 4);
        Assert.Equal(cpu.Buffers.ToArray(), gpu.Buffers(), new NetDsl.Gpu.Tests.RelativeComparer(1e-5));
        // SGD, not Adam: conv1's bias feeds a batch norm, so its true gradient is 0 and what both sides compute is rounding
        // noise, which Adam would scale up to full-size steps in different directions.
        TrainingParityTests.TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new NetDsl.Training.Sgd(0.05f, momentum: 0.9f),
            new NetDsl.Training.SoftmaxCrossEntropy(), "small CNN with batch norm SGD, large tile");
    }

    [Fact]
    public void ResNetTenStepsOnTheLargeTile()
    {
        using var cpu = new NetDsl.Tests.Networks.SmallResNet(4, seed: 3, workers: 1);
        using var gpu = new NetDsl.Tests.Networks.SmallResNet.Gpu(_device, 4, seed: 3);
        TrainingParityTests.TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new NetDsl.Training.Sgd(0.01f, momentum: 0.9f),
            new NetDsl.Training.SoftmaxCrossEntropy(), "ResNet SGD, large tile", batch: 4);
    }
}

/// <summary>Equal within a relative tolerance of the larger magnitude (or absolute below 1).</summary>
public sealed class RelativeComparer(double tolerance) : System.Collections.Generic.IEqualityComparer<float>
{
    public bool Equals(float x, float y) => Math.Abs(x - y) <= tolerance * Math.Max(1, Math.Max(Math.Abs(x), Math.Abs(y)));
    public int GetHashCode(float obj) => 0;
}
