using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using System.Linq;
using ILGPU;
using ILGPU.Runtime;
using NetDsl.Gpu;
using NetDsl.Training;

namespace NetDsl.Benchmarks;

/// <summary>
/// <c>--device gpu</c>: the generated GPU twins of LeNet5, FashionCnn and ResNet on the best ILGPU accelerator: inference at
/// batch 1 (µs per call) and 256 (samples/s, GFLOP/s), training steps at batch 64 and 256 (device loss and SGD momentum 0.9,
/// lr 0.01; samples/s, GFLOP/s counting the backward as 2× the forward; again with the inputs kept on the device,
/// <c>_device_samples</c>). Each figure is timed after the device is synchronized
/// (the twin's Forward returns a host copy; TrainStep returns the loss). On ILGPU's CPU accelerator (a simulator) the
/// figures are for correctness only, and the iteration counts are cut to keep the run short. Also: a 1024³ product on the
/// generated GEMM kernel (and on cuBLAS when it loads) in GFLOP/s and as a share of the card's fp32 peak; ten training steps
/// of each twin against the CPU network (parity on the real device); the FashionCnn figures again with cuBLAS on.
/// </summary>
internal static class GpuBenchmark
{
    /// <summary>A twin to time: its name, forward FLOPs per sample, input size per sample, constructor; <paramref name="Part"/>:
    /// one stage of FashionCnn alone (batch-256 inference and training only), for where a network's time goes.</summary>
    private sealed record Twin(string Name, long FwdFlops, int InputSize, Func<GpuDevice, int, IGpuNetwork> Create, bool Part = false);

    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    public static int Run(IReadOnlyList<string> names, Func<string, long> flops, float[] images, int[] labels, bool requireGpu, bool profile,
        Action<string, string, double, List<double>?> output)
    {
        using var device = GpuDevice.Best(profiling: profile);
        bool simulator = device.IsSimulator;
        if (simulator && requireGpu)
        {
            Console.Error.WriteLine($"--require-gpu: no CUDA or OpenCL accelerator found (ILGPU sees: {string.Join(", ", device.Context.Devices.Select(d => $"{d.AcceleratorType} {d.Name}"))})");
            return 3;
        }
        double peak = PeakGflops(device);
        Console.WriteLine($"# device={device.Accelerator.AcceleratorType} name=\"{device.Accelerator.Name}\" multiprocessors={device.Accelerator.NumMultiprocessors}" +
            $" max_group={device.Accelerator.MaxNumThreadsPerGroup} gemm_tile={device.GemmTile} fp32_peak_gflops={peak:F0}" +
            (simulator ? " (ILGPU's CPU simulator: correctness only, not speed)" : ""));
        if (!profile) GemmBenchmark(device, simulator, peak, output);
        var twins = new Twin[]
        {
            new("LeNet5", flops("LeNet5"), 784, (d, b) => new FashionMnistSample.LeNet5.Gpu(d, b)),
            new("FashionCnn", flops("FashionCnn"), 784, (d, b) => new FashionMnistSample.Cnn.Gpu(d, b)),
            new("ResNet", flops("ResNet"), 784, (d, b) => new ResNetSample.ResNet.Gpu(d, b)),
            // FashionCnn's stages alone (training them uses the same cross-entropy over their outputs, a cost of its own).
            new("CnnConv1", flops("CnnConv1"), 784, (d, b) => new CnnConv1.Gpu(d, b), Part: true),
            new("CnnStage1", flops("CnnStage1"), 784, (d, b) => new CnnStage1.Gpu(d, b), Part: true),
            new("CnnPool1", flops("CnnPool1"), 32 * 28 * 28, (d, b) => new CnnPool1.Gpu(d, b), Part: true),
            new("CnnConv2", flops("CnnConv2"), 32 * 14 * 14, (d, b) => new CnnConv2.Gpu(d, b), Part: true),
            new("CnnHead", flops("CnnHead"), 64 * 7 * 7, (d, b) => new CnnHead.Gpu(d, b), Part: true),
        };
        int callsB1 = simulator ? 5 : 1000, callsB256 = simulator ? 1 : 20, steps = simulator ? 2 : 100, rounds = simulator ? 1 : 5;
        var chosen = twins.Where(t => names.Count == 0 || names.Any(n => n.Equals(t.Name, StringComparison.OrdinalIgnoreCase))).ToArray();
        // Parity is slow on the simulator (batch 64); NETDSL_PARITY_ON_SIMULATOR=1 runs it there to check this code path.
        if (profile)
        {
            foreach (var twin in chosen) Profile(twin, simulator ? 2 : 256, simulator ? 1 : 20);
            return 0;
        }
        if (!simulator || Environment.GetEnvironmentVariable("NETDSL_PARITY_ON_SIMULATOR") == "1")
            foreach (var twin in chosen.Where(t => !t.Part)) Parity(device, twin, simulator ? 4 : 64, images, labels, output);
        foreach (var twin in chosen) Measure(twin, "");
        if (simulator) return 0;
        device.UseCuBlas = true;
        Console.WriteLine($"# cuBLAS: {device.CuBlasStatus}");
        if (device.Blas is not null)
            foreach (var twin in chosen.Where(t => t.Name == "FashionCnn")) Measure(twin, "_cublas");
        return 0;

        // Batch-256 inference, then training steps (as Measure runs them), each after a warm-up call: the device time of each
        // piece (GpuProfile) as a table and as profile_<workload>_<piece>_us lines (µs per call).
        void Profile(Twin twin, int batch, int calls)
        {
            var x = Enumerable.Range(0, batch * twin.InputSize).Select(i => images[i % images.Length]).ToArray();
            var y = Enumerable.Range(0, batch).Select(i => labels[i % labels.Length]).ToArray();
            using var net = (GpuNetworkBase)twin.Create(device, batch);
            var loss = new SoftmaxCrossEntropy();
            var sgd = new Sgd(0.01f, momentum: 0.9f);
            foreach (var (workload, call) in new (string, Action)[] { ($"infer_b{batch}", () => net.Forward(x, batch)), ($"train_b{batch}", () => net.TrainStep(x, y, loss, sgd)) })
            {
                call();
                var p = new GpuProfile();
                net.Profile = p;
                var t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < calls; i++) call();
                double wallUs = Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls;
                net.Profile = null;
                Console.WriteLine($"# profile net={twin.Name} {workload}: {calls} calls, {wallUs:F1} µs per call on the host's clock, {p.Total.TotalMicroseconds / calls:F1} µs of device time");
                foreach (var line in p.ToString().Split('\n')) Console.WriteLine("#   " + line);
                foreach (var e in p.Entries)
                    output(twin.Name, $"profile_{workload}_{e.Name.Replace(' ', '_')}_{e.Pass}_us", e.Total.TotalMicroseconds / calls, null);
            }
        }

        void Measure(Twin twin, string suffix)
        {
            float[] Input(int batch) => Enumerable.Range(0, batch * twin.InputSize).Select(i => images[i % images.Length]).ToArray();
            int[] Labels(int batch) => Enumerable.Range(0, batch).Select(i => labels[i % labels.Length]).ToArray();
            // Construction compiles every kernel the twin launches (the first twin of a network compiles them, later ones
            // find them in the per-accelerator cache).
            IGpuNetwork Create(int batch, string metric)
            {
                var t0 = Stopwatch.GetTimestamp();
                var net = twin.Create(device, batch);
                output(twin.Name, metric + suffix, Stopwatch.GetElapsedTime(t0).TotalSeconds, null);
                return net;
            }
            if (!twin.Part)
            {
                using var net = Create(1, "gpu_construct_b1_s");
                var x = Input(1);
                net.Forward(x, 1);
                var us = new List<double>();
                for (int r = 0; r < rounds; r++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < callsB1; i++) net.Forward(x, 1);
                    us.Add(Stopwatch.GetElapsedTime(t0).TotalMicroseconds / callsB1);
                }
                output(twin.Name, "gpu_infer_b1_us" + suffix, us.Min(), us);
            }
            using (var net = Create(256, "gpu_construct_b256_s"))
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
                output(twin.Name, "gpu_infer_b256_sps" + suffix, sps.Max(), sps);
                output(twin.Name, "gpu_infer_b256_gflops" + suffix, sps.Max() * twin.FwdFlops / 1e9, null);
            }
            foreach (int batch in twin.Part ? new[] { 256 } : new[] { 64, 256 })
            {
                using var net = Create(batch, $"gpu_construct_train_b{batch}_s");
                var x = Input(batch);
                var y = Labels(batch);
                var loss = new SoftmaxCrossEntropy();
                var sgd = new Sgd(0.01f, momentum: 0.9f);
                // Samples/s of rounds of steps, after one step.
                List<double> Rounds(Action step)
                {
                    step();
                    var sps = new List<double>();
                    for (int r = 0; r < rounds; r++)
                    {
                        var t0 = Stopwatch.GetTimestamp();
                        for (int i = 0; i < steps; i++) step();
                        sps.Add((double)batch * steps / Stopwatch.GetElapsedTime(t0).TotalSeconds);
                    }
                    return sps;
                }
                var sps = Rounds(() => net.TrainStep(x, y, loss, sgd));
                output(twin.Name, $"gpu_train_b{batch}_sps{suffix}", sps.Max(), sps);
                output(twin.Name, $"gpu_train_b{batch}_gflops_3x{suffix}", sps.Max() * 3 * twin.FwdFlops / 1e9, null);
                if (net is GpuNetworkBase gpu && suffix == "")
                {
                    // The same steps with the inputs kept on the device (as GpuTrainer.Fit does): only the indices go over.
                    using var samples = new DeviceSamples(device, x, twin.InputSize);
                    var indices = Enumerable.Range(0, batch).ToArray();
                    var onDevice = Rounds(() => gpu.TrainStep(samples, indices, y, loss, sgd));
                    output(twin.Name, $"gpu_train_b{batch}_sps_device_samples", onDevice.Max(), onDevice);
                }
            }
        }
    }

    /// <summary>The fp32 peak from the multiprocessors, the clock and the FP32 lanes per multiprocessor of the CUDA
    /// architecture (128 from Ampere's GA10x on, 64 before, and on the A100); 0 where unknown.</summary>
    private static double PeakGflops(GpuDevice device)
    {
        if (device.Accelerator is not ILGPU.Runtime.Cuda.CudaAccelerator cuda) return 0;
        int major = cuda.Architecture is { } arch ? arch.Major : 0, minor = cuda.Architecture is { } a2 ? a2.Minor : 0;
        int lanes = major >= 9 || (major == 8 && minor >= 6) ? 128 : 64;
        return cuda.NumMultiprocessors * lanes * 2.0 * cuda.ClockRate / 1e3; // ClockRate is in MHz
    }

    /// <summary>C = A·B at 1024³ (4096³ too off the simulator) on the generated GEMM kernel and on cuBLAS: GFLOP/s, share of the
    /// fp32 peak, and the largest error of 64 sampled entries against a double-precision dot product.</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    private static void GemmBenchmark(GpuDevice device, bool simulator, double peak, Action<string, string, double, List<double>?> output)
    {
        var accelerator = device.Accelerator;
        foreach (int n in simulator ? new[] { 64 } : new[] { 1024, 4096 })
        {
            var rng = new Random(3);
            var a = new float[n * n];
            var b = new float[n * n];
            for (int i = 0; i < a.Length; i++) { a[i] = (float)(rng.NextDouble() * 2 - 1); b[i] = (float)(rng.NextDouble() * 2 - 1); }
            using var da = accelerator.Allocate1D(a);
            using var db = accelerator.Allocate1D(b);
            using var dc = accelerator.Allocate1D<float>((long)n * n);
            var shape = new GemmShape(n, n, n, n, 1, n, 1, n, accumulate: false);
            string net = $"Gemm{n}";
            void Time(string metric, Action launch)
            {
                launch();
                accelerator.Synchronize();
                int reps = simulator ? 1 : n >= 4096 ? 10 : 50;
                var gflops = new List<double>();
                for (int r = 0; r < (simulator ? 1 : 5); r++)
                {
                    var t0 = Stopwatch.GetTimestamp();
                    for (int i = 0; i < reps; i++) launch();
                    accelerator.Synchronize();
                    gflops.Add(2.0 * n * n * n * reps / Stopwatch.GetElapsedTime(t0).TotalSeconds / 1e9);
                }
                var c = dc.GetAsArray1D();
                double worst = 0;
                for (int s = 0; s < 64; s++)
                {
                    int i = rng.Next(n), j = rng.Next(n);
                    double exact = 0;
                    for (int k = 0; k < n; k++) exact += (double)a[(long)i * n + k] * b[(long)k * n + j];
                    worst = Math.Max(worst, Math.Abs(c[(long)i * n + j] - exact) / Math.Sqrt(n));
                }
                output(net, metric + "_gflops", gflops.Max(), gflops);
                if (peak > 0) output(net, metric + "_peak_pct", 100 * gflops.Max() / peak, null);
                output(net, metric + "_max_err_over_sqrt_k", worst, null);
            }
            // The planned launch (tile and split along K as the twins get them), then each GPU kernel alone in one launch.
            Time("gemm_generated", () => device.Gemm(da.View, db.View, dc.View, shape));
            if (!simulator)
            {
                Time("gemm_tile64", () => device.Gemm(da.View, db.View, dc.View, shape, 64));
                Time("gemm_tile128", () => device.Gemm(da.View, db.View, dc.View, shape, 128));
                if (n <= 1024)
                    foreach (int tile in new[] { 64, 128 })
                        foreach (int slices in new[] { 2, 3, 4, 8 })
                            Time($"gemm_tile{tile}_split{slices}", () => device.Gemm(da.View, db.View, dc.View, shape, tile, slices));
            }
            if (simulator) continue;
            device.UseCuBlas = true;
            if (device.Blas is { } blas) Time("gemm_cublas", () => blas.Gemm(da.View, db.View, dc.View, shape));
            else Console.WriteLine($"# cuBLAS: {device.CuBlasStatus}");
            device.UseCuBlas = false;
        }
    }

    /// <summary>Ten SGD steps (batch 64 on a GPU, momentum 0.9) of the twin and of the CPU network from the same seed: the largest
    /// parameter difference relative to its tensor's largest value, and the losses' largest relative difference.</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    private static void Parity(GpuDevice device, Twin twin, int batch, float[] images, int[] labels, Action<string, string, double, List<double>?> output)
    {
        string name = twin.Name;
        const int steps = 10;
        var loss = new SoftmaxCrossEntropy();
        Optimizer sgdCpu = new Sgd(0.01f, momentum: 0.9f), sgdGpu = new Sgd(0.01f, momentum: 0.9f);
        INetwork cpu;
        Func<float[], int[], float> cpuStep;
        switch (name)
        {
            case "LeNet5": { var n = new FashionMnistSample.LeNet5(batch, 1, 1); cpu = n; cpuStep = (x, y) => n.TrainStep(x, y, loss, sgdCpu); break; }
            case "FashionCnn": { var n = new FashionMnistSample.Cnn(batch, 1, 1); cpu = n; cpuStep = (x, y) => n.TrainStep(x, y, loss, sgdCpu); break; }
            default: { var n = new ResNetSample.ResNet(batch, 1, 1); cpu = n; cpuStep = (x, y) => n.TrainStep(x, y, loss, sgdCpu); break; }
        }
        using var owned = cpu as IDisposable;
        using var gpu = twin.Create(device, batch);
        double lossDiff = 0;
        for (int s = 0; s < steps; s++)
        {
            var x = images.AsSpan(s * batch * 784, batch * 784).ToArray();
            var y = Enumerable.Range(s * batch, batch).Select(i => labels[i % labels.Length]).ToArray();
            float lc = cpuStep(x, y), lg = gpu.TrainStep(x, y, loss, sgdGpu);
            lossDiff = Math.Max(lossDiff, Math.Abs(lc - lg) / Math.Abs(lc));
            if (s == 0 || s == steps - 1)
            {
                var (worst, tensor) = LargestDifference(cpu, gpu);
                output(name, $"parity_step{s + 1}_max_param_rel", worst, null);
                Console.WriteLine($"# parity {name} step {s + 1}: largest relative difference in {tensor}");
            }
        }
        output(name, "parity_10steps_max_loss_rel", lossDiff, null);
    }

    /// <summary>The largest parameter difference relative to its tensor's largest value (tensors above 1e-3), and which tensor.</summary>
    private static (double Worst, string Tensor) LargestDifference(INetwork cpu, IGpuNetwork gpu)
    {
        var p = gpu.Parameters();
        var q = cpu.Parameters;
        double worst = 0;
        string tensor = "";
        foreach (var t in cpu.ParameterTensors)
        {
            double max = 0, err = 0;
            for (int i = t.Offset; i < t.Offset + t.Length; i++) { max = Math.Max(max, Math.Abs(q[i])); err = Math.Max(err, Math.Abs(q[i] - p[i])); }
            if (max > 1e-3 && err / max > worst) { worst = err / max; tensor = $"{t.Name} (largest value {max:G3}, difference {err:G3})"; }
        }
        return (worst, tensor);
    }
}
