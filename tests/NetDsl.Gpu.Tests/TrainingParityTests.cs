using System;
using System.Linq;
using ILGPU.Runtime;
using NetDsl.Gpu;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Gpu.Tests;

/// <summary>Ten training steps on the twin against ten on the CPU network from the same seed: parameters within 1e-4 relative
/// (to the tensor's largest magnitude), losses step by step.</summary>
public class TrainingParityTests(CpuAccelerator accelerator, ITestOutputHelper output) : IClassFixture<CpuAccelerator>
{
    private readonly GpuDevice _device = accelerator.Device;

    internal static float[] Inputs(int count, int seed)
    {
        var rng = new NetDsl.Kernels.Rng((ulong)seed);
        return Enumerable.Range(0, count).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
    }

    internal static void TenSteps(ITestOutputHelper output, INetwork cpu, Func<float[], int[], Loss, Optimizer, float> cpuStep, IGpuNetwork gpu, Func<Optimizer> optimizer, Loss loss, string name, int batch = 3)
    {
        const int steps = 10;
        var optCpu = optimizer();
        var optGpu = optimizer();
        Assert.Equal(cpu.Parameters.ToArray(), gpu.Parameters()); // the twin starts from the CPU network's initialization
        double worstLoss = 0;
        for (int s = 0; s < steps; s++)
        {
            var x = Inputs(batch * cpu.InputSize, 100 + s);
            var labels = Enumerable.Range(0, batch).Select(i => (i + s) % cpu.OutputSize).ToArray();
            float lc = cpuStep(x, labels, loss, optCpu);
            float lg = gpu.TrainStep(x, labels, loss, optGpu);
            worstLoss = Math.Max(worstLoss, Math.Abs(lc - lg) / Math.Max(Math.Abs(lc), 1e-6));
            Assert.True(Math.Abs(lc - lg) <= 1e-4 * Math.Max(Math.Abs(lc), 1e-3), $"{name} step {s + 1}: loss CPU {lc}, GPU {lg}");
        }
        var p = gpu.Parameters();
        double worst = 0;
        foreach (var t in cpu.ParameterTensors.ToArray())
        {
            var c = cpu.Parameters.Slice(t.Offset, t.Length);
            double max = 0, err = 0;
            for (int i = 0; i < t.Length; i++) { max = Math.Max(max, Math.Abs(c[i])); err = Math.Max(err, Math.Abs(c[i] - p[t.Offset + i])); }
            worst = Math.Max(worst, err / max);
            // The 1e-6 floor is for tensors that stay near zero, as a bias feeding a batch norm (its true gradient is 0).
            Assert.True(err <= 1e-4 * max + 1e-6, $"{name}: {t.Name} after {steps} steps differs by {err:G3} (largest value {max:G3})");
        }
        output.WriteLine($"{name}: after {steps} steps the largest parameter difference is {worst:E2} of the tensor's largest value; losses within {worstLoss:E2} relative");
    }

    /// <summary>One training-mode forward and backward of a batch of 3: output, dL/dx and the parameter gradients of the twin
    /// against the CPU network's.</summary>
    internal static void OneStepMatches(INetwork cpu, IGpuNetwork gpu, int inputSeed, int gradientSeed)
    {
        var x = Inputs(3 * cpu.InputSize, inputSeed);
        Close(cpu.Forward(x, 3, training: true).ToArray(), gpu.Forward(x, 3, training: true), "output");
        var dy = Inputs(3 * cpu.OutputSize, gradientSeed);
        cpu.ComputeInputGradient = gpu.ComputeInputGradient = true;
        cpu.ZeroGradients();
        gpu.ZeroGradients();
        cpu.Backward(dy, 3);
        gpu.Backward(dy, 3);
        Close(cpu.InputGradient.ToArray(), gpu.InputGradient(), "dL/dx");
        Close(cpu.Gradients.ToArray(), gpu.Gradients(), "parameter gradients");
    }

    [Fact]
    public void LeNet5TenStepsSgdMomentum()
    {
        using var cpu = new LeNet5(3, seed: 7, workers: 1);
        using var gpu = new LeNet5.Gpu(_device, 3, seed: 7);
        TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new Sgd(0.05f, momentum: 0.9f, weightDecay: 5e-4f), new SoftmaxCrossEntropy(), "LeNet-5 SGD");
    }

    [Fact]
    public void InceptionTenStepsAdam()
    {
        using var cpu = new GoldenInceptionSmall(3, seed: 3, workers: 1);
        using var gpu = new GoldenInceptionSmall.Gpu(_device, 3, seed: 3);
        TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new Adam(0.01f), new SoftmaxCrossEntropy(), "inception Adam");
    }

    [Fact]
    public void ResidualWithDropoutTenStepsAdamW()
    {
        // The twin draws the CPU network's dropout masks (same key, layer, step and index), so training matches too.
        using var cpu = new TinyResidual(3, seed: 5, workers: 1);
        using var gpu = new TinyResidual.Gpu(_device, 3, seed: 5);
        TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new AdamW(0.01f, weightDecay: 0.01f, amsgrad: true), new SoftmaxCrossEntropy([1f, 2f, 0.5f]), "residual+dropout AdamW");
    }

    [Fact]
    public void ResidualTenStepsNesterovMse()
    {
        using var cpu = new TinyResidual(3, seed: 9, workers: 1);
        using var gpu = new TinyResidual.Gpu(_device, 3, seed: 9);
        TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new Sgd(0.05f, momentum: 0.8f, nesterov: true, weightDecay: 1e-3f), new MeanSquaredError(), "residual Nesterov MSE");
    }

    [Fact]
    public void GroupedDilatedAndDepthwiseConvolutionsMatchTheCpuNetwork()
    {
        using var cpu = new GroupedConvolutions(3, seed: 4, workers: 1);
        using var gpu = new GroupedConvolutions.Gpu(_device, 3, seed: 4);
        OneStepMatches(cpu, gpu, inputSeed: 2, gradientSeed: 3);
        TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new RmsProp(0.01f, momentum: 0.5f, centered: true), new MultiMarginLoss(), "grouped RMSprop multi-margin");
    }

    [Fact]
    public void ANetworkWithoutParametersTrainsWithEveryOptimizerKind()
    {
        // ILGPU refuses a launch of no threads: the optimizer step over an empty parameter buffer must not launch.
        foreach (Func<Optimizer> optimizer in new Func<Optimizer>[] { () => new Sgd(0.1f, momentum: 0.9f), () => new Adam(0.01f), () => new RmsProp(0.01f) })
        {
            using var cpu = new ParameterlessStage(3, seed: 2, workers: 1);
            using var gpu = new ParameterlessStage.Gpu(_device, 3, seed: 2);
            Assert.Equal(0, gpu.ParameterCount);
            TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, optimizer, new SoftmaxCrossEntropy(), $"no parameters, {optimizer().GetType().Name}");
            cpu.ComputeInputGradient = gpu.ComputeInputGradient = true;
            OneStepMatches(cpu, gpu, 5, 6);
        }
    }

    [Fact]
    public void TheNotesLayersMatchTheCpuNetwork()
    {
        using var cpu = new NotesLayers(3, seed: 6, workers: 1);
        using var gpu = new NotesLayers.Gpu(_device, 3, seed: 6);
        OneStepMatches(cpu, gpu, inputSeed: 5, gradientSeed: 6);
        TenSteps(output, cpu, (x, y, l, o) => cpu.TrainStep(x, y, l, o), gpu, () => new Sgd(0.05f, momentum: 0.9f), new SoftmaxCrossEntropy(), "notes layers (sum pool, channel maxout, LRN within, DropConnect) SGD");
    }

    [Fact]
    public void TrainedTwinSavesAndLoadsThroughSafetensors()
    {
        // Train on the device, copy to the host network, save; load into a fresh CPU network and a fresh twin: same outputs,
        // same running statistics (GoldenSmallCnn has batch norm).
        using var cpu = new GoldenSmallCnn(4, seed: 2, workers: 1);
        using var gpu = new GoldenSmallCnn.Gpu(_device, 4, seed: 2);
        var x = Inputs(4 * GoldenSmallCnn.InputSize, 8);
        var sgd = new Sgd(0.05f, momentum: 0.9f);
        for (int s = 0; s < 3; s++) gpu.TrainStep(x, [0, 1, 2, 3], new SoftmaxCrossEntropy(), sgd);
        gpu.CopyParametersTo(cpu);
        Assert.Equal(gpu.Buffers(), cpu.Buffers.ToArray());
        string path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"netdsl-gpu-{Guid.NewGuid():N}.safetensors");
        try
        {
            NetDsl.IO.SafeTensors.Save(path, cpu);
            using var loaded = new GoldenSmallCnn(4, seed: 99, workers: 1);
            NetDsl.IO.SafeTensors.Load(path, loaded);
            using var twin = new GoldenSmallCnn.Gpu(_device, 4, seed: 99);
            twin.CopyParametersFrom(loaded);
            Close(gpu.Forward(x, 4), twin.Forward(x, 4), "reloaded twin output");
            Close(gpu.Forward(x, 4), loaded.Forward(x, 4).ToArray(), "reloaded CPU network output");
        }
        finally { System.IO.File.Delete(path); }
    }

    private static void Close(float[] expected, float[] actual, string what)
    {
        Assert.Equal(expected.Length, actual.Length);
        double max = expected.Select(v => (double)Math.Abs(v)).DefaultIfEmpty().Max(); // a network without parameters has no gradients
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-5 * max + 1e-7, $"{what}[{i}]: CPU {expected[i]}, GPU {actual[i]}");
    }

    [SkippableTheory]
    [InlineData(AcceleratorType.Cuda)]
    [InlineData(AcceleratorType.OpenCL)]
    public void RealDeviceMatchesTheCpuNetwork(AcceleratorType type)
    {
        using var device = GpuDevice.TryCreate(type);
        Skip.If(device is null, $"no device: no {type} accelerator on this machine");
        using var cpu = new LeNet5(4, seed: 11, workers: 1);
        using var gpu = new LeNet5.Gpu(device!, 4, seed: 11);
        var x = Inputs(4 * LeNet5.InputSize, 1);
        var expected = cpu.Forward(x, 4).ToArray();
        var actual = gpu.Forward(x, 4);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(expected[i] - actual[i]) <= 1e-4 * (1 + Math.Abs(expected[i])), $"{device!.Description}: output {i}");
        output.WriteLine($"{device!.Description}: LeNet-5 forward matches the CPU network");
    }
}
