using System;
using System.Collections.Generic;
using NetDsl.Data;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>The result of <see cref="OverfitCheck.Run"/>; <c>Losses</c> holds the inference-mode loss before each step.</summary>
public sealed record OverfitResult(int Samples, int Steps, double InitialLoss, double FinalLoss, double FinalAccuracy,
    double LossThreshold, double AccuracyThreshold, bool Passed, IReadOnlyList<double> Losses)
{
    public override string ToString() =>
        $"overfit check on {Samples} samples: loss {InitialLoss:G4} → {FinalLoss:G4} (threshold {LossThreshold:G3}), accuracy {FinalAccuracy:P1} after {Steps} steps: {(Passed ? "passed" : "FAILED")}";
}

/// <summary>The sanity check of the notes: a network that is wired correctly can memorize a handful of samples.
/// Trains full-batch on the first samples of a data set until the loss and the accuracy reach their thresholds, or the step limit.</summary>
public static class OverfitCheck
{
    public static OverfitResult Run(INetwork network, LabeledImages data, Loss loss, Optimizer optimizer, int samples = 16, int maxSteps = 300,
        double lossThreshold = 0.05, double accuracyThreshold = 1.0)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (data.SampleSize != network.InputSize)
            throw new ArgumentException($"data samples are {data.SampleSize} floats, the network takes {network.InputSize}", nameof(data));
        if (samples < 1 || samples > Math.Min(data.Count, network.MaxBatch))
            throw new ArgumentOutOfRangeException(nameof(samples), samples, $"samples must be between 1 and min(data count {data.Count}, MaxBatch {network.MaxBatch})");
        if (maxSteps < 1) throw new ArgumentOutOfRangeException(nameof(maxSteps), maxSteps, "maxSteps must be >= 1");
        if (!(accuracyThreshold is >= 0 and <= 1)) throw new ArgumentOutOfRangeException(nameof(accuracyThreshold), accuracyThreshold, "accuracyThreshold must be in [0, 1]");

        var x = data.Pixels.AsSpan(0, samples * data.SampleSize).ToArray();
        var y = data.Labels.AsSpan(0, samples).ToArray();
        var grad = new float[samples * network.OutputSize];
        var losses = new List<double>();
        double accuracy = 0, last = double.NaN;
        int steps = 0;
        bool passed = false;
        for (; steps <= maxSteps; steps++)
        {
            // Inference-mode loss and accuracy decide; training continues from there.
            var eval = network.Forward(x, samples);
            last = loss.Compute(eval, y, samples, network.OutputSize, grad);
            accuracy = (double)Metrics.CountCorrect(eval, y, samples, network.OutputSize) / samples;
            losses.Add(last);
            if (last <= lossThreshold && accuracy >= accuracyThreshold) { passed = true; break; }
            if (steps == maxSteps) break;
            var output = network.Forward(x, samples, training: true);
            loss.Compute(output, y, samples, network.OutputSize, grad);
            network.ZeroGradients();
            network.Backward(grad, samples);
            network.Update(optimizer);
        }
        return new OverfitResult(samples, steps, losses[0], last, accuracy, lossThreshold, accuracyThreshold, passed, losses);
    }
}
