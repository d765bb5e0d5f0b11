using System;
using System.Collections.Generic;
using System.Diagnostics;
using NetDsl.Data;

namespace NetDsl.Training;

/// <summary>What one epoch did.</summary>
public sealed record EpochReport(
    int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy,
    double Seconds, double SamplesPerSecond, float LearningRate);

public sealed class TrainingOptions
{
    public int Epochs { get; init; } = 5;
    public int BatchSize { get; init; } = 64;
    /// <summary>Seed of the shuffling (the network's own seed sets initialization and dropout).</summary>
    public int Seed { get; init; } = 1;
    public bool Shuffle { get; init; } = true;
    /// <summary>Called after every epoch.</summary>
    public Action<EpochReport>? OnEpoch { get; init; }
    /// <summary>Sets the learning rate before each epoch (epoch counted from 0), for schedules.</summary>
    public Func<int, float>? LearningRateForEpoch { get; init; }
}

/// <summary>Mini-batch training: shuffled batches, forward, loss, backward, optimizer step; evaluation per epoch.</summary>
public static class Trainer
{
    public static IReadOnlyList<EpochReport> Fit(INetwork network, LabeledImages train, LabeledImages? test, Loss loss, Optimizer optimizer, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        CheckData(network, train, nameof(train));
        if (test is not null) CheckData(network, test, nameof(test));
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "Epochs must be at least 0");
        if (options.BatchSize < 1 || options.BatchSize > network.MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, $"BatchSize must be between 1 and the network's MaxBatch {network.MaxBatch}");

        var sampler = new BatchSampler(train.Count, options.BatchSize, options.Seed, options.Shuffle);
        var x = new float[options.BatchSize * network.InputSize];
        var y = new int[options.BatchSize];
        var outputGrad = new float[options.BatchSize * network.OutputSize];
        var reports = new List<EpochReport>();

        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            if (options.LearningRateForEpoch is { } schedule) optimizer.LearningRate = schedule(epoch);
            if (epoch > 0) sampler.NewEpoch();
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0;
            for (int b = 0; b < sampler.BatchCount; b++)
            {
                int n = sampler.CopyBatch(b, train, x, y);
                var xs = x.AsSpan(0, n * network.InputSize);
                var ys = y.AsSpan(0, n);
                var output = network.Forward(xs, n, training: true);
                var grad = outputGrad.AsSpan(0, n * network.OutputSize);
                lossSum += (double)loss.Compute(output, ys, n, network.OutputSize, grad) * n;
                correct += Metrics.CountCorrect(output, ys, n, network.OutputSize);
                network.ZeroGradients();
                network.Backward(grad, n);
                optimizer.Step(network.Parameters, network.Gradients);
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var (testLoss, testAccuracy) = test is null ? (double.NaN, double.NaN) : Evaluate(network, test, loss);
            var report = new EpochReport(epoch + 1, lossSum / train.Count, (double)correct / train.Count, testLoss, testAccuracy,
                seconds, train.Count / seconds, optimizer.LearningRate);
            reports.Add(report);
            options.OnEpoch?.Invoke(report);
        }
        return reports;
    }

    /// <summary>Mean loss and accuracy in inference mode, in batches of the network's MaxBatch.</summary>
    public static (double Loss, double Accuracy) Evaluate(INetwork network, LabeledImages data, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        CheckData(network, data, nameof(data));
        int batch = network.MaxBatch;
        var grad = new float[batch * network.OutputSize];
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            var output = network.Forward(data.Pixels.AsSpan(start * network.InputSize, n * network.InputSize), n);
            var labels = data.Labels.AsSpan(start, n);
            lossSum += (double)loss.Compute(output, labels, n, network.OutputSize, grad.AsSpan(0, n * network.OutputSize)) * n;
            correct += Metrics.CountCorrect(output, labels, n, network.OutputSize);
        }
        return (lossSum / data.Count, (double)correct / data.Count);
    }

    private static void CheckData(INetwork network, LabeledImages data, string name)
    {
        if (data.SampleSize != network.InputSize)
            throw new ArgumentException($"{name}: samples are {data.Channels}×{data.Height}×{data.Width} = {data.SampleSize} floats, the network takes {network.InputSize}", name);
        if (data.ClassCount > network.OutputSize)
            throw new ArgumentException($"{name}: {data.ClassCount} classes, but the network has only {network.OutputSize} outputs", name);
    }
}
