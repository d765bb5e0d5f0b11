using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NetDsl.Data;
using NetDsl.IO;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.IO;

public sealed class DataTests : IDisposable
{
    readonly TempDir dir = new();
    public void Dispose() => dir.Dispose();

    /// <summary>n images of 2x2 where image i has pixels i*4 .. i*4+3; label i % classes.</summary>
    (string Images, string Labels) MakeIdx(int n, int classes = 10, string prefix = "", bool gzip = false)
    {
        var px = new byte[n * 4];
        for (int i = 0; i < px.Length; i++) px[i] = (byte)i;
        var lb = new byte[n];
        for (int i = 0; i < n; i++) lb[i] = (byte)(i % classes);
        string img = dir.File(prefix + "images"), lbl = dir.File(prefix + "labels");
        Idx.WriteImages(img, n, 2, 2, px, gzip);
        Idx.WriteLabels(lbl, lb, gzip);
        return (img, lbl);
    }

    static LabeledImages Sequential(int n) =>
        new(Enumerable.Range(0, n * 2).Select(i => (float)i).ToArray(), Enumerable.Range(0, n).Select(i => i % 3).ToArray(), 1, 1, 2, 3);

    [Fact]
    public void FromIdxScalesPixelsAndKeepsLabels()
    {
        var (img, lbl) = MakeIdx(3);
        File.WriteAllBytes(img, [0, 0, 8, 3, 0, 0, 0, 3, 0, 0, 0, 2, 0, 0, 0, 2, 0, 255, 51, 1, 2, 3, 4, 5, 6, 7, 8, 128]);
        var d = LabeledImages.FromIdx(img, lbl);
        (d.Count, d.Channels, d.Height, d.Width, d.ClassCount, d.SampleSize).ShouldBe((3, 1, 2, 2, 10, 4));
        d.Pixels.Length.ShouldBe(12);
        d.Pixels[0].ShouldBe(0f);
        d.Pixels[1].ShouldBe(1f);
        d.Pixels[2].ShouldBe(0.2f);
        d.Pixels[11].ShouldBe(128f / 255f);
        d.Pixels.ShouldAllBe(v => v >= 0f && v <= 1f);
        d.Labels.ShouldBe(new[] { 0, 1, 2 });
    }

    [Fact]
    public void CountMismatchNamesBothFiles()
    {
        var (img, _) = MakeIdx(5);
        var (_, lbl) = MakeIdx(4, prefix: "other-");
        Should.Throw<InvalidDataException>(() => LabeledImages.FromIdx(img, lbl)).Message.ShouldBe($"{img} has 5 images but {lbl} has 4 labels");
    }

    [Fact]
    public void LabelOutOfRangeNamesIndexAndValue()
    {
        var (img, lbl) = MakeIdx(4, classes: 4);
        Should.Throw<InvalidDataException>(() => LabeledImages.FromIdx(img, lbl, classCount: 3)).Message
            .ShouldBe($"{lbl}: label 3 at index 3 is not below the class count 3");
        LabeledImages.FromIdx(img, lbl, classCount: 4).ClassCount.ShouldBe(4);
    }

    [Fact]
    public void ConstructorValidates()
    {
        Should.Throw<ArgumentException>(() => new LabeledImages(new float[7], new int[2], 1, 2, 2, 10)).Message.ShouldContain("2 samples of 1x2x2 need 8 pixels, got 7");
        Should.Throw<ArgumentException>(() => new LabeledImages(new float[4], [0, 10], 1, 1, 2, 10)).Message.ShouldContain("label 10 at index 1 is outside 0..9");
        Should.Throw<ArgumentException>(() => new LabeledImages(new float[4], [-1, 0], 1, 1, 2, 10)).Message.ShouldContain("label -1 at index 0");
        Should.Throw<ArgumentOutOfRangeException>(() => new LabeledImages([], [], 0, 1, 1, 10));
    }

    [Fact]
    public void TakeCopiesThePrefix()
    {
        var d = Sequential(5);
        var t = d.Take(2);
        t.Count.ShouldBe(2);
        t.Pixels.ShouldBe(new[] { 0f, 1, 2, 3 });
        t.Labels.ShouldBe(new[] { 0, 1 });
        t.Pixels[0] = 99;
        d.Pixels[0].ShouldBe(0f);
        d.Take(0).Count.ShouldBe(0);
        d.Take(5).Pixels.ShouldBe(d.Pixels);
        Should.Throw<ArgumentOutOfRangeException>(() => d.Take(6)).Message.ShouldContain("expected 0 to 5");
        Should.Throw<ArgumentOutOfRangeException>(() => d.Take(-1));
    }

    [Fact]
    public void FashionMnistFindsAndLoadsADirectory()
    {
        string sub = Path.Combine(dir.Root, "fm");
        Directory.CreateDirectory(sub);
        FashionMnist.FindFullDataDirectory(sub).ShouldNotBe(sub);
        var px = new byte[3 * 4];
        Idx.WriteImages(Path.Combine(sub, "train-images-idx3-ubyte.gz"), 3, 2, 2, px, gzip: true);
        Idx.WriteLabels(Path.Combine(sub, "train-labels-idx1-ubyte.gz"), [9, 0, 1], gzip: true);
        Idx.WriteImages(Path.Combine(sub, "t10k-images-idx3-ubyte"), 1, 2, 2, new byte[4], gzip: false);
        FashionMnist.FindFullDataDirectory(sub).ShouldNotBe(sub);
        Should.Throw<FileNotFoundException>(() => FashionMnist.Load(sub)).Message
            .ShouldBe($"Fashion-MNIST file not found: neither {Path.Combine(sub, "t10k-labels-idx1-ubyte.gz")} nor {Path.Combine(sub, "t10k-labels-idx1-ubyte")} exists");
        Idx.WriteLabels(Path.Combine(sub, "t10k-labels-idx1-ubyte"), [5], gzip: false);

        FashionMnist.FindFullDataDirectory(sub).ShouldBe(sub);
        var (train, test) = FashionMnist.Load(sub);
        train.Labels.ShouldBe(new[] { 9, 0, 1 });
        test.Labels.ShouldBe(new[] { 5 });
        train.ClassCount.ShouldBe(10);
    }

    [Fact]
    public void FashionMnistFallsBackToTheSystemDirectory()
    {
        string? expected = File.Exists(Path.Combine(FashionMnist.SystemDirectory, "train-images-idx3-ubyte.gz")) ? FashionMnist.SystemDirectory : null;
        FashionMnist.FindFullDataDirectory(null).ShouldBe(expected);
        FashionMnist.FindFullDataDirectory(dir.File("missing")).ShouldBe(expected);
    }

    [Fact]
    public void FashionMnistClassNames()
    {
        FashionMnist.ClassNames.ShouldBe(new[] { "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot" });
    }

    [Fact]
    public void ShippedSubsetLoads()
    {
        string data = FindShippedData();
        var (train, test) = FashionMnist.Load(data);
        (train.Count, test.Count).ShouldBe((10000, 2000));
        (train.Channels, train.Height, train.Width).ShouldBe((1, 28, 28));
        // Each class within ±15% of an even share: the subset is usable for training and evaluation.
        foreach (var set in new[] { train, test })
        {
            var counts = new int[10];
            foreach (int l in set.Labels) counts[l]++;
            counts.ShouldAllBe(c => Math.Abs(c - set.Count / 10) <= set.Count / 10 * 0.15);
        }
    }

    [Fact]
    public void ShippedSubsetIsThePrefixOfTheFullSet()
    {
        string? full = FashionMnist.FindFullDataDirectory(null);
        if (full is null) return; // Only where the dataset-fashion-mnist package is installed.
        var (fullTrain, fullTest) = FashionMnist.Load(full);
        var (train, test) = FashionMnist.Load(FindShippedData());
        train.Pixels.ShouldBe(fullTrain.Take(10000).Pixels);
        train.Labels.ShouldBe(fullTrain.Take(10000).Labels);
        test.Pixels.ShouldBe(fullTest.Take(2000).Pixels);
        test.Labels.ShouldBe(fullTest.Take(2000).Labels);
    }

    static string FindShippedData()
    {
        for (var d = new DirectoryInfo(AppContext.BaseDirectory); d is not null; d = d.Parent)
        {
            string candidate = Path.Combine(d.FullName, "samples", "FashionMnist", "data");
            if (Directory.Exists(candidate)) return candidate;
        }
        throw new DirectoryNotFoundException("samples/FashionMnist/data not found above " + AppContext.BaseDirectory);
    }

    // ---- BatchSampler ----

    static List<int> EpochOrder(BatchSampler s, LabeledImages d)
    {
        // Reads the order back through CopyBatch: sample i of Sequential has pixels [2i, 2i+1].
        var x = new float[s.BatchSize * d.SampleSize];
        var y = new int[s.BatchSize];
        var seen = new List<int>();
        for (int b = 0; b < s.BatchCount; b++)
        {
            int n = s.CopyBatch(b, d, x, y);
            for (int k = 0; k < n; k++)
            {
                int i = (int)x[k * 2] / 2;
                x[k * 2 + 1].ShouldBe(2 * i + 1);
                y[k].ShouldBe(d.Labels[i]);
                seen.Add(i);
            }
        }
        return seen;
    }

    [Fact]
    public void EachEpochIsAPermutationThatChanges()
    {
        var d = Sequential(103);
        var s = new BatchSampler(103, 10, seed: 7);
        s.BatchCount.ShouldBe(11);
        var e0 = EpochOrder(s, d);
        e0.Order().ShouldBe(Enumerable.Range(0, 103));
        e0.ShouldNotBe(Enumerable.Range(0, 103).ToList());
        s.Order.ToArray().ShouldBe(e0.ToArray());
        s.NewEpoch();
        s.Epoch.ShouldBe(1);
        var e1 = EpochOrder(s, d);
        e1.Order().ShouldBe(Enumerable.Range(0, 103));
        e1.ShouldNotBe(e0);
    }

    [Fact]
    public void SameSeedSameOrderDifferentSeedDifferentOrder()
    {
        var a = new BatchSampler(50, 8, seed: 1);
        var b = new BatchSampler(50, 8, seed: 1);
        var c = new BatchSampler(50, 8, seed: 2);
        for (int epoch = 0; epoch < 3; epoch++)
        {
            a.Order.ToArray().ShouldBe(b.Order.ToArray());
            a.Order.ToArray().ShouldNotBe(c.Order.ToArray());
            a.NewEpoch(); b.NewEpoch(); c.NewEpoch();
        }
    }

    [Fact]
    public void ShuffleIsRoughlyUniform()
    {
        // Over 4000 epochs of 4 items, each item lands in each position ~1000 times.
        var s = new BatchSampler(4, 4, seed: 3);
        var hits = new int[4, 4];
        for (int e = 0; e < 4000; e++, s.NewEpoch())
            for (int p = 0; p < 4; p++) hits[p, s.Order[p]]++;
        foreach (int h in hits) h.ShouldBeInRange(850, 1150);
    }

    [Fact]
    public void WithoutShuffleTheOrderIsSequential()
    {
        var s = new BatchSampler(5, 2, seed: 1, shuffle: false);
        EpochOrder(s, Sequential(5)).ShouldBe(new[] { 0, 1, 2, 3, 4 });
        s.NewEpoch();
        s.Order.ToArray().ShouldBe(new[] { 0, 1, 2, 3, 4 });
    }

    [Fact]
    public void LastBatchIsSmallerOrDropped()
    {
        var keep = new BatchSampler(10, 4, seed: 1);
        keep.BatchCount.ShouldBe(3);
        keep.SizeOf(2).ShouldBe(2);
        var x = new float[8];
        var y = new int[4];
        keep.CopyBatch(2, Sequential(10), x, y).ShouldBe(2);

        var drop = new BatchSampler(10, 4, seed: 1, dropLast: true);
        drop.BatchCount.ShouldBe(2);
        var seen = EpochOrder(drop, Sequential(10));
        seen.Count.ShouldBe(8);
        seen.Distinct().Count().ShouldBe(8);

        new BatchSampler(3, 4, seed: 1, dropLast: true).BatchCount.ShouldBe(0);
        new BatchSampler(0, 4, seed: 1).BatchCount.ShouldBe(0);
    }

    [Fact]
    public void CopyBatchValidates()
    {
        var s = new BatchSampler(10, 4, seed: 1);
        var d = Sequential(10);
        Should.Throw<ArgumentException>(() => s.CopyBatch(0, Sequential(9), new float[8], new int[4])).Message.ShouldContain("the sampler was built for 10 samples, the data set has 9");
        Should.Throw<ArgumentOutOfRangeException>(() => s.CopyBatch(3, d, new float[8], new int[4])).Message.ShouldContain("expected 0 to 2");
        Should.Throw<ArgumentOutOfRangeException>(() => s.CopyBatch(-1, d, new float[8], new int[4]));
        Should.Throw<ArgumentException>(() => s.CopyBatch(0, d, new float[7], new int[4])).Message.ShouldContain("x holds 7 floats, batch 0 needs 4x2 = 8");
        Should.Throw<ArgumentException>(() => s.CopyBatch(0, d, new float[8], new int[3])).Message.ShouldContain("y holds 3 labels, batch 0 needs 4");
        s.CopyBatch(2, d, new float[4], new int[2]).ShouldBe(2);
        Should.Throw<ArgumentOutOfRangeException>(() => new BatchSampler(10, 0, seed: 1));
        Should.Throw<ArgumentOutOfRangeException>(() => new BatchSampler(-1, 4, seed: 1));
    }
}
