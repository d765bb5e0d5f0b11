using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Training;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Early stopping on a validation set: with a network that memorizes noise, the validation loss turns up, training
/// stops after the patience, and the weights at the end are exactly those at the end of the best epoch.</summary>
public class EarlyStoppingTests
{
    static LabeledImages Noise(int count, int seed)
    {
        var rng = new Rng((ulong)seed);
        var pixels = Enumerable.Range(0, count * 16).Select(_ => (float)rng.NextNormal()).ToArray();
        var labels = Enumerable.Range(0, count).Select(_ => (int)(rng.NextUInt64() % 3)).ToArray();
        return new LabeledImages(pixels, labels, 1, 4, 4, 3);
    }

    [Fact]
    public void StopsAfterThePatienceAndRestoresTheBestEpochsWeights()
    {
        // Random labels: the training set can be memorized, the validation set cannot be learnt, so its loss rises.
        var train = Noise(24, 1);
        var validation = Noise(60, 2);
        using var net = new EarlyStopNet(24, seed: 3);
        var snapshots = new List<float[]>();
        var reports = Trainer.Fit(net, train, null, new SoftmaxCrossEntropy(), new Adam(0.05f), new TrainingOptions
        {
            Epochs = 60,
            BatchSize = 8,
            Validation = validation,
            EarlyStopping = new EarlyStopping { Patience = 4 },
            OnEpoch = _ => snapshots.Add(net.Parameters.ToArray()),
        });
        int best = Enumerable.Range(0, reports.Count).MinBy(i => reports[i].ValidationLoss);
        Assert.True(best < reports.Count - 1, "the validation loss never turned up: not an overfitting setup");
        Assert.True(reports.Count < 60, $"training ran all {reports.Count} epochs");
        Assert.Equal(best + 1 + 4, reports.Count); // stopped after 4 epochs without improvement
        Assert.Equal(snapshots[best], net.Parameters.ToArray());
        Assert.NotEqual(snapshots[^1], net.Parameters.ToArray());
        Assert.True(reports[^1].TrainLoss < reports[best].TrainLoss, "the network kept fitting the training set after the best epoch");
    }

    [Fact]
    public void EarlyStoppingWithoutAValidationSetIsRefused()
    {
        using var net = new EarlyStopNet(4);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, Noise(8, 1), null, new SoftmaxCrossEntropy(), new Sgd(0.1f),
            new TrainingOptions { EarlyStopping = new EarlyStopping() }));
        Assert.Contains("EarlyStopping needs a Validation set", e.Message);
    }

    [Fact]
    public void TheRegressionFitRefusesValidationRatherThanIgnoreIt()
    {
        using var net = new EarlyStopNet(4);
        var data = new RegressionImages(new float[8 * 16], new float[8 * 3], 1, 4, 4, 3);
        var e = Assert.Throws<ArgumentException>(() => Trainer.Fit(net, data, null, new MeanSquaredError(), new Sgd(0.1f),
            new TrainingOptions { Validation = Noise(8, 1), EarlyStopping = new EarlyStopping() }));
        Assert.Contains("Validation and EarlyStopping are supported by the classification Fit only", e.Message);
    }

    [Fact]
    public void SplitPutsEverySampleInExactlyOnePart()
    {
        var data = Noise(50, 4);
        var (rest, held) = data.Split(0.2, seed: 1);
        Assert.Equal((40, 10), (rest.Count, held.Count));
        var all = rest.Pixels.Chunk(16).Concat(held.Pixels.Chunk(16)).Select(s => string.Join(",", s)).OrderBy(s => s);
        Assert.Equal(data.Pixels.Chunk(16).Select(s => string.Join(",", s)).OrderBy(s => s), all);
        Assert.Equal(held.Pixels, data.Split(0.2, seed: 1).Validation.Pixels);   // the seed fixes the split
        Assert.NotEqual(held.Pixels, data.Split(0.2, seed: 2).Validation.Pixels);
    }
}

[Network(1, 4, 4)]
[Dense(32)] [ReLU]
[Dense(3)]
public partial class EarlyStopNet;
