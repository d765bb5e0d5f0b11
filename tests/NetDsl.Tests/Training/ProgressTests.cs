using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NetDsl.Data;
using NetDsl.Tests.Networks;
using NetDsl.Training;
using NetDsl.Visualization;
using Xunit;

namespace NetDsl.Tests.Training;

public class ProgressTests
{
    private sealed class Recorder : IProgress<TrainingProgress>
    {
        public List<TrainingProgress> Reports { get; } = [];
        public void Report(TrainingProgress value) => Reports.Add(value);
    }

    private static LabeledImages RandomImages(int count, int seed)
    {
        var random = new Random(seed);
        var pixels = new float[count * 64];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = (float)random.NextDouble();
        var labels = Enumerable.Range(0, count).Select(i => i % 3).ToArray();
        return new LabeledImages(pixels, labels, 1, 8, 8, classCount: 3);
    }

    [Fact]
    public void ProgressCountsStepsAndSamplesAndEndsEachEpochAtItsEpochReport()
    {
        var train = RandomImages(35, 1);
        using var net = new TinyConv(maxBatch: 10, seed: 4);
        var recorder = new Recorder();
        var batchLosses = new List<float>();
        var reports = Trainer.Fit(net, train, null, new SoftmaxCrossEntropy(), new Sgd(0.05f), new TrainingOptions
        {
            Epochs = 2, BatchSize = 10, Progress = recorder, ProgressInterval = TimeSpan.Zero,
            OnStep = s => batchLosses.Add(s.Loss),
        });

        // 35 samples in batches of 10: steps of 10, 10, 10 and 5 samples, every step reported.
        Assert.Equal(8, recorder.Reports.Count);
        Assert.Equal([1, 2, 3, 4, 1, 2, 3, 4], recorder.Reports.Select(p => p.Step));
        Assert.Equal([10, 20, 30, 35, 10, 20, 30, 35], recorder.Reports.Select(p => p.Samples));
        Assert.All(recorder.Reports, p => Assert.Equal((4, 35, 2), (p.StepsPerEpoch, p.SamplesPerEpoch, p.Epochs)));
        Assert.Equal([1, 1, 1, 1, 2, 2, 2, 2], recorder.Reports.Select(p => p.Epoch));
        // After the first step the running loss is that batch's mean loss.
        Assert.Equal(batchLosses[0], recorder.Reports[0].Loss, 6);
        // After two steps it is the mean over both batches' samples (equal batches: the mean of the two means).
        Assert.Equal((batchLosses[0] + batchLosses[1]) / 2.0, recorder.Reports[1].Loss, 6);
        for (int e = 0; e < 2; e++)
        {
            var end = recorder.Reports[4 * e + 3];
            Assert.True(end.IsEpochEnd);
            Assert.Equal(reports[e].TrainLoss, end.Loss, 12);
            Assert.Equal(reports[e].TrainAccuracy, end.Accuracy, 12);
            Assert.Equal(TimeSpan.Zero, end.EpochRemaining);
            Assert.Equal(1.0, end.EpochFraction);
        }
        Assert.True(recorder.Reports[^1].TotalRemaining == TimeSpan.Zero);
        Assert.True(recorder.Reports[0].SamplesPerSecond > 0);
        // Before the last epoch, the time left for the whole run covers this epoch's remainder plus one more epoch.
        var first = recorder.Reports[0];
        Assert.Equal(first.EpochRemaining.TotalSeconds + 35 / first.SamplesPerSecond, first.TotalRemaining.TotalSeconds, 3);
    }

    [Fact]
    public void ALongIntervalLeavesOnlyTheEpochEnds()
    {
        using var net = new TinyConv(maxBatch: 5, seed: 4);
        var recorder = new Recorder();
        Trainer.Fit(net, RandomImages(20, 2), null, new SoftmaxCrossEntropy(), new Sgd(0.05f), new TrainingOptions
        {
            Epochs = 3, BatchSize = 5, Progress = recorder, ProgressInterval = TimeSpan.FromHours(1),
        });
        Assert.Equal([(1, 4), (2, 4), (3, 4)], recorder.Reports.Select(p => (p.Epoch, p.Step)));
        Assert.Throws<ArgumentOutOfRangeException>(() => Trainer.Fit(net, RandomImages(20, 2), null, new SoftmaxCrossEntropy(), new Sgd(0.05f),
            new TrainingOptions { Epochs = 1, Progress = recorder, ProgressInterval = TimeSpan.FromSeconds(-1) }));
    }

    [Fact]
    public void RedirectedTextProgressWritesALinePerQuarterEpoch()
    {
        var writer = new StringWriter();
        var text = new TextProgress(writer, inPlace: false);
        for (int epoch = 1; epoch <= 2; epoch++)
            for (int step = 1; step <= 8; step++)
                text.Report(new TrainingProgress(epoch, 2, step, 8, step * 4, 32, 0.5, 0.75, 1000, TimeSpan.Zero, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(65)));
        var lines = writer.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
        // Steps 2, 4 and 6 of 8 cross the first three quarters; the epoch's end is left to the epoch line.
        Assert.Equal(6, lines.Length);
        Assert.Equal("epoch 1/2  step 2/8   25 %  loss 0.5000  acc 75.00 %  1,000 samples/s  ETA 0:02 (epoch) 1:05 (all)", lines[0]);
        Assert.StartsWith("epoch 2/2  step 6/8", lines[5]);
    }

    [Fact]
    public void TheSummaryPicksTheBestTestAccuracyOrWithoutATestSetTheLowestTrainingLoss()
    {
        EpochReport R(int epoch, double trainLoss, double testAccuracy, double seconds) =>
            new(epoch, trainLoss, 0.5, 0.4, testAccuracy, seconds, 100, 0.01f);
        var withTest = TrainingSummary.Of([R(1, 0.9, 0.70, 1.5), R(2, 0.7, 0.82, 1.0), R(3, 0.6, 0.82, 1.25), R(4, 0.5, 0.80, 1.0)]);
        Assert.Equal((4, 2, 0.82, 0.80, 4.75), (withTest.Epochs, withTest.BestEpoch, withTest.BestTestAccuracy, withTest.FinalTestAccuracy, withTest.TotalSeconds));
        Assert.Equal("best epoch 2 of 4: test acc 82.00 %; final test acc 80.00 %; training time 4.8 s", withTest.ToString());

        var noTest = TrainingSummary.Of([R(1, 0.9, double.NaN, 1), R(2, 0.4, double.NaN, 1), R(3, 0.5, double.NaN, 1)]);
        Assert.Equal(2, noTest.BestEpoch);
        Assert.Equal("best epoch 2 of 3 (lowest training loss); final train loss 0.5000; training time 3.0 s", noTest.ToString());
        Assert.Throws<ArgumentException>(() => TrainingSummary.Of([]));
        Assert.Equal("1:01:05", TrainingSummary.Clock(TimeSpan.FromSeconds(3665)));
    }

    [Fact]
    public void TheEvaluationReportCountsTheConfusionMatrixAndTopKByHand()
    {
        using var net = new IdentityHead(maxBatch: 2);
        net.Parameters.Clear();
        var weight = net.ParameterTensors.ToArray().Single(t => t.Name == "dense1.weight");
        for (int i = 0; i < 4; i++) net.Parameters[weight.Offset + i * 4 + i] = 1f; // weight [4, 4] = identity, bias 0
        // Rows are the logits; labels below. Worked by hand:
        float[] logits =
        [
            5, 1, 0, 0,   // label 0: argmax 0 (right), rank 0
            1, 5, 0, 0,   // label 0: argmax 1, rank 1 → top-2 right
            0, 0, 1, 9,   // label 1: argmax 3, rank 3 (below 3 and 2) → top-2 wrong
            2, 2, 0, 0,   // label 1: tie with class 0, argmax 0 (first maximum), rank 1 (class 0 ranks first) → top-2 right
            0, 0, 3, 1,   // label 2: right
        ];
        int[] labels = [0, 0, 1, 1, 2];
        var data = new LabeledImages(logits, labels, 1, 1, 4, classCount: 4);
        var report = EvaluationReport.Compute(net, data, new SoftmaxCrossEntropy(), topK: 2);
        Assert.Equal((4, 2, 5), (report.ClassCount, report.TopK, report.Count));
        Assert.Equal(2.0 / 5, report.Accuracy, 12);
        Assert.Equal(4.0 / 5, report.TopKAccuracy, 12);
        int[,] expected = { { 1, 1, 0, 0 }, { 1, 0, 0, 1 }, { 0, 0, 1, 0 }, { 0, 0, 0, 0 } };
        for (int a = 0; a < 4; a++)
            for (int p = 0; p < 4; p++) Assert.Equal(expected[a, p], report[a, p]);
        Assert.Equal(0.5, report.Recall(0));
        Assert.Equal(0.0, report.Recall(1));
        Assert.True(double.IsNaN(report.Recall(3)));
        // The loss: softmax cross-entropy of each row, by definition.
        double loss = 0;
        for (int n = 0; n < 5; n++)
        {
            var row = logits.AsSpan(n * 4, 4).ToArray();
            loss += Math.Log(row.Sum(v => Math.Exp(v))) - row[labels[n]];
        }
        Assert.Equal(loss / 5, report.Loss, 5);
        // top-1 is the accuracy; k above the class count is capped.
        Assert.Equal(report.Accuracy, EvaluationReport.Compute(net, data, new SoftmaxCrossEntropy(), topK: 1).TopKAccuracy, 12);
        Assert.Equal(4, EvaluationReport.Compute(net, data, new SoftmaxCrossEntropy(), topK: 9).TopK);

        string text = report.ToText(["zero", "one", "two", "three"]);
        Assert.Contains("one       1    0    0    1    0.0 %", text);
        Assert.Contains("5 samples: loss", text);
        Assert.Contains("accuracy 40.00 %, top-2 accuracy 80.00 %", text);

        var image = ConfusionMatrixImage.Render(report, ["zero", "one", "two", "three"]);
        // Cell (actual 0, predicted 0) holds half of class 0: the shade halfway between white and dark blue.
        int left = 6 * "three".Length + 10, top = 30;
        Assert.Equal(ConfusionMatrixImage.Shade(0.5), image[left + 2, top + 2]);
        Assert.Equal(ConfusionMatrixImage.Shade(0), image[left + 36 * 2 + 2, top + 2]);
        Assert.Equal(((byte)255, (byte)255, (byte)255), ConfusionMatrixImage.Shade(0));
        Assert.Equal(((byte)8, (byte)48, (byte)107), ConfusionMatrixImage.Shade(1));
    }
}
