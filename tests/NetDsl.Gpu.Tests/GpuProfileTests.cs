using System;
using System.Diagnostics;
using System.Linq;
using NetDsl.Gpu;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Gpu.Tests;

/// <summary><see cref="GpuProfile"/>: a twin on a device created with profiling on charges each step's device time to its
/// layers' passes and to the upload, loss, optimizer and download, without changing what the step computes.</summary>
public class GpuProfileTests(CpuAccelerator accelerator, ITestOutputHelper output) : IClassFixture<CpuAccelerator>
{
    [Fact]
    public void EveryLayerAndPassIsChargedOncePerCallAndTheResultsAreUnchanged()
    {
        using var profiling = GpuDevice.Cpu(threadsPerWarp: 4, warpsPerGroup: 4, processors: 2, profiling: true);
        Assert.True(profiling.Profiling);
        using var cpu = new LeNet5(1, seed: 3, workers: 1);
        using var profiled = new LeNet5.Gpu(profiling, 3, seed: 3);
        using var plain = new LeNet5.Gpu(accelerator.Device, 3, seed: 3);
        var profile = new GpuProfile();
        profiled.Profile = profile;
        var x = TrainingParityTests.Inputs(3 * LeNet5.InputSize, 8);
        int[] labels = [1, 4, 9];
        var wall = Stopwatch.StartNew();
        for (int step = 0; step < 2; step++)
            Assert.Equal(plain.TrainStep(x, labels, new SoftmaxCrossEntropy(), new Sgd(0.1f)), profiled.TrainStep(x, labels, new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        var y = profiled.Forward(x, 3);
        wall.Stop();
        Assert.Equal(plain.Parameters(), profiled.Parameters());
        Assert.Equal(plain.Forward(x, 3), y);

        output.WriteLine(profile.ToString());
        var layers = cpu.Layers.ToArray().Select(l => l.Name).ToArray();
        foreach (var name in layers)
        {
            Assert.Equal(3, profile.Entries.Single(e => e.Name == name && e.Pass == "forward").Calls);
            Assert.Equal(2, profile.Entries.Single(e => e.Name == name && e.Pass == "backward").Calls);
        }
        Assert.Equal(3, profile.Entries.Single(e => e.Name == "input" && e.Pass == "upload").Calls);
        Assert.Equal(2, profile.Entries.Single(e => e.Name == "loss").Calls);
        Assert.Equal(2, profile.Entries.Single(e => e.Name == "optimizer").Calls);
        Assert.Equal(1, profile.Entries.Single(e => e.Name == "output" && e.Pass == "download").Calls);
        Assert.Equal(2 * layers.Length + 5, profile.Entries.Count);
        Assert.All(profile.Entries, e => Assert.True(e.Total >= TimeSpan.Zero, $"{e.Name} {e.Pass}: {e.Total}"));
        // The simulator runs the kernels as they are launched: the convolutions' forward passes take measurable time, and
        // the pieces together take no more than the calls did.
        Assert.True(profile.Entries.Single(e => e.Name == layers[0] && e.Pass == "forward").Total > TimeSpan.Zero);
        Assert.True(profile.Total <= wall.Elapsed, $"profile {profile.Total} > wall {wall.Elapsed}");

        profile.Clear();
        Assert.Empty(profile.Entries);
        profiled.Profile = null;
        profiled.Forward(x, 3);
        Assert.Empty(profile.Entries);
    }

    [Fact]
    public void ADeviceWithoutProfilingRefusesAProfileByName()
    {
        using var twin = new LeNet5.Gpu(accelerator.Device, 1, seed: 3);
        var e = Assert.Throws<InvalidOperationException>(() => twin.Profile = new GpuProfile());
        Assert.Contains("GpuDevice.Best(profiling: true)", e.Message);
    }
}
