using System;
using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Trainer.Fit on per-pixel labels: one step against a hand-written step (forward, per-pixel loss, backward, SGD)
/// on the whole batch, with chunking and class weights; the confusion matrix, IoU and pixel accuracy against a hand count.</summary>
public class DenseFitTests
{
    static float[] Random(int n, ulong seed)
    {
        var rng = new Rng(seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextFloat()).ToArray();
    }

    static PixelLabeledImages Data(int count, ulong seed)
    {
        var x = Random(count * 36, seed);
        var rng = new Rng(seed + 99);
        var y = Enumerable.Range(0, count * 36).Select(_ => (int)(rng.NextUInt64() % 3)).ToArray();
        return new PixelLabeledImages(x, y, 1, 6, 6, 3);
    }

    [Fact]
    public void OneStepInChunksEqualsTheWholeBatchStepByHand()
    {
        var data = Data(4, 3);
        float[] weights = { 0.5f, 1f, 2.5f };
        var loss = new PixelwiseSoftmaxCrossEntropy(3, weights);
        using var chunked = new PixelNet(maxBatch: 2, seed: 7, workers: 1); // batch 4 runs as two chunks of 2
        var reports = Trainer.Fit(chunked, data, null, loss, new Sgd(0.1f, momentum: 0.9f), new TrainingOptions { Epochs = 1, BatchSize = 4, Shuffle = false });

        using var whole = new PixelNet(maxBatch: 4, seed: 7, workers: 1);
        var grad = new float[4 * PixelNet.OutputSize];
        whole.ZeroGradients();
        var output = whole.Forward(data.Pixels, 4, training: true);
        float expectedLoss = loss.Compute(output, data.Labels, 4, PixelNet.OutputSize, grad);
        int right = 0;
        for (int n = 0; n < 4; n++)
            for (int p = 0; p < 36; p++)
            {
                int best = 0;
                for (int c = 1; c < 3; c++) if (output[n * 108 + c * 36 + p] > output[n * 108 + best * 36 + p]) best = c;
                if (best == data.Labels[n * 36 + p]) right++;
            }
        whole.Backward(grad, 4);
        new Sgd(0.1f, momentum: 0.9f).Step(whole.Parameters, whole.Gradients);

        for (int i = 0; i < PixelNet.ParameterCount; i++) chunked.Parameters[i].ShouldBe(whole.Parameters[i], 1e-5f, $"parameter {i}");
        reports.Count.ShouldBe(1);
        reports[0].TrainAccuracy.ShouldBe(right / 144.0, 1e-12);
        // The report's loss is the mean of the chunks' own means; with class weights that differs from the batch's weighted mean,
        // so check it against the chunks computed by hand.
        using var check = new PixelNet(maxBatch: 4, seed: 7, workers: 1);
        var g2 = new float[2 * PixelNet.OutputSize];
        double chunks = 0;
        for (int start = 0; start < 4; start += 2)
            chunks += loss.Compute(check.Forward(data.Pixels.AsSpan(start * 36, 72), 2), data.Labels.AsSpan(start * 36, 72), 2, PixelNet.OutputSize, g2) * 2;
        reports[0].TrainLoss.ShouldBe(chunks / 4, 1e-5);
        expectedLoss.ShouldBeGreaterThan(0f);
    }

    [Fact]
    public void EvaluateCountsEveryPixelOfTheTestSet()
    {
        var data = Data(5, 11);
        using var net = new PixelNet(maxBatch: 2, seed: 2, workers: 1);
        var (loss, confusion) = Trainer.Evaluate(net, data, new PixelwiseSoftmaxCrossEntropy(3));
        confusion.Total.ShouldBe(5 * 36);
        var expected = new long[3, 3];
        double lossSum = 0;
        var g = new float[PixelNet.OutputSize];
        for (int n = 0; n < 5; n++)
        {
            var output = net.Forward(data.Pixels.AsSpan(n * 36, 36), 1).ToArray();
            lossSum += new PixelwiseSoftmaxCrossEntropy(3).Compute(output, data.Labels.AsSpan(n * 36, 36), 1, PixelNet.OutputSize, g);
            for (int p = 0; p < 36; p++)
            {
                int best = 0;
                for (int c = 1; c < 3; c++) if (output[c * 36 + p] > output[best * 36 + p]) best = c;
                expected[data.Labels[n * 36 + p], best]++;
            }
        }
        for (int t = 0; t < 3; t++)
            for (int p = 0; p < 3; p++) confusion[t, p].ShouldBe(expected[t, p]);
        loss.ShouldBe(lossSum / 5, 1e-5);
    }

    [Fact]
    public void ConfusionMatrixGivesTheHandCountedAccuracyAndIoU()
    {
        // 1 sample, 3 classes, 6 pixels: logits pick classes 0,0,1,1,1,0; truth 0,1,1,1,0,0. Class 2 never occurs.
        int[] predicted = { 0, 0, 1, 1, 1, 0 };
        int[] truth = { 0, 1, 1, 1, 0, 0 };
        var output = new float[3 * 6];
        for (int p = 0; p < 6; p++) output[predicted[p] * 6 + p] = 1f;
        var m = new ConfusionMatrix(3);
        m.Add(output, truth, 1).ShouldBe(4);
        m.PixelAccuracy.ShouldBe(4 / 6.0, 1e-12);
        // Class 0: TP 2 (pixels 0, 5), FP 1 (pixel 1), FN 1 (pixel 4) → 2/4. Class 1: TP 2, FP 1 (pixel 4), FN 1 (pixel 1) → 2/4.
        m.IoU(0).ShouldBe(0.5, 1e-12);
        m.IoU(1).ShouldBe(0.5, 1e-12);
        double.IsNaN(m.IoU(2)).ShouldBeTrue();
        m.MeanIoU.ShouldBe(0.5, 1e-12);
        m[1, 0].ShouldBe(1);
        Should.Throw<ArgumentOutOfRangeException>(() => m.Add(output, new[] { 0, 1, 3, 1, 0, 0 }, 1)).Message.ShouldContain("label 3 of pixel 2");
    }

    [Fact]
    public void BadInputIsRefusedWithItsName()
    {
        var data = Data(2, 5);
        using var net = new PixelNet(maxBatch: 2, seed: 2, workers: 1);
        Should.Throw<ArgumentException>(() => Trainer.Fit(net, data, null, new PixelwiseSoftmaxCrossEntropy(3), new Sgd(0.1f),
            new TrainingOptions { Augmentation = Augmentation.HorizontalFlip() })).Message.ShouldContain("use TargetAugmentation");
        var small = new PixelLabeledImages(new float[36], new int[25], 1, 6, 6, 3, labelHeight: 5, labelWidth: 5);
        Should.Throw<ArgumentException>(() => Trainer.Fit(net, small, null, new PixelwiseSoftmaxCrossEntropy(3), new Sgd(0.1f), new TrainingOptions()))
            .Message.ShouldContain("C·5·5");
        Should.Throw<ArgumentException>(() => new PixelLabeledImages(new float[36], new int[35], 1, 6, 6, 3)).Message.ShouldContain("36 pixel labels");
    }

    [Fact]
    public void AFlipMovesThePixelLabelsWithTheImage()
    {
        var image = Enumerable.Range(0, 6).Select(i => (float)i).ToArray(); // 1×2×3
        int[] labels = { 0, 1, 2, 2, 1, 0 };
        var rng = new Rng(1);
        TargetAugmentation.HorizontalFlip(1.0).Apply(image, 1, 2, 3, labels, 2, 3, ref rng);
        image.ShouldBe(new float[] { 2, 1, 0, 5, 4, 3 });
        labels.ShouldBe(new[] { 2, 1, 0, 0, 1, 2 });
    }
}
