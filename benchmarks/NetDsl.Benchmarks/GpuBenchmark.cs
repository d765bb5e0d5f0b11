using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using NetDsl.Gpu;
using NetDsl.Training;

namespace NetDsl.Benchmarks;

/// <summary>
/// <c>--device gpu</c>: the generated GPU twins of LeNet5, FashionCnn and ResNet on the best ILGPU accelerator: inference at
/// batch 1 (µs per call) and 256 (samples/s, GFLOP/s), training steps at batch 64 and 256 (device loss and SGD momentum 0.9,
/// lr 0.01; samples/s, GFLOP/s counting the backward as 2× the forward). Each figure is timed after the device is synchronized
/// (the twin's Forward returns a host copy; TrainStep returns the loss). On ILGPU's CPU accelerator (a simulator) the
/// figures are for correctness only, and the iteration counts are cut to keep the run short.
/// </summary>
internal static class GpuBenchmark
{
    private sealed record Twin(string Name, long FwdFlops, Func<GpuDevice, int, IGpuNetwork> Create);

    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public static void Run(IReadOnlyList<string> names, Func<string, long> flops, float[] images, int[] labels, Action<string, string, double, List<double>?> output)
    {
        using var device = GpuDevice.Best();
        bool simulator = device.IsSimulator;
        Console.WriteLine($"# device={device.Accelerator.AcceleratorType} name=\"{device.Accelerator.Name}\"{(simulator ? " (ILGPU's CPU simulator: correctness only, not speed)" : "")}");
        var twins = new Twin[]
        {
            new("LeNet5", flops("LeNet5"), (d, b) => new FashionMnistSample.LeNet5.Gpu(d, b)),
            new("FashionCnn", flops("FashionCnn"), (d, b) => new FashionMnistSample.Cnn.Gpu(d, b)),
            new("ResNet", flops("ResNet"), (d, b) => new ResNetSample.ResNet.Gpu(d, b)),
        };
        int callsB1 = simulator ? 5 : 1000, callsB256 = simulator ? 1 : 20, steps = simulator ? 2 : 100, rounds = simulator ? 1 : 5;
        foreach (var twin in twins.Where(t => names.Count == 0 || names.Any(n => n.Equals(t.Name, StringComparison.OrdinalIgnoreCase))))
        {
            float[] Input(int batch) => Enumerable.Range(0, batch * 784).Select(i => images[i % images.Length]).ToArray();
            int[] Labels(int batch) => Enumerable.Range(0, batch).Select(i => labels[i % labels.Length]).ToArray();
            using (var net = twin.Create(device, 1))
            {
                var x = Input(1);
                net.Forward(x, 1);
                var us = new List<double>();
                for (int r = 0; r < rounds; r++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < callsB1; i++) net.Forward(x, 1);
                    us.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds / callsB1);
                }
                output(twin.Name, "gpu_infer_b1_us", us.Min(), us);
            }
            using (var net = twin.Create(device, 256))
            {
                var x = Input(256);
                net.Forward(x, 256);
                var sps = new List<double>();
                for (int r = 0; r < rounds; r++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < callsB256; i++) net.Forward(x, 256);
                    sps.Add(256.0 * callsB256 / Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                output(twin.Name, "gpu_infer_b256_sps", sps.Max(), sps);
                output(twin.Name, "gpu_infer_b256_gflops", sps.Max() * twin.FwdFlops / 1e9, null);
            }
            foreach (int batch in new[] { 64, 256 })
            {
                using var net = twin.Create(device, batch);
                var x = Input(batch);
                var y = Labels(batch);
                var loss = new SoftmaxCrossEntropy();
                var sgd = new Sgd(0.01f, momentum: 0.9f);
                net.TrainStep(x, y, loss, sgd);
                var sps = new List<double>();
                for (int r = 0; r < rounds; r++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < steps; i++) net.TrainStep(x, y, loss, sgd);
                    sps.Add((double)batch * steps / Stopwatch.GetElapsedTime(t0).TotalSeconds);
                }
                output(twin.Name, $"gpu_train_b{batch}_sps", sps.Max(), sps);
                output(twin.Name, $"gpu_train_b{batch}_gflops_3x", sps.Max() * 3 * twin.FwdFlops / 1e9, null);
            }
        }
    }
}
