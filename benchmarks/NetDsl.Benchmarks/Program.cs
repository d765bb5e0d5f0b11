using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using NetDsl.Data;
using NetDsl.Training;

namespace NetDsl.Benchmarks;

/// <summary>
/// Throughput and latency of generated networks, one figure per line in the format of ../shared/peers/run.sh:
/// <c>peer=netdsl net=N threads=T metric=M value=V [min= max= n=]</c>. Protocol as the TorchSharp peer's:
/// batch-1 inference: median of per-round medians (rounds × calls, after warm-up); batch-256 inference and
/// batch-64 training (SGD momentum 0.9, lr 0.01): median samples/s over rounds; FLOPs count conv and dense
/// multiply-adds ×2 (training: ×3, an approximation).
/// </summary>
public static class Program
{
    sealed record Net(string Name, long FwdFlops, Func<int, int, INetwork> Create);

    static readonly Net[] Nets =
    [
        new("LeNet5", Flops(Conv(1, 6, 5, 28, 28), Conv(6, 16, 5, 10, 10), Dense(400, 120), Dense(120, 84), Dense(84, 10)), (b, t) => new FashionMnistSample.LeNet5(b, 1, t)),
        new("FashionCnn", Flops(Conv(1, 32, 3, 28, 28), Conv(32, 64, 3, 14, 14), Dense(3136, 128), Dense(128, 10)), (b, t) => new FashionMnistSample.Cnn(b, 1, t)),
        new("Vgg", Flops(Conv(1, 32, 3, 28, 28), Conv(32, 32, 3, 28, 28), Conv(32, 64, 3, 14, 14), Conv(64, 64, 3, 14, 14),
            Conv(64, 128, 3, 7, 7), Conv(128, 128, 3, 7, 7), Dense(1152, 256), Dense(256, 10)), (b, t) => new Vgg(b, 1, t)),
        new("ResNet", Flops(Conv(1, 16, 3, 28, 28), Conv(16, 16, 3, 28, 28), Conv(16, 16, 3, 28, 28), Conv(16, 32, 3, 14, 14),
            Conv(32, 32, 3, 14, 14), Conv(32, 32, 3, 14, 14), Dense(32, 10)), (b, t) => new ResNetSample.ResNet(b, 1, t)),
        new("CnnConv1", Flops(Conv(1, 32, 3, 28, 28)), (b, t) => new CnnConv1(b, 1, t)),
        new("CnnConv2", Flops(Conv(32, 64, 3, 14, 14)), (b, t) => new CnnConv2(b, 1, t)),
        new("CnnHead", Flops(Dense(3136, 128), Dense(128, 10)), (b, t) => new CnnHead(b, 1, t)),
        new("CnnPool1", 0, (b, t) => new CnnPool1(b, 1, t)),
        new("CnnStage1", Flops(Conv(1, 32, 3, 28, 28)), (b, t) => new CnnStage1(b, 1, t)),
    ];

    static long Conv(int inC, int outC, int k, int outH, int outW) => 2L * outC * outH * outW * inC * k * k;
    static long Dense(int inSize, int outSize) => 2L * inSize * outSize;
    static long Flops(params long[] layers) => layers.Sum();

    static int Rounds = 5, ItersB1 = 1000, WarmB1 = 300, ItersB256 = 10, WarmTrain = 20, Steps = 200, TrainRounds = 3;
    static string Tags = "";
    static string Metrics = "b1,b256,train"; // which workloads to run (for profiling one at a time)
    static bool Wants(string metric) => Metrics.Split(',').Contains(metric);

    public static int Main(string[] args)
    {
        CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
        Thread.CurrentThread.CurrentCulture = CultureInfo.InvariantCulture;
        var threads = new List<int>();
        var names = new List<string>();
        bool quick = false, abDeterminism = false, abWinograd = false, winograd5 = false;
        int rounds = 0;
        string device = "cpu";
        bool requireGpu = false, gpuProfile = false;
        for (int i = 0; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "--quick": quick = true; break;
                case "--threads": threads.AddRange(args[++i].Split(',').Select(int.Parse)); break;
                case "--nets": names.AddRange(args[++i].Split(',')); break;
                case "--tag": Tags += " " + args[++i]; break;
                case "--metrics": Metrics = args[++i]; break;
                case "--rounds": rounds = int.Parse(args[++i]); break;
                // Slices per worker instead of 6 fixed slices: results then depend on the worker count (to measure what determinism costs).
                case "--nondeterministic": NetDsl.Kernels.WorkerPool.DeterministicReduction = false; Tags += " reduction=per-worker"; break;
                // Deterministic against per-worker reduction in one process, alternating short rounds (fair on a busy machine).
                case "--determinism-ab": abDeterminism = true; break;
                case "--winograd-weight-gradient-ab": abWinograd = true; break;
                case "--winograd5-kernel": winograd5 = true; break;
                case "--device": device = args[++i].ToLowerInvariant(); break;
                // With --device gpu: fail instead of falling back to ILGPU's CPU simulator (for runs on a GPU machine).
                case "--require-gpu": requireGpu = true; break;
                // With --device gpu: where each twin's batch-256 inference and training steps spend their device time, per layer.
                case "--profile": gpuProfile = true; break;
                case "-h" or "--help":
                    Console.WriteLine("usage: NetDsl.Benchmarks [--quick] [--threads 1,2] [--nets LeNet5,FashionCnn,Vgg,ResNet,CnnConv1,CnnConv2,CnnHead,CnnPool1,CnnStage1] [--tag k=v] [--metrics b1,b256,train] [--rounds N] [--nondeterministic] [--determinism-ab] [--winograd-weight-gradient-ab] [--winograd5-kernel] [--device cpu|gpu] [--require-gpu] [--profile]");
                    return 0;
                default: Console.Error.WriteLine("unknown option " + args[i]); return 2;
            }
        }
        if (quick) { Rounds = 3; ItersB1 = 500; TrainRounds = 2; Steps = 100; }
        if (rounds > 0) Rounds = TrainRounds = rounds; // long runs, for a profiler
        if (threads.Count == 0) threads.AddRange([1, 2]);
        if (names.Count == 0) names.AddRange(["LeNet5", "FashionCnn", "Vgg", "ResNet", "CnnConv2"]);

        if (device is not ("cpu" or "gpu")) { Console.Error.WriteLine($"--device must be cpu or gpu, got '{device}'"); return 2; }
        if (device == "gpu")
        {
            var gpuData = LoadData();
#pragma warning disable IL2026, IL3050 // ILGPU compiles kernels at run time
            return GpuBenchmark.Run(names, n => Nets.First(x => x.Name == n).FwdFlops, gpuData.TestX, gpuData.TrainY, requireGpu, gpuProfile, (net, metric, value, vals) => Out(net, 0, metric, value, vals));
#pragma warning restore IL2026, IL3050
        }
        if (winograd5)
        {
            Winograd5Kernel(quick ? 15 : 41);
            return 0;
        }
        if (abWinograd)
        {
            WinogradWeightGradientAB(quick ? 15 : 41);
            return 0;
        }
        var data = LoadData();
        if (abDeterminism)
        {
            foreach (string name in names)
                foreach (int t in threads) DeterminismAB(Nets.First(n => n.Name.Equals(name, StringComparison.OrdinalIgnoreCase)), t, data, quick ? 15 : 41);
            return 0;
        }
        Console.WriteLine($"# peer=netdsl dotnet={Environment.Version} cpus={Environment.ProcessorCount} avx512={System.Runtime.Intrinsics.Vector512.IsHardwareAccelerated} data={data.Source}");
        foreach (string name in names)
        {
            var net = Nets.FirstOrDefault(n => n.Name.Equals(name, StringComparison.OrdinalIgnoreCase))
                ?? throw new ArgumentException("unknown net " + name);
            foreach (int t in threads) Run(net, t, data);
        }
        return 0;
    }

    sealed record Data(float[] TrainX, int[] TrainY, float[] TestX, string Source);

    static Data LoadData()
    {
        string? dir = FashionMnist.FindFullDataDirectory(null);
        if (dir is not null)
        {
            var (train, test) = FashionMnist.Load(dir);
            return new Data(train.Pixels, train.Labels, test.Pixels, dir);
        }
        // No data set: random images (the timings do not depend on the values).
        var rng = new Random(1);
        var x = new float[20000 * 784];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        var y = new int[20000];
        for (int i = 0; i < y.Length; i++) y[i] = rng.Next(10);
        return new Data(x, y, x, "random");
    }

    static double Median(List<double> v)
    {
        var s = v.OrderBy(x => x).ToList();
        int n = s.Count;
        return n % 2 == 1 ? s[n / 2] : 0.5 * (s[n / 2 - 1] + s[n / 2]);
    }

    static void Out(string net, int threads, string metric, double value, List<double>? vals = null)
    {
        var s = $"peer=netdsl net={net} threads={threads}{Tags} metric={metric} value={value:G6}";
        if (vals is { Count: > 1 }) s += $" min={vals.Min():G6} max={vals.Max():G6} n={vals.Count}";
        Console.WriteLine(s);
    }

    static void Warm(Action call, int count)
    {
        long t0 = Stopwatch.GetTimestamp();
        for (int i = 0; i < count || Sec(t0, Stopwatch.GetTimestamp()) < 1.5; i++) call();
    }

    static double Sec(long t0, long t1) => (t1 - t0) / (double)Stopwatch.Frequency;

    static void Run(Net spec, int threads, Data d)
    {
        using var net1 = (IDisposable)spec.Create(1, threads);
        var n1 = (INetwork)net1;
        int inSize = n1.InputSize;
        // Inputs: Fashion-MNIST images, tiled to the input size for nets whose input is not 1×28×28.
        float[] Input(float[] src, int offset, int count)
        {
            var x = new float[count * inSize];
            for (int i = 0; i < x.Length; i++) x[i] = src[(offset * 784 + i) % src.Length];
            return x;
        }
        Out(spec.Name, threads, "fwd_flops_per_sample", spec.FwdFlops);

        if (Wants("b1")) RunB1(spec, threads, n1, Input(d.TestX, 0, 1));
        if (Wants("b256")) RunB256(spec, threads, Input(d.TestX, 0, 256));
        if (Wants("train")) RunTrain(spec, threads, d, Input);
    }

    // ---- inference, batch 1 ----
    static void RunB1(Net spec, int threads, INetwork n1, float[] x1)
    {
        // Warm-up by count and by time: tiered compilation promotes hot methods only after ~100 ms without new tier-0 code.
        Warm(() => n1.Forward(x1, 1), WarmB1);
        var rounds = new List<double>();
        var ts = new List<double>(ItersB1);
        for (int r = 0; r < Rounds; r++)
        {
            ts.Clear();
            for (int i = 0; i < ItersB1; i++)
            {
                long t0 = Stopwatch.GetTimestamp();
                n1.Forward(x1, 1);
                ts.Add(Sec(t0, Stopwatch.GetTimestamp()) * 1e6);
            }
            rounds.Add(Median(ts));
        }
        Out(spec.Name, threads, "infer_b1_us", Median(rounds), rounds);

    }

    // ---- inference, batch 256 ----
    static void RunB256(Net spec, int threads, float[] x256)
    {
        using (var net256 = (IDisposable)spec.Create(256, threads))
        {
            var n256 = (INetwork)net256;
            Warm(() => n256.Forward(x256, 256), 3);
            var sps = new List<double>();
            for (int r = 0; r < Rounds; r++)
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < ItersB256; i++) n256.Forward(x256, 256);
                sps.Add(256.0 * ItersB256 / Sec(t0, Stopwatch.GetTimestamp()));
            }
            double m = Median(sps);
            Out(spec.Name, threads, "infer_b256_sps", m, sps);
            Out(spec.Name, threads, "infer_b256_gflops", m * spec.FwdFlops / 1e9);
        }

    }

    /// <summary>The sample cnn's conv2 weight gradient alone (32 → 64 channels, 14×14, 3 samples a call as the generated
    /// backward pass calls it), in F(2×2) and in F(4×4) tiles, alternating rounds of 200 calls in one process; prints the
    /// median µs per sample of each and their ratio. The whole training step is too noisy on two vCPUs to show a change
    /// of a few percent; this kernel alone is not.</summary>
    static void WinogradWeightGradientAB(int rounds)
    {
        var g = new NetDsl.Kernels.ConvGeometry(32, 14, 14, 3, 3, 1, 1, 1, 1, 1, 14, 14);
        const int samples = 3, calls = 200;
        var rng = new Random(1);
        float[] x = new float[samples * 32 * 196], dy = new float[samples * 64 * 196], dWeight = new float[64 * 32 * 9];
        for (int i = 0; i < x.Length; i++) x[i] = (float)rng.NextDouble();
        for (int i = 0; i < dy.Length; i++) dy[i] = (float)rng.NextDouble() - 0.5f;
        var workspaces = new[] { new NetDsl.Kernels.WinogradWorkspace(g, 64, samples, 2), new NetDsl.Kernels.WinogradWorkspace(g, 64, samples, 4) };
        double Round(NetDsl.Kernels.WinogradWorkspace ws)
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int k = 0; k < calls; k++)
            {
                NetDsl.Kernels.Winograd.WeightGradient(ws, x, dy, samples);
                if (k % 21 == 20) NetDsl.Kernels.Winograd.AddWeightGradient(ws, dWeight); // a slice's worth of calls, as in a step
            }
            NetDsl.Kernels.Winograd.AddWeightGradient(ws, dWeight);
            return Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls / samples;
        }
        foreach (var ws in workspaces) { Round(ws); Round(ws); } // warm-up: tiered compilation
        var times = new[] { new List<double>(), new List<double>() };
        for (int r = 0; r < rounds; r++)
            for (int w = 0; w < 2; w++) times[w].Add(Round(workspaces[w]));
        double f2 = Median(times[0]), f4 = Median(times[1]);
        Console.WriteLine($"peer=netdsl kernel=winograd_weight_gradient net=CnnConv2 tile=2 metric=us_per_sample value={f2:F2} min={times[0].Min():F2} max={times[0].Max():F2} n={rounds}");
        Console.WriteLine($"peer=netdsl kernel=winograd_weight_gradient net=CnnConv2 tile=4 metric=us_per_sample value={f4:F2} min={times[1].Min():F2} max={times[1].Max():F2} n={rounds}");
        Console.WriteLine($"peer=netdsl kernel=winograd_weight_gradient net=CnnConv2 metric=f2_over_f4 value={f2 / f4:F3}");
    }

    /// <summary>LeNet-5's conv2 alone (6 → 16 channels, 14×14 → 10×10, 5×5), eight samples per call, in F(2×2, 5×5) with the
    /// samples in the lanes: the forward pass and the backward pass (weight and input gradients), and the lane kernel's
    /// forward pass per sample for comparison; µs per sample, medians of alternating rounds.</summary>
    static void Winograd5Kernel(int rounds)
    {
        var g = new NetDsl.Kernels.ConvGeometry(6, 14, 14, 5, 5, 1, 1, 0, 0, 1, 10, 10);
        const int samples = 8, calls = 200;
        var rng = new Random(1);
        float[] x = new float[samples * 1176], dy = new float[samples * 1600], y = new float[samples * 1600], dx = new float[samples * 1176];
        float[] w = new float[2400], bias = new float[16], dWeight = new float[2400], scratch = new float[16384];
        foreach (var a in new[] { x, dy, w, bias }) for (int i = 0; i < a.Length; i++) a[i] = (float)rng.NextDouble() - 0.5f;
        var ws = new NetDsl.Kernels.Winograd5Workspace(g, 16);
        var lanes = new NetDsl.Kernels.ChannelLaneWeights(g, 16);
        double Forward() { long t0 = Stopwatch.GetTimestamp(); for (int k = 0; k < calls; k++) NetDsl.Kernels.Winograd.Forward5(ws, w, bias, x, y, samples, pass: 1); return Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls / samples; }
        double Backward()
        {
            long t0 = Stopwatch.GetTimestamp();
            for (int k = 0; k < calls; k++)
            {
                NetDsl.Kernels.Winograd.Backward5(ws, w, x, dy, samples, dx, pass: 1);
                if (k % 4 == 3) NetDsl.Kernels.Winograd.AddWeightGradient5(ws, dWeight); // a slice's worth of calls
            }
            return Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls / samples;
        }
        double Lanes()
        {
            long t0 = Stopwatch.GetTimestamp();
            var packed = NetDsl.Kernels.ChannelLaneConv.Pack(lanes, w);
            for (int k = 0; k < calls; k++)
                for (int s = 0; s < samples; s++) NetDsl.Kernels.ChannelLaneConv.Forward(g, 16, packed, bias, x.AsSpan(s * 1176, 1176), y.AsSpan(s * 1600, 1600), scratch);
            return Stopwatch.GetElapsedTime(t0).TotalMicroseconds / calls / samples;
        }
        var kinds = new (string Name, Func<double> Run)[] { ("forward5", Forward), ("backward5", Backward), ("lanes_forward", Lanes) };
        foreach (var k in kinds) { k.Run(); k.Run(); } // warm-up: tiered compilation
        var times = kinds.Select(_ => new List<double>()).ToArray();
        for (int r = 0; r < rounds; r++)
            for (int i = 0; i < kinds.Length; i++) times[i].Add(kinds[i].Run());
        for (int i = 0; i < kinds.Length; i++)
            Console.WriteLine($"peer=netdsl kernel={kinds[i].Name} net=LeNet5Conv2 metric=us_per_sample value={Median(times[i]):F2} min={times[i].Min():F2} max={times[i].Max():F2} n={rounds}");
    }

    // ---- training, batch 64, SGD momentum 0.9 lr 0.01 ----
    /// <summary>Training steps of batch 64 (SGD momentum 0.9) with deterministic reduction (6 fixed slices) and with per-worker
    /// shares, alternating rounds of 20 steps each; prints the median per-round time of each and their ratio.</summary>
    static void DeterminismAB(Net spec, int threads, Data d, int rounds)
    {
        INetwork Make(bool deterministic)
        {
            NetDsl.Kernels.WorkerPool.DeterministicReduction = deterministic;
            try { return spec.Create(64, threads); } finally { NetDsl.Kernels.WorkerPool.DeterministicReduction = true; }
        }
        var nets = new[] { Make(true), Make(false) };
        var x = new float[64 * nets[0].InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = d.TrainX[i % d.TrainX.Length];
        var y = d.TrainY.AsSpan(0, 64).ToArray();
        var loss = new SoftmaxCrossEntropy();
        var sgds = new[] { new Sgd(0.001f, momentum: 0.9f), new Sgd(0.001f, momentum: 0.9f) };
        var grad = new float[64 * nets[0].OutputSize];
        void Step(int k)
        {
            var n = nets[k];
            var output = n.Forward(x, 64, training: true);
            loss.Compute(output, y, 64, n.OutputSize, grad);
            n.ZeroGradients();
            n.Backward(grad, 64);
            n.Update(sgds[k]);
        }
        for (int k = 0; k < 2; k++) Warm(() => Step(k), 20);
        var times = new[] { new List<double>(), new List<double>() };
        var ratios = new List<double>();
        for (int r = 0; r < rounds; r++)
        {
            var pair = new double[2];
            foreach (int k in r % 2 == 0 ? new[] { 0, 1 } : new[] { 1, 0 })
            {
                long t0 = Stopwatch.GetTimestamp();
                for (int i = 0; i < 20; i++) Step(k);
                pair[k] = Sec(t0, Stopwatch.GetTimestamp()) / 20;
                times[k].Add(pair[k]);
            }
            ratios.Add(pair[0] / pair[1]);
        }
        Console.WriteLine($"net={spec.Name} threads={threads} train_b64 step: deterministic {Median(times[0]) * 1e3:F3} ms, per-worker {Median(times[1]) * 1e3:F3} ms, " +
            $"median ratio of paired rounds {Median(ratios):F3} (rounds={rounds})");
        foreach (var n in nets) ((IDisposable)n).Dispose();
    }

    static void RunTrain(Net spec, int threads, Data d, Func<float[], int, int, float[]> Input)
    {
        using (var net64 = (IDisposable)spec.Create(64, threads))
        {
            var n = (INetwork)net64;
            int nb = WarmTrain + Steps;
            var xs = new float[nb][];
            var ys = new int[nb][];
            var rng = new Random(1);
            int count = d.TrainY.Length;
            for (int b = 0; b < nb; b++)
            {
                int start = rng.Next(count - 64);
                xs[b] = Input(d.TrainX, start, 64);
                ys[b] = d.TrainY.AsSpan(start, 64).ToArray();
            }
            var loss = new SoftmaxCrossEntropy();
            var sgd = new Sgd(0.01f, momentum: 0.9f);
            var outputGrad = new float[64 * n.OutputSize];
            void Step(int b)
            {
                var output = n.Forward(xs[b], 64, training: true);
                loss.Compute(output, ys[b], 64, n.OutputSize, outputGrad);
                n.ZeroGradients();
                n.Backward(outputGrad, 64);
                n.Update(sgd);
            }
            int w = 0;
            Warm(() => Step(w++ % WarmTrain), WarmTrain);
            var sps = new List<double>();
            long allocated = 0, steps = 0;
            for (int r = 0; r < TrainRounds; r++)
            {
                long a0 = GC.GetTotalAllocatedBytes(precise: true);
                long t0 = Stopwatch.GetTimestamp();
                for (int i = WarmTrain; i < nb; i++) Step(i);
                long t1 = Stopwatch.GetTimestamp();
                allocated += GC.GetTotalAllocatedBytes(precise: true) - a0;
                steps += Steps;
                sps.Add(64.0 * Steps / Sec(t0, t1));
            }
            double m = Median(sps);
            Out(spec.Name, threads, "train_b64_sps", m, sps);
            Out(spec.Name, threads, "train_b64_gflops_3x", m * 3 * spec.FwdFlops / 1e9);
            Out(spec.Name, threads, "train_alloc_bytes_per_step", (double)allocated / steps);
        }
    }
}
