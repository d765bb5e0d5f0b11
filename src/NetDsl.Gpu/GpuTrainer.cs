using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.CodeAnalysis;
using NetDsl.Data;
using NetDsl.Training;

namespace NetDsl.Gpu;

/// <summary>
/// <see cref="Trainer.Fit(INetwork, LabeledImages, LabeledImages, Loss, Optimizer, TrainingOptions)"/> for a GPU twin: the
/// same batches (the same <see cref="BatchSampler"/>, seed and shuffle), each step on the device
/// (<see cref="IGpuNetwork.TrainStep(ReadOnlySpan{float}, ReadOnlySpan{int}, Loss, Optimizer)"/>); after every epoch the
/// parameters come back to <c>host</c> (the CPU network of the same class), which evaluates the test and validation sets,
/// so reports, safetensors saving and everything else that takes an <see cref="INetwork"/> work as after a CPU Fit.
/// </summary>
public static class GpuTrainer
{
    /// <summary>Trains <paramref name="twin"/> and returns one report per epoch; <paramref name="host"/> holds the weights
    /// after every epoch. The twin starts from the host's parameters. Supported options: Epochs, BatchSize (at most the
    /// twin's MaxBatch), Seed, Shuffle, LearningRateForEpoch, Schedule, Validation, OnEpoch, and NonFinite Throw or Off;
    /// the others are refused with the option's name. TrainAccuracy is NaN (the device step returns only the loss).
    /// <paramref name="keepDataOnDevice"/> (the default) copies the training images to the device once when they fit in a
    /// quarter of its memory (<see cref="DeviceSamples"/>), so each step uploads only its batch's indices; the steps compute
    /// the same bits either way. <paramref name="evaluateOnDevice"/>: whether the test and validation sets are evaluated by
    /// the twin (<see cref="Evaluate"/>) or by <c>host</c> (<see cref="Trainer.Evaluate(INetwork, LabeledImages, Loss)"/>); by default the twin on a GPU and
    /// the host on ILGPU's CPU simulator, whichever is faster there.</summary>
    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    public static IReadOnlyList<EpochReport> Fit(IGpuNetwork twin, INetwork host, LabeledImages train, LabeledImages? test, Loss loss,
        Optimizer optimizer, TrainingOptions options, bool keepDataOnDevice = true, bool? evaluateOnDevice = null)
    {
        ArgumentNullException.ThrowIfNull(twin);
        ArgumentNullException.ThrowIfNull(host);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        if (twin.ParameterCount != host.ParameterCount || twin.InputSize != host.InputSize || twin.OutputSize != host.OutputSize)
            throw new ArgumentException($"host has {host.ParameterCount} parameters, input {host.InputSize}, output {host.OutputSize}; the twin {twin.ParameterCount}, {twin.InputSize}, {twin.OutputSize}: pass the CPU network of the twin's class", nameof(host));
        if (train.SampleSize != twin.InputSize)
            throw new ArgumentException($"train has {train.SampleSize} floats per sample, the network takes {twin.InputSize}", nameof(train));
        if (train.Count == 0) throw new ArgumentException("train has no samples", nameof(train));
        Refuse(options.LayerLearningRates is { Count: > 0 }, nameof(options.LayerLearningRates));
        Refuse(options.FrozenLayers is { Count: > 0 }, nameof(options.FrozenLayers));
        Refuse(options.Augmentation is not null, nameof(options.Augmentation));
        Refuse(options.OnStep is not null, nameof(options.OnStep));
        Refuse(options.Progress is not null, nameof(options.Progress));
        Refuse(options.L1 != 0 || options.L2 != 0 || options.LayerRegularization is { Count: > 0 }, "L1/L2/LayerRegularization");
        Refuse(options.Checkpoints is not null || options.ResumeFrom is not null, "Checkpoints/ResumeFrom");
        Refuse(options.EarlyStopping is not null, nameof(options.EarlyStopping));
        Refuse(options.MomentumSchedule is not null, nameof(options.MomentumSchedule));
        Refuse(options.NonFinite is not (NonFinitePolicy.Throw or NonFinitePolicy.Off), $"NonFinite = {options.NonFinite}");
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "Epochs must be at least 0");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1");
        if (options.Schedule is not null && options.LearningRateForEpoch is not null)
            throw new ArgumentException("set either Schedule or LearningRateForEpoch, not both", nameof(options));
        int batchSize = Math.Min(options.BatchSize, train.Count);
        if (batchSize > twin.MaxBatch)
            throw new ArgumentException($"BatchSize {batchSize} exceeds the twin's MaxBatch {twin.MaxBatch}; construct the twin with maxBatch ≥ {batchSize}", nameof(options));

        twin.CopyParametersFrom(host);
        var sampler = new BatchSampler(train.Count, batchSize, options.Seed, options.Shuffle);
        var gpu = twin as GpuNetworkBase;
        bool onDevice = evaluateOnDevice ?? gpu is { Device.IsSimulator: false };
        using var samples = keepDataOnDevice && gpu is not null && (long)train.Pixels.Length * sizeof(float) <= gpu.Accelerator.MemorySize / 4
            ? new DeviceSamples(gpu.Device, train.Pixels, train.SampleSize) : null;
        var x = new float[batchSize * twin.InputSize];
        var y = new int[batchSize];
        var reports = new List<EpochReport>();
        long step = 0;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            if (options.LearningRateForEpoch is { } lrFor) optimizer.LearningRate = lrFor(epoch);
            var clock = Stopwatch.StartNew();
            while (sampler.Epoch < epoch) sampler.NewEpoch(); // as Trainer.Fit: epoch 0 takes the sampler's first order
            double sum = 0;
            for (int b = 0; b < sampler.BatchCount; b++)
            {
                if (options.Schedule is { } schedule) optimizer.LearningRate = schedule.RateFor(epoch, step);
                float l;
                int n;
                if (samples is not null)
                {
                    // The same batch as CopyBatch's, by index: the images are on the device, the labels go with the step.
                    n = sampler.SizeOf(b);
                    var indices = sampler.Order.Slice(b * batchSize, n);
                    for (int k = 0; k < n; k++) y[k] = train.Labels[indices[k]];
                    l = gpu!.TrainStep(samples, indices, y.AsSpan(0, n), loss, optimizer);
                }
                else
                {
                    n = sampler.CopyBatch(b, train, x, y);
                    l = twin.TrainStep(x.AsSpan(0, n * twin.InputSize), y.AsSpan(0, n), loss, optimizer);
                }
                if (options.NonFinite == NonFinitePolicy.Throw && !float.IsFinite(l))
                    throw new NonFiniteException($"the loss on the device is {l} at epoch {epoch + 1}, step {step}, batch {b} (the twin's parameters are not rolled back)", epoch + 1, step, null, null, -1, -1);
                sum += (double)l * n;
                step++;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            twin.CopyParametersTo(host);
            var (testLoss, testAccuracy) = test is null ? (double.NaN, double.NaN) : onDevice ? Evaluate(twin, test, loss) : Trainer.Evaluate(host, test, loss);
            var (validationLoss, validationAccuracy) = options.Validation is null ? (double.NaN, double.NaN)
                : onDevice ? Evaluate(twin, options.Validation, loss) : Trainer.Evaluate(host, options.Validation, loss);
            var report = new EpochReport(epoch + 1, sum / train.Count, double.NaN, testLoss, testAccuracy, seconds, train.Count / seconds, optimizer.LearningRate)
            {
                ValidationLoss = validationLoss,
                ValidationAccuracy = validationAccuracy,
            };
            reports.Add(report);
            options.OnEpoch?.Invoke(report);
        }
        return reports;
    }

    /// <summary><see cref="Trainer.Evaluate(INetwork, LabeledImages, Loss)"/> on the twin: inference in batches of its MaxBatch on the device, then the mean
    /// loss and the accuracy on the host from the outputs, with the same <see cref="Loss.Compute(ReadOnlySpan{float}, ReadOnlySpan{int}, int, int, Span{float})"/> and
    /// <see cref="Metrics.CountCorrect"/>.</summary>
    public static (double Loss, double Accuracy) Evaluate(IGpuNetwork twin, LabeledImages data, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(twin);
        return Trainer.Evaluate(data, loss, twin.InputSize, twin.OutputSize, twin.MaxBatch, (x, n) => twin.Forward(x, n));
    }

    private static void Refuse(bool set, string option)
    {
        if (set) throw new ArgumentException($"GpuTrainer.Fit does not support {option}; train on the CPU network with Trainer.Fit for it", "options");
    }
}
