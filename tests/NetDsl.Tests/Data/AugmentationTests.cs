using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tests.Training;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Data;

public class AugmentationTests
{
    [Fact]
    public void FlipsMirrorEveryChannel()
    {
        // 2 channels of 2×3: channel 0 is 1..6, channel 1 is 11..16.
        float[] img = [1, 2, 3, 4, 5, 6, 11, 12, 13, 14, 15, 16];
        var h = (float[])img.Clone();
        ImageOps.FlipHorizontal(h, 2, 2, 3);
        h.ShouldBe(new float[] { 3, 2, 1, 6, 5, 4, 13, 12, 11, 16, 15, 14 });
        var v = (float[])img.Clone();
        ImageOps.FlipVertical(v, 2, 2, 3);
        v.ShouldBe(new float[] { 4, 5, 6, 1, 2, 3, 14, 15, 16, 11, 12, 13 });
        float[] odd = [1, 2, 3, 4, 5, 6, 7, 8, 9]; // 3×3: the middle row stays
        ImageOps.FlipVertical(odd, 1, 3, 3);
        odd.ShouldBe(new float[] { 7, 8, 9, 4, 5, 6, 1, 2, 3 });
    }

    [Fact]
    public void ShiftsMoveContentAndFillWithZero()
    {
        // 3×4:  1  2  3  4 /  5  6  7  8 /  9 10 11 12
        float[] Img() => Enumerable.Range(1, 12).Select(i => (float)i).ToArray();
        var a = Img();
        ImageOps.Shift(a, 1, 3, 4, dx: 1, dy: -1); // right 1, up 1
        a.ShouldBe(new float[] { 0, 5, 6, 7, 0, 9, 10, 11, 0, 0, 0, 0 });
        var b = Img();
        ImageOps.Shift(b, 1, 3, 4, dx: -2, dy: 1); // left 2, down 1
        b.ShouldBe(new float[] { 0, 0, 0, 0, 3, 4, 0, 0, 7, 8, 0, 0 });
        var c = Img();
        ImageOps.Shift(c, 1, 3, 4, dx: 0, dy: 2);
        c.ShouldBe(new float[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4 });
        var d = Img();
        ImageOps.Shift(d, 1, 3, 4, dx: 4, dy: 0);
        d.ShouldAllBe(v => v == 0);
        var e = Img();
        ImageOps.Shift(e, 1, 3, 4, 0, 0);
        e.ShouldBe(Img());
    }

    static float[] Random(int n, ulong seed) { var r = new Rng(seed); return Enumerable.Range(0, n).Select(_ => r.NextFloat()).ToArray(); }

    [Fact]
    public void RotationBy90IsTransposeThenVerticalFlipAndBy0IsIdentity()
    {
        const int s = 5;
        var img = Random(2 * s * s, 1);
        var scratch = new float[s * s];
        var rotated = (float[])img.Clone();
        ImageOps.Rotate(rotated, 2, s, s, 90, scratch);
        var expected = new float[img.Length];
        for (int c = 0; c < 2; c++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++)
                    expected[c * s * s + y * s + x] = img[c * s * s + x * s + (s - 1 - y)]; // transpose, then flip top–bottom
        for (int i = 0; i < img.Length; i++) rotated[i].ShouldBe(expected[i], 1e-6f);

        var same = (float[])img.Clone();
        ImageOps.Rotate(same, 2, s, s, 0, scratch);
        same.ShouldBe(img);
        var full = (float[])img.Clone();
        ImageOps.Rotate(full, 2, s, s, 360, scratch);
        for (int i = 0; i < img.Length; i++) full[i].ShouldBe(img[i], 1e-6f);

        var half = (float[])img.Clone();
        ImageOps.Rotate(half, 2, s, s, 180, scratch);
        var flipped = (float[])img.Clone();
        ImageOps.FlipHorizontal(flipped, 2, s, s);
        ImageOps.FlipVertical(flipped, 2, s, s);
        for (int i = 0; i < img.Length; i++) half[i].ShouldBe(flipped[i], 1e-6f);
    }

    [Fact]
    public void SmallRotationInterpolatesBilinearly()
    {
        // A horizontal ramp v = x on a 7×7 image: rotating by θ gives, inside, v = cx + (x−cx)cosθ − (y−cy)sinθ.
        const int s = 7;
        var img = new float[s * s];
        for (int y = 0; y < s; y++) for (int x = 0; x < s; x++) img[y * s + x] = x;
        ImageOps.Rotate(img, 1, s, s, 10, new float[s * s]);
        double t = 10 * Math.PI / 180;
        for (int y = 2; y <= 4; y++)
            for (int x = 2; x <= 4; x++)
                img[y * s + x].ShouldBe((float)(3 + (x - 3) * Math.Cos(t) - (y - 3) * Math.Sin(t)), 1e-5f); // bilinear is exact on a linear ramp
        img[3 * s + 3].ShouldBe(3f, 1e-6f); // the centre stays
    }

    [Fact]
    public void GaussianNoiseHasTheRequestedMeanAndStd()
    {
        var aug = new Augmenter(Augmentation.GaussianNoise(0.2), 1, 300, 300, seed: 4);
        var img = new float[300 * 300];
        aug.ApplySample(img, epoch: 0, sampleIndex: 0);
        double mean = img.Average(v => (double)v);
        double std = Math.Sqrt(img.Average(v => (v - mean) * (v - mean)));
        mean.ShouldBe(0, 4 * 0.2 / 300);
        std.ShouldBe(0.2, 0.003);
        var clamped = new float[10_000];
        new Augmenter(Augmentation.GaussianNoise(0.5, 0f, 1f), 1, 100, 100, 4).ApplySample(clamped, 0, 0);
        clamped.ShouldAllBe(v => v >= 0f && v <= 1f);
        clamped.Count(v => v == 0f).ShouldBeInRange(4700, 5300); // half the draws are negative
    }

    [Fact]
    public void RandomShiftsCoverTheRangeAndNothingElse()
    {
        // An impulse at the centre of 9×9 lands at (4+dx, 4+dy).
        var aug = new Augmenter(Augmentation.RandomShift(2, 1), 1, 9, 9, seed: 7);
        var seen = new HashSet<(int, int)>();
        var img = new float[81];
        for (int i = 0; i < 400; i++)
        {
            Array.Clear(img); img[40] = 1;
            aug.ApplySample(img, 0, i);
            int at = Array.IndexOf(img, 1f);
            seen.Add((at % 9 - 4, at / 9 - 4));
        }
        seen.Count.ShouldBe(15);
        seen.ShouldAllBe(p => Math.Abs(p.Item1) <= 2 && Math.Abs(p.Item2) <= 1);
    }

    [Fact]
    public void FlipProbabilityIsRespected()
    {
        var aug = new Augmenter(Augmentation.HorizontalFlip(0.3), 1, 1, 2, seed: 1);
        int flipped = 0;
        for (int i = 0; i < 10_000; i++)
        {
            float[] px = [1, 2];
            aug.ApplySample(px, 0, i);
            if (px[0] == 2) flipped++;
        }
        flipped.ShouldBeInRange(2850, 3150); // 0.3 ± 3.3 standard deviations
    }

    static Augmentation Pipeline() => Augmentation.HorizontalFlip().Then(Augmentation.RandomShift(2, 2)).Then(Augmentation.RandomRotation(15)).Then(Augmentation.GaussianNoise(0.05));

    [Fact]
    public void DeterministicPerSeedEpochAndSampleIndexWhateverTheBatch()
    {
        var data = ScheduleTests.RandomImages(6, 2, 8, 8, 3, 21);
        var a = new Augmenter(Pipeline(), 2, 8, 8, seed: 5);
        var batch = (float[])data.Pixels.Clone();
        a.ApplyBatch(batch, [0, 1, 2, 3, 4, 5], epoch: 3);
        // Sample 4 alone, in a fresh augmenter with the same seed: the same result.
        var one = data.Pixels.AsSpan(4 * 128, 128).ToArray();
        new Augmenter(Pipeline(), 2, 8, 8, seed: 5).ApplySample(one, 3, 4);
        one.ShouldBe(batch.AsSpan(4 * 128, 128).ToArray());
        // Another epoch or seed changes it.
        var other = data.Pixels.AsSpan(4 * 128, 128).ToArray();
        a.ApplySample(other, 4, 4);
        other.ShouldNotBe(one);
        var seeded = data.Pixels.AsSpan(4 * 128, 128).ToArray();
        new Augmenter(Pipeline(), 2, 8, 8, seed: 6).ApplySample(seeded, 3, 4);
        seeded.ShouldNotBe(one);
    }

    [Fact]
    public void ApplyingABatchAllocatesNothing()
    {
        var a = new Augmenter(Pipeline(), 1, 28, 28, seed: 1);
        var batch = new float[16 * 784];
        int[] idx = Enumerable.Range(0, 16).ToArray();
        a.ApplyBatch(batch, idx, 0); // warm up
        long before = GC.GetAllocatedBytesForCurrentThread();
        a.ApplyBatch(batch, idx, 1);
        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
    }

    [Fact]
    public void TrainerAugmentsTheBatchesItTrainsOn()
    {
        // Always flipping is the same as training on pre-flipped images.
        var data = ScheduleTests.RandomImages(12, 1, 8, 8, 3, 22);
        var flippedPixels = (float[])data.Pixels.Clone();
        for (int i = 0; i < 12; i++) ImageOps.FlipHorizontal(flippedPixels.AsSpan(i * 64, 64), 1, 8, 8);
        var flipped = new LabeledImages(flippedPixels, data.Labels, 1, 8, 8, 3);
        var a = new TinyConv(4, seed: 3, workers: 1);
        var b = new TinyConv(4, seed: 3, workers: 1);
        Trainer.Fit(a, data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { Epochs = 2, BatchSize = 4, Augmentation = Augmentation.HorizontalFlip(1.0) });
        Trainer.Fit(b, flipped, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { Epochs = 2, BatchSize = 4 });
        a.Parameters.ToArray().ShouldBe(b.Parameters.ToArray());
        data.Pixels.ShouldNotBe(flippedPixels); // the data set itself is not modified
    }

    [Fact]
    public void BadArgumentsAreNamed()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => Augmentation.HorizontalFlip(1.5)).Message.ShouldContain("probability must be in [0, 1], got 1.5");
        Should.Throw<ArgumentOutOfRangeException>(() => Augmentation.RandomShift(-1, 0)).Message.ShouldContain("maxDx must be >= 0, got -1");
        Should.Throw<ArgumentOutOfRangeException>(() => Augmentation.RandomRotation(200)).Message.ShouldContain("maxDegrees must be in [0, 180], got 200");
        Should.Throw<ArgumentException>(() => ImageOps.FlipHorizontal(new float[5], 1, 2, 3)).Message.ShouldContain("sample has 5 floats, expected C·H·W = 1×2×3 = 6");
        Should.Throw<ArgumentException>(() => ImageOps.Rotate(new float[6], 1, 2, 3, 5, new float[2])).Message.ShouldContain("rotation needs H·W = 6");
    }
}
