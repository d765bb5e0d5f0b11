using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using NetDsl.Data;
using NetDsl.Kernels;

namespace NetDsl.Training;

public sealed partial class TrainingOptions
{
    /// <summary>For per-pixel and regression fits: an augmentation that moves the targets with the image (e.g.
    /// <see cref="Data.TargetAugmentation.HorizontalFlip"/>), seeded by (<see cref="Seed"/>, epoch, sample index).</summary>
    public TargetAugmentation? TargetAugmentation { get; init; }

    /// <summary>Sets the momentum of an <see cref="Sgd"/> optimizer (by epoch or step, like <see cref="Schedule"/>), e.g. a
    /// <see cref="LinearSchedule"/> from 0.9 to 0.999. The optimizer must have been built with momentum &gt; 0.</summary>
    public LearningRateSchedule? MomentumSchedule { get; init; }
}

/// <summary>Training on targets other than one class per sample: one class per output pixel (dense prediction) or real values
/// (regression). The same mini-batch loop as the classification <c>Fit</c>: seeded shuffles, chunks of at most MaxBatch whose
/// gradients are weighted into the batch mean, schedules, per-layer rates and freezing, L1/L2, <c>OnStep</c>/<c>OnEpoch</c>.
/// Checkpoints, resuming, progress reports and the NaN policies other than <see cref="NonFinitePolicy.Throw"/> are for the
/// classification fit only, and are refused here.</summary>
public static partial class Trainer
{
    /// <summary>Dense prediction: the network's output is C·H·W with C = the classes and H×W = the label map; the loss is
    /// typically <see cref="PixelwiseSoftmaxCrossEntropy"/>. The reports' accuracies are pixel accuracies.</summary>
    public static IReadOnlyList<EpochReport> Fit(INetwork network, PixelLabeledImages train, PixelLabeledImages? test, Loss loss, Optimizer optimizer, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        CheckPixelData(network, train, nameof(train));
        if (test is not null) CheckPixelData(network, test, nameof(test));
        var targets = new PixelTargets(train);
        return FitTargets(network, train.Pixels, train.Count, targets, loss, optimizer, options,
            () => test is null ? (double.NaN, double.NaN) : Evaluate(network, test, loss) is var e ? (e.Loss, e.Confusion.PixelAccuracy) : default);
    }

    /// <summary>Regression: the network's output is <see cref="RegressionImages.TargetSize"/> values per sample; the loss is
    /// typically <see cref="MeanSquaredError"/> (its real-valued overload). The reports' accuracies are NaN.</summary>
    public static IReadOnlyList<EpochReport> Fit(INetwork network, RegressionImages train, RegressionImages? test, Loss loss, Optimizer optimizer, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        CheckRegressionData(network, train, nameof(train));
        if (test is not null) CheckRegressionData(network, test, nameof(test));
        var targets = new RealTargets(train);
        return FitTargets(network, train.Pixels, train.Count, targets, loss, optimizer, options,
            () => test is null ? (double.NaN, double.NaN) : (Evaluate(network, test, loss), double.NaN));
    }

    /// <summary>Dense prediction in inference mode: the mean loss (over samples, each the loss's own mean over its pixels) and
    /// the confusion matrix of every pixel (pixel accuracy, per-class and mean IoU).</summary>
    public static (double Loss, ConfusionMatrix Confusion) Evaluate(INetwork network, PixelLabeledImages data, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        CheckPixelData(network, data, nameof(data));
        int batch = network.MaxBatch, map = data.LabelsPerSample;
        var grad = new float[batch * network.OutputSize];
        var confusion = new ConfusionMatrix(network.OutputSize / map);
        double lossSum = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            var output = network.Forward(data.Pixels.AsSpan(start * network.InputSize, n * network.InputSize), n);
            var labels = data.Labels.AsSpan(start * map, n * map);
            lossSum += (double)loss.Compute(output, labels, n, network.OutputSize, grad.AsSpan(0, n * network.OutputSize)) * n;
            confusion.Add(output, labels, n);
        }
        return (lossSum / data.Count, confusion);
    }

    /// <summary>Regression in inference mode: the mean loss over the samples.</summary>
    public static double Evaluate(INetwork network, RegressionImages data, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        CheckRegressionData(network, data, nameof(data));
        int batch = network.MaxBatch, size = data.TargetSize;
        var grad = new float[batch * network.OutputSize];
        double lossSum = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            var output = network.Forward(data.Pixels.AsSpan(start * network.InputSize, n * network.InputSize), n);
            lossSum += (double)loss.Compute(output, data.Targets.AsSpan(start * size, n * size), n, network.OutputSize, grad.AsSpan(0, n * network.OutputSize)) * n;
        }
        return lossSum / data.Count;
    }

    /// <summary>Sets the momentum of <paramref name="optimizer"/> (an <see cref="Sgd"/>, possibly inside a <see cref="LayerScaledOptimizer"/>).</summary>
    public static void SetMomentum(Optimizer optimizer, float momentum)
    {
        ArgumentNullException.ThrowIfNull(optimizer);
        var inner = optimizer is LayerScaledOptimizer scaled ? scaled.Inner : optimizer;
        if (inner is not Sgd sgd)
            throw new ArgumentException($"a momentum schedule needs an Sgd optimizer, got {inner.Kind}", nameof(optimizer));
        sgd.Momentum = momentum;
    }

    static void CheckPixelData(INetwork network, PixelLabeledImages data, string name)
    {
        if (data.SampleSize != network.InputSize)
            throw new ArgumentException($"{name}: samples are {data.Channels}×{data.Height}×{data.Width} = {data.SampleSize} floats, the network takes {network.InputSize}", name);
        if (network.OutputSize % data.LabelsPerSample != 0 || network.OutputSize / data.LabelsPerSample < data.ClassCount)
            throw new ArgumentException($"{name}: the network's output ({network.OutputSize} floats) is not C·{data.LabelHeight}·{data.LabelWidth} with C >= the {data.ClassCount} classes", name);
    }

    static void CheckRegressionData(INetwork network, RegressionImages data, string name)
    {
        if (data.SampleSize != network.InputSize)
            throw new ArgumentException($"{name}: samples are {data.Channels}×{data.Height}×{data.Width} = {data.SampleSize} floats, the network takes {network.InputSize}", name);
        if (data.TargetSize != network.OutputSize)
            throw new ArgumentException($"{name}: {data.TargetSize} targets per sample, but the network has {network.OutputSize} outputs", name);
    }

    /// <summary>The targets of a data set, seen by the shared loop.</summary>
    abstract class TargetSet
    {
        public abstract int Size { get; }
        public abstract void CopyTo(int sample, int slot);
        public abstract void Augment(TargetAugmentation augmentation, Span<float> image, int slot, ref Rng rng);
        public abstract float Compute(Loss loss, ReadOnlySpan<float> output, int n, int features, Span<float> grad);
        /// <summary>Correct predictions in the chunk (pixels for per-pixel labels; 0 for regression).</summary>
        public abstract long Correct(ReadOnlySpan<float> output, int n);
        /// <summary>What the samples weigh in a mean (see <c>ChunkWeight</c>).</summary>
        public abstract double Weight(Loss loss, ReadOnlySpan<int> indices);
        /// <summary>Accuracy denominator per sample.</summary>
        public abstract int Counted { get; }
        public abstract (int C, int H, int W) Image { get; }
    }

    sealed class PixelTargets(PixelLabeledImages data) : TargetSet
    {
        int[] _buffer = [];
        ConfusionMatrix? _confusion;
        public override int Size => data.LabelsPerSample;
        public override int Counted => data.LabelsPerSample;
        public override (int C, int H, int W) Image => (data.Channels, data.Height, data.Width);
        public void Allocate(int chunk, int classes) { _buffer = new int[chunk * Size]; _confusion = new ConfusionMatrix(classes); }
        public override void CopyTo(int sample, int slot) =>
            data.Labels.AsSpan(sample * Size, Size).CopyTo(_buffer.AsSpan(slot * Size));
        public override void Augment(TargetAugmentation augmentation, Span<float> image, int slot, ref Rng rng) =>
            augmentation.Apply(image, data.Channels, data.Height, data.Width, _buffer.AsSpan(slot * Size, Size), data.LabelHeight, data.LabelWidth, ref rng);
        public override float Compute(Loss loss, ReadOnlySpan<float> output, int n, int features, Span<float> grad) =>
            loss.Compute(output, _buffer.AsSpan(0, n * Size), n, features, grad);
        public override long Correct(ReadOnlySpan<float> output, int n) => _confusion!.Add(output, _buffer.AsSpan(0, n * Size), n);
        public override double Weight(Loss loss, ReadOnlySpan<int> indices)
        {
            var weights = loss is PixelwiseSoftmaxCrossEntropy ce ? ce.ClassWeights : default;
            if (weights.IsEmpty) return indices.Length;
            double sum = 0;
            foreach (int i in indices)
                foreach (int label in data.Labels.AsSpan(i * Size, Size)) sum += weights[label];
            return sum;
        }
    }

    sealed class RealTargets(RegressionImages data) : TargetSet
    {
        float[] _buffer = [];
        public override int Size => data.TargetSize;
        public override int Counted => 0;
        public override (int C, int H, int W) Image => (data.Channels, data.Height, data.Width);
        public void Allocate(int chunk) => _buffer = new float[chunk * Size];
        public override void CopyTo(int sample, int slot) =>
            data.Targets.AsSpan(sample * Size, Size).CopyTo(_buffer.AsSpan(slot * Size));
        public override void Augment(TargetAugmentation augmentation, Span<float> image, int slot, ref Rng rng) =>
            augmentation.Apply(image, data.Channels, data.Height, data.Width, _buffer.AsSpan(slot * Size, Size), ref rng);
        public override float Compute(Loss loss, ReadOnlySpan<float> output, int n, int features, Span<float> grad) =>
            loss.Compute(output, _buffer.AsSpan(0, n * Size), n, features, grad);
        public override long Correct(ReadOnlySpan<float> output, int n) => 0;
        public override double Weight(Loss loss, ReadOnlySpan<int> indices) => loss is SumSquaredError ? 1 : indices.Length;
    }

    /// <summary>The generator of one (epoch, sample index) of a target augmentation: independent of batch order and size.</summary>
    internal static Rng TargetAugmentationRng(int seed, int epoch, int sampleIndex)
    {
        var mix = new Rng(((ulong)(uint)seed << 32) ^ 0x5A5A_0000_0000_0000UL ^ (uint)epoch);
        var rng = new Rng(mix.NextUInt64() ^ ((ulong)(uint)sampleIndex * 0xD1B54A32D192ED03UL));
        rng.NextUInt64();
        return rng;
    }

    static IReadOnlyList<EpochReport> FitTargets(INetwork network, float[] pixels, int count, TargetSet targets, Loss loss, Optimizer optimizer,
        TrainingOptions options, Func<(double Loss, double Accuracy)> evaluate)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        string kind = targets is PixelTargets ? "per-pixel" : "regression";
        if (options.Checkpoints is not null || options.ResumeFrom is not null)
            throw new ArgumentException($"checkpoints and resuming are not supported by the {kind} Fit (only by the classification Fit)", nameof(options));
        if (options.Progress is not null)
            throw new ArgumentException($"Progress is not supported by the {kind} Fit; use OnStep or OnEpoch", nameof(options));
        if (options.NonFinite is not (NonFinitePolicy.Throw or NonFinitePolicy.Off))
            throw new ArgumentException($"NonFinite = {options.NonFinite} is not supported by the {kind} Fit (Throw or Off)", nameof(options));
        if (options.Validation is not null || options.EarlyStopping is not null)
            throw new ArgumentException($"Validation and EarlyStopping are supported by the classification Fit only (a {kind} validation set needs its own targets)", nameof(options));
        if (options.Augmentation is not null)
            throw new ArgumentException($"Augmentation transforms only the image, which would no longer match its {kind} targets; use TargetAugmentation", nameof(options));
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "Epochs must be at least 0");
        if (options.BatchSize < 1) throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1");
        if (options.Schedule is not null && options.LearningRateForEpoch is not null)
            throw new ArgumentException("set either Schedule or LearningRateForEpoch, not both", nameof(options));
        if (options.MomentumSchedule is not null) SetMomentum(optimizer, options.MomentumSchedule.RateFor(0, 0)); // fails early on a wrong optimizer
        if (count == 0) throw new ArgumentException("train has no samples", "train");

        var scaled = LayerScaling(network, optimizer, options);
        Optimizer step = scaled ?? optimizer;

        var penalties = Penalties(network, options);
        int batchSize = Math.Min(options.BatchSize, count);
        int chunk = Math.Min(batchSize, network.MaxBatch);
        if (targets is PixelTargets pt) pt.Allocate(chunk, network.OutputSize / pt.Size);
        else ((RealTargets)targets).Allocate(chunk);
        var (channels, height, width) = targets.Image;
        var sampler = new BatchSampler(count, batchSize, options.Seed, options.Shuffle);
        var x = new float[chunk * network.InputSize];
        var outputGrad = new float[chunk * network.OutputSize];
        var reports = new List<EpochReport>();
        long stepIndex = 0;
        for (int epoch = 0; epoch < options.Epochs; epoch++)
        {
            if (epoch > 0) sampler.NewEpoch();
            if (options.LearningRateForEpoch is { } perEpoch) optimizer.LearningRate = perEpoch(epoch);
            var clock = Stopwatch.StartNew();
            double lossSum = 0;
            long correct = 0;
            for (int b = 0; b < sampler.BatchCount; b++)
            {
                if (options.Schedule is { } schedule) optimizer.LearningRate = schedule.RateFor(epoch, stepIndex);
                if (options.MomentumSchedule is { } momentum) SetMomentum(optimizer, momentum.RateFor(epoch, stepIndex));
                step.LearningRate = optimizer.LearningRate;
                var order = sampler.Order.Slice(b * batchSize, sampler.SizeOf(b));
                double batchWeight = targets.Weight(loss, order);
                double batchLoss = 0, batchLossSum = 0;
                network.ZeroGradients();
                for (int start = 0; start < order.Length; start += chunk)
                {
                    var indices = order.Slice(start, Math.Min(chunk, order.Length - start));
                    int n = indices.Length;
                    var xs = x.AsSpan(0, n * network.InputSize);
                    for (int k = 0; k < n; k++)
                    {
                        pixels.AsSpan(indices[k] * network.InputSize, network.InputSize).CopyTo(xs.Slice(k * network.InputSize));
                        targets.CopyTo(indices[k], k);
                        if (options.TargetAugmentation is { } augmentation)
                        {
                            var rng = TargetAugmentationRng(options.Seed, epoch, indices[k]);
                            targets.Augment(augmentation, xs.Slice(k * network.InputSize, network.InputSize), k, ref rng);
                        }
                    }
                    var output = network.Forward(xs, n, training: true);
                    var grad = outputGrad.AsSpan(0, n * network.OutputSize);
                    float l = targets.Compute(loss, output, n, network.OutputSize, grad);
                    if (options.NonFinite == NonFinitePolicy.Throw && !float.IsFinite(l))
                        throw new NonFiniteException($"the {kind} loss is {l} at epoch {epoch + 1}, step {stepIndex}, batch {b}", epoch, stepIndex, null, null, -1, -1);
                    batchLossSum += (double)l * n;
                    correct += targets.Correct(output, n);
                    if (n != order.Length)
                    {
                        // The loss is a mean over the chunk; the step wants the mean over the batch.
                        float w = batchWeight == 0 ? 0f : (float)(targets.Weight(loss, indices) / batchWeight);
                        for (int i = 0; i < grad.Length; i++) grad[i] *= w;
                        batchLoss += l * w;
                    }
                    else batchLoss = l;
                    network.Backward(grad, n);
                }
                if (penalties.Length > 0)
                {
                    double penalty = 0;
                    foreach (var (offset, length, l1, l2) in penalties)
                        penalty += Regularization.Apply(network.Parameters.Slice(offset, length), network.Gradients.Slice(offset, length), l1, l2);
                    batchLoss += penalty;
                    batchLossSum += penalty * order.Length;
                }
                scaled?.ZeroFrozenGradients(network.Gradients);
                options.OnStep?.Invoke(new StepInfo(network, epoch, b, stepIndex, order.Length, (float)batchLoss, step.LearningRate));
                network.Update(step);
                lossSum += batchLossSum;
                stepIndex++;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            var (testLoss, testAccuracy) = evaluate();
            double trainAccuracy = targets.Counted == 0 ? double.NaN : (double)correct / ((long)count * targets.Counted);
            var report = new EpochReport(epoch + 1, lossSum / count, trainAccuracy, testLoss, testAccuracy, seconds, count / seconds, optimizer.LearningRate);
            reports.Add(report);
            options.OnEpoch?.Invoke(report);
        }
        return reports;
    }
}
