using System;
using System.Linq;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Reliability;

/// <summary>Tests that run alone, after the parallel ones: one turns the process-wide
/// <see cref="WorkerPool.DeterministicReduction"/> off for a moment, the soak measures the whole process's heap.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public class RunsAlone
{
    public const string Name = "runs alone";
}

[Collection(RunsAlone.Name)]
public class DeterminismTests(ITestOutputHelper output)
{
    /// <summary>With deterministic reduction (off by default: measured to cost 8–19 % of the cnn's training), the same seed gives
    /// bit-identical weights with 1, 2 and 3 workers:
    /// a few epochs of LeNet-5 (dense and conv, several samples per GEMM, cache blocks) and of ResumeNet (batch norm, dropout,
    /// chunks larger than MaxBatch), batches of 64 and of 37 (uneven slices).</summary>
    [Fact]
    public void TheSameSeedGivesBitIdenticalWeightsWithOneTwoAndThreeWorkers()
    {
        WorkerPool.DeterministicReduction.ShouldBeFalse("off by default");
        WorkerPool.DeterministicReduction = true;
        try { BitIdenticalWithOneTwoAndThreeWorkers(); }
        finally { WorkerPool.DeterministicReduction = false; }
    }

    private void BitIdenticalWithOneTwoAndThreeWorkers()
    {
        var data = Data(300, 28, 28, 11);
        foreach (int batch in new[] { 64, 37 })
        {
            var hashes = new[] { 1, 2, 3 }.Select(w =>
            {
                using var net = new LeNet5(64, seed: 3, workers: w);
                Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainingOptions { Epochs = 2, BatchSize = batch });
                return Hash(net.Parameters);
            }).ToArray();
            output.WriteLine($"LeNet5, batch {batch}, 1/2/3 workers: {string.Join(" / ", hashes)}");
            hashes.Distinct().Count().ShouldBe(1);
        }
        var small = ResumeChild.Data();
        var resume = new[] { 1, 2, 3 }.Select(w =>
        {
            using var net = new ResumeNet(8, seed: 3, workers: w);
            Trainer.Fit(net, small, null, new SoftmaxCrossEntropy(), new Adam(0.01f), new TrainingOptions { Epochs = 2, BatchSize = 16 });
            return Hash(net.Parameters) + "+" + Hash(net.Buffers);
        }).ToArray();
        output.WriteLine($"ResumeNet (batch norm, dropout), 1/2/3 workers: {string.Join(" / ", resume)}");
        resume.Distinct().Count().ShouldBe(1);
    }

    /// <summary>With it off, the gradient sums follow the worker split: 1 and 2 workers differ (so the test above can fail).</summary>
    [Fact]
    public void WithoutItTheWorkerCountChangesTheWeights()
    {
        var data = Data(200, 28, 28, 12);
        string[] hashes;
        WorkerPool.DeterministicReduction = false;
        try
        {
            hashes = new[] { 1, 2 }.Select(w =>
            {
                using var net = new LeNet5(64, seed: 3, workers: w);
                Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f), new TrainingOptions { Epochs = 1, BatchSize = 64 });
                return Hash(net.Parameters);
            }).ToArray();
        }
        finally { WorkerPool.DeterministicReduction = false; }
        output.WriteLine($"LeNet5 without deterministic reduction, 1/2 workers: {string.Join(" / ", hashes)}");
        hashes[0].ShouldNotBe(hashes[1]);
    }

    /// <summary>The 512-bit and the 256-bit kernels train bit-identical weights (what lets a NativeAOT x86-64-v3 build
    /// match the JIT on an AVX-512 machine): LeNet-5 (tanh, average pooling, dense), the cnn shape with batch norm, ReLU,
    /// max pooling and dropout (ResumeNet), a sigmoid/ELU net with odd sizes (tails of every width) and the inception
    /// block (1×1, 3×3 and pooling branches, concat), a few Adam steps each, in one process with
    /// <see cref="Simd.Allow512"/> switched. Meaningful on an AVX-512 machine (this repository's and CI's); elsewhere both runs
    /// take the 256-bit paths and the test says so in its output.</summary>
    [Fact]
    public void The512And256BitKernelsTrainBitIdenticalWeights()
    {
        output.WriteLine($"AVX-512 paths available: {Simd.Use512}");
        Compare("LeNet5", () => new LeNet5(64, seed: 5), Data(256, 28, 28, 21), batch: 64, epochs: 2);
        Compare("ResumeNet", () => new ResumeNet(16, seed: 5), ResumeChild.Data(), batch: 16, epochs: 3);
        Compare("OddWidths", () => new OddWidthNet(16, seed: 5), Data(96, 9, 11, 22), batch: 13, epochs: 2);
        Compare("GradCheckInception", () => new GradCheckInception(16, seed: 5), Data(64, GradCheckInception.InputHeight, GradCheckInception.InputWidth, 23, GradCheckInception.InputChannels, GradCheckInception.OutputSize), batch: 16, epochs: 2);
    }

    private void Compare(string name, Func<INetwork> create, LabeledImages data, int batch, int epochs)
    {
        string Train(bool allow512)
        {
            bool before = Simd.Allow512;
            Simd.Allow512 = allow512;
            try
            {
                var net = create();
                using var _ = net as IDisposable;
                Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Adam(0.003f), new TrainingOptions { Epochs = epochs, BatchSize = batch });
                return Hash(net.Parameters) + "+" + Hash(net.Buffers);
            }
            finally { Simd.Allow512 = before; }
        }
        string wide = Train(true), narrow = Train(false);
        output.WriteLine($"{name}: 512-bit {wide}, 256-bit {narrow}");
        narrow.ShouldBe(wide, $"{name}: the 256-bit kernels must train the same bits as the 512-bit ones");
    }

    internal static LabeledImages Data(int count, int h, int w, ulong seed, int channels, int classes)
    {
        var rng = new Rng(seed);
        int size = channels * h * w;
        var pixels = new float[count * size];
        var labels = new int[count];
        for (int i = 0; i < count; i++)
        {
            labels[i] = (int)(rng.NextUInt64() % (ulong)classes);
            for (int k = 0; k < size; k++) pixels[i * size + k] = rng.NextFloat() * (1 + (k % classes == labels[i] ? 1 : 0));
        }
        return new LabeledImages(pixels, labels, channels, h, w, classes);
    }

    /// <summary>A batch of one sample splits a large convolution's output rows across the workers: the output has the same
    /// bits with 1, 2 and 3 workers, and as that sample's share of a batch of 4 (several samples per GEMM), in inference
    /// and through training steps of batch 1.</summary>
    [Fact]
    public void OneSampleSplitAcrossWorkersGivesTheSameBits()
    {
        var rng = new Rng(31);
        var x = new float[4 * SplitConvNet.InputSize];
        for (int i = 0; i < x.Length; i++) x[i] = rng.NextFloat() * 2 - 1;
        string Run(int maxBatch, int workers, int batch)
        {
            using var net = new SplitConvNet(maxBatch, seed: 3, workers: workers);
            return Hash(net.Forward(x.AsSpan(0, batch * SplitConvNet.InputSize), batch)[..SplitConvNet.OutputSize]);
        }
        var hashes = new[] { Run(1, 1, 1), Run(1, 2, 1), Run(4, 3, 1), Run(4, 1, 4), Run(4, 2, 4) };
        output.WriteLine("batch 1 with 1/2/3 workers, first sample of batch 4 with 1/2 workers: " + string.Join(" / ", hashes));
        hashes.Distinct().Count().ShouldBe(1);

        string Train(int workers)
        {
            using var net = new SplitConvNet(1, seed: 3, workers: workers);
            var sgd = new Sgd(0.05f, momentum: 0.9f);
            for (int s = 0; s < 5; s++) net.TrainStep(x.AsSpan(s % 4 * SplitConvNet.InputSize, SplitConvNet.InputSize), [s % 10], new SoftmaxCrossEntropy(), sgd);
            return Hash(net.Parameters);
        }
        var trained = new[] { Train(1), Train(2) };
        output.WriteLine("5 steps of batch 1, 1/2 workers: " + string.Join(" / ", trained));
        trained[1].ShouldBe(trained[0]);
    }

    internal static LabeledImages Data(int count, int h, int w, ulong seed) => Data(count, h, w, seed, channels: 1, classes: 10);

    internal static string Hash(ReadOnlySpan<float> values) => Convert.ToHexString(SHA256.HashData(MemoryMarshal.AsBytes(values)))[..16];
}
