using System;
using System.Linq;
using NetDsl.Data;
using NetDsl.Gpu;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Gpu.Tests;

/// <summary>GpuTrainer.Fit against Trainer.Fit on the CPU network: the same batches from the same seed, so after two epochs
/// the host's weights match the CPU-trained ones (within the twin's 1e-4 relative) and the test figures agree; options it
/// cannot honour are refused by name.</summary>
public class GpuTrainerTests(CpuAccelerator accelerator, ITestOutputHelper output) : IClassFixture<CpuAccelerator>
{
    private readonly GpuDevice _device = accelerator.Device;

    private static LabeledImages Data(int count, ulong seed)
    {
        var rng = new NetDsl.Kernels.Rng(seed);
        int size = TinyResidual.InputSize;
        var pixels = new float[count * size];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (int)(rng.NextUInt64() % 3);
            for (int k = 0; k < size; k++) pixels[i * size + k] = rng.NextFloat() + (k % 3 == labels[i] ? 0.5f : 0f);
        }
        return new LabeledImages(pixels, labels, TinyResidual.InputChannels, TinyResidual.InputHeight, TinyResidual.InputWidth, 3);
    }

    /// <summary>Transfers go through page-locked staging: a step that throws after uploading its inputs (a label out of range)
    /// changes nothing, and the calls after it see their own data (the next upload waits for the pending one).</summary>
    [Fact]
    public void AStepThatThrowsAfterItsUploadLeavesTheNextCallsRight()
    {
        var data = Data(4, 8);
        int size = TinyResidual.InputSize;
        using var cpu = new TinyResidual(4, seed: 2, workers: 1);
        using var twin = new TinyResidual.Gpu(_device, 4, seed: 2);
        var before = twin.Parameters();
        var bad = data.Labels.ToArray();
        bad[2] = 7;
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => twin.TrainStep(data.Pixels.AsSpan(0, 4 * size), bad, new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        Assert.Contains("label 7 is out of range for 3 classes", e.Message);
        Assert.Equal(before, twin.Parameters());
        // A different input right after: the twin's output is this input's, as the CPU network computes it.
        var other = data.Pixels.AsSpan(0, 4 * size).ToArray().Select(v => 1f - v).ToArray();
        var gpu = twin.Forward(other, 4);
        var expected = cpu.Forward(other, 4).ToArray();
        double scale = expected.Max(Math.Abs);
        for (int i = 0; i < expected.Length; i++) Assert.True(Math.Abs(gpu[i] - expected[i]) <= 1e-5 * scale + 1e-6, $"output {i}: {gpu[i]} vs {expected[i]}");
    }

    [Fact]
    public void FitOnTheTwinMatchesFitOnTheCpuNetwork()
    {
        var train = Data(20, 3);
        var test = Data(9, 4);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 6, Seed = 11, LearningRateForEpoch = e => 0.05f / (e + 1) }; // 20 = 3·6 + 2: a short last batch
        using var cpu = new TinyResidual(6, seed: 5, workers: 1);
        var cpuReports = Trainer.Fit(cpu, train, test, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), options);

        using var host = new TinyResidual(6, seed: 5, workers: 1);
        using var twin = new TinyResidual.Gpu(_device, 6, seed: 5);
        var gpuReports = GpuTrainer.Fit(twin, host, train, test, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), options);

        Assert.Equal(2, gpuReports.Count);
        for (int e = 0; e < 2; e++)
        {
            output.WriteLine($"epoch {e + 1}: train loss CPU {cpuReports[e].TrainLoss:F6} GPU {gpuReports[e].TrainLoss:F6}; test loss {cpuReports[e].TestLoss:F6} / {gpuReports[e].TestLoss:F6}; lr {gpuReports[e].LearningRate}");
            Assert.Equal(cpuReports[e].TrainLoss, gpuReports[e].TrainLoss, 1e-4 * Math.Max(1, Math.Abs(cpuReports[e].TrainLoss)));
            Assert.Equal(cpuReports[e].TestLoss, gpuReports[e].TestLoss, 1e-4 * Math.Max(1, Math.Abs(cpuReports[e].TestLoss)));
            Assert.Equal(cpuReports[e].LearningRate, gpuReports[e].LearningRate);
        }
        foreach (var t in cpu.ParameterTensors.ToArray())
        {
            var c = cpu.Parameters.Slice(t.Offset, t.Length);
            var h = host.Parameters.Slice(t.Offset, t.Length);
            double max = 0, err = 0;
            for (int i = 0; i < t.Length; i++) { max = Math.Max(max, Math.Abs(c[i])); err = Math.Max(err, Math.Abs(c[i] - h[i])); }
            Assert.True(err <= 1e-4 * max, $"{t.Name}: host after GpuTrainer.Fit differs from Trainer.Fit by {err:G3} (largest value {max:G3})");
        }
    }

    /// <summary>GpuTrainer.Fit keeps the training images on the device (<see cref="DeviceSamples"/>) and each step gathers its
    /// batch there: the same bits as uploading every batch, and the profile shows gathers, not uploads.</summary>
    [Fact]
    public void FitWithTheImagesOnTheDeviceComputesTheSameBitsAsUploadingThem()
    {
        var train = Data(20, 3);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 6, Seed = 11 };
        using var profiling = GpuDevice.Cpu(profiling: true);
        var runs = new (float[] Parameters, double[] Losses, GpuProfile Profile)[2];
        foreach (bool onDevice in new[] { true, false })
        {
            using var host = new TinyResidual(6, seed: 5, workers: 1);
            using var twin = new TinyResidual.Gpu(profiling, 6, seed: 5);
            twin.Profile = new GpuProfile();
            var reports = GpuTrainer.Fit(twin, host, train, null, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), options, keepDataOnDevice: onDevice);
            runs[onDevice ? 0 : 1] = (host.Parameters.ToArray(), reports.Select(r => r.TrainLoss).ToArray(), twin.Profile);
        }
        Assert.Equal(runs[1].Losses, runs[0].Losses);
        Assert.Equal(runs[1].Parameters, runs[0].Parameters);
        Assert.Equal(8, runs[0].Profile.Entries.Single(e => e.Name == "input" && e.Pass == "gather").Calls); // 2 epochs × 4 batches
        Assert.DoesNotContain(runs[0].Profile.Entries, e => e.Pass == "upload");
        Assert.Equal(8, runs[1].Profile.Entries.Single(e => e.Name == "input" && e.Pass == "upload").Calls);
    }

    [Fact]
    public void ATrainStepOnDeviceSamplesEqualsOneOnTheirInputs()
    {
        var data = Data(7, 9);
        int size = TinyResidual.InputSize;
        using var samples = new DeviceSamples(_device, data.Pixels, size);
        Assert.Equal(7, samples.Count);
        using var byIndex = new TinyResidual.Gpu(_device, 4, seed: 3);
        using var byInput = new TinyResidual.Gpu(_device, 4, seed: 3);
        var optIndex = new Adam(0.01f);
        var optInput = new Adam(0.01f);
        int[][] batches = [[6, 0, 3, 3], [1, 5], [2, 4, 6]]; // any order, repeats, a smaller batch
        foreach (var indices in batches)
        {
            var x = indices.SelectMany(i => data.Pixels.AsSpan(i * size, size).ToArray()).ToArray();
            var y = indices.Select(i => data.Labels[i]).ToArray();
            Assert.Equal(byInput.TrainStep(x, y, new SoftmaxCrossEntropy(), optInput), byIndex.TrainStep(samples, indices, y, new SoftmaxCrossEntropy(), optIndex));
        }
        Assert.Equal(byInput.Parameters(), byIndex.Parameters());
    }

    [Fact]
    public void DeviceSamplesRefuseWhatDoesNotFitByName()
    {
        var data = Data(5, 2);
        int size = TinyResidual.InputSize;
        using var twin = new TinyResidual.Gpu(_device, 4, seed: 3);
        using var samples = new DeviceSamples(_device, data.Pixels, size);
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => twin.TrainStep(samples, [0, 5], [1, 1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        Assert.Contains("index 1 is 5, expected 0 to 4", e.Message);
        var a = Assert.Throws<ArgumentException>(() => twin.TrainStep(samples, [0, 1], [1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        Assert.Contains("2 indices but 1 labels", a.Message);
        using var narrow = new DeviceSamples(_device, data.Pixels, size / 2);
        a = Assert.Throws<ArgumentException>(() => twin.TrainStep(narrow, [0], [1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        Assert.Contains($"expected InputSize = {size}", a.Message);
        using var other = GpuDevice.Cpu();
        using var elsewhere = new DeviceSamples(other, data.Pixels, size);
        a = Assert.Throws<ArgumentException>(() => twin.TrainStep(elsewhere, [0], [1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        Assert.Contains("another device", a.Message);
        Assert.Throws<ArgumentOutOfRangeException>(() => twin.TrainStep(samples, [0, 1, 2, 3, 4], [1, 1, 1, 1, 1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        Assert.Throws<ArgumentException>(() => new DeviceSamples(_device, data.Pixels.AsSpan(0, size + 1), size));
    }

    /// <summary>GpuTrainer.Evaluate (the twin's inference, the loss and accuracy on the host) against Trainer.Evaluate on the
    /// CPU network with the same weights, over batches that end short; and Fit's test figures evaluated either way.</summary>
    [Fact]
    public void TheTwinEvaluatesAsTheCpuNetworkDoes()
    {
        var data = Data(11, 6); // batches of 4, 4 and 3
        using var cpu = new TinyResidual(4, seed: 7, workers: 1);
        using var twin = new TinyResidual.Gpu(_device, 4, seed: 7);
        var (cpuLoss, cpuAccuracy) = Trainer.Evaluate(cpu, data, new SoftmaxCrossEntropy());
        var (gpuLoss, gpuAccuracy) = GpuTrainer.Evaluate(twin, data, new SoftmaxCrossEntropy());
        output.WriteLine($"loss CPU {cpuLoss:F7} twin {gpuLoss:F7}; accuracy {cpuAccuracy:F4} / {gpuAccuracy:F4}");
        Assert.Equal(cpuLoss, gpuLoss, 1e-5 * Math.Abs(cpuLoss));
        Assert.Equal(cpuAccuracy, gpuAccuracy);
        Assert.Throws<ArgumentException>(() => GpuTrainer.Evaluate(twin, new LabeledImages(new float[4], [0], 1, 2, 2, 3), new SoftmaxCrossEntropy()));

        var train = Data(12, 3);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 4, Seed = 2, Validation = data };
        var reports = new EpochReport[2];
        foreach (bool onDevice in new[] { true, false })
        {
            using var host = new TinyResidual(4, seed: 5, workers: 1);
            using var fitted = new TinyResidual.Gpu(_device, 4, seed: 5);
            reports[onDevice ? 0 : 1] = GpuTrainer.Fit(fitted, host, train, data, new SoftmaxCrossEntropy(), new Sgd(0.05f), options, evaluateOnDevice: onDevice)[0];
        }
        Assert.Equal(reports[1].TrainLoss, reports[0].TrainLoss); // the same steps
        Assert.Equal(reports[1].TestLoss, reports[0].TestLoss, 1e-5 * Math.Abs(reports[1].TestLoss));
        Assert.Equal(reports[1].ValidationLoss, reports[0].ValidationLoss, 1e-5 * Math.Abs(reports[1].ValidationLoss));
        Assert.Equal(reports[1].TestAccuracy, reports[0].TestAccuracy);
    }

    [Fact]
    public void OptionsTheTwinCannotHonourAreRefusedByName()
    {
        var train = Data(10, 5);
        using var host = new TinyResidual(6, seed: 5, workers: 1);
        using var twin = new TinyResidual.Gpu(_device, 6, seed: 5);
        var e = Assert.Throws<ArgumentException>(() => GpuTrainer.Fit(twin, host, train, null, new SoftmaxCrossEntropy(), new Sgd(0.1f),
            new TrainingOptions { Epochs = 1, FrozenLayers = ["fc"] }));
        Assert.Contains("FrozenLayers", e.Message);
        e = Assert.Throws<ArgumentException>(() => GpuTrainer.Fit(twin, host, train, null, new SoftmaxCrossEntropy(), new Sgd(0.1f),
            new TrainingOptions { Epochs = 1, BatchSize = 8 }));
        Assert.Contains("MaxBatch 6", e.Message);
    }
}
