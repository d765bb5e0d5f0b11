using System;
using System.Collections.Generic;
using System.Diagnostics;
using NetDsl.Data;

namespace NetDsl.Training;

/// <summary>What one epoch did.</summary>
public sealed record EpochReport(
    int Epoch, double TrainLoss, double TrainAccuracy, double TestLoss, double TestAccuracy,
    double Seconds, double SamplesPerSecond, float LearningRate)
{
    /// <summary>Loss on <see cref="TrainingOptions.Validation"/> after the epoch (NaN without one).</summary>
    public double ValidationLoss { get; init; } = double.NaN;
    /// <summary>Accuracy on <see cref="TrainingOptions.Validation"/> after the epoch (NaN without one).</summary>
    public double ValidationAccuracy { get; init; } = double.NaN;
}

/// <summary>What early stopping watches.</summary>
public enum EarlyStoppingMetric
{
    /// <summary>The validation loss: lower is better.</summary>
    ValidationLoss = 0,
    /// <summary>The validation accuracy: higher is better.</summary>
    ValidationAccuracy = 1,
}

/// <summary>Early stopping on the validation set (<see cref="TrainingOptions.Validation"/>): training stops after
/// <see cref="Patience"/> epochs without an improvement of more than <see cref="MinDelta"/> in <see cref="Monitor"/>, and with
/// <see cref="RestoreBestWeights"/> the network gets back the parameters and buffers (batch-norm statistics) it had at the end
/// of the best epoch (the first of equals), also when training runs to <see cref="TrainingOptions.Epochs"/>. The best epoch is
/// the report with the best monitored value. The best weights are held in memory, not in checkpoints: a resumed run starts
/// watching afresh.</summary>
public sealed record EarlyStopping
{
    /// <summary>Epochs without improvement before stopping (at least 1).</summary>
    public int Patience { get; init; } = 5;
    /// <summary>The validation figure to watch.</summary>
    public EarlyStoppingMetric Monitor { get; init; } = EarlyStoppingMetric.ValidationLoss;
    /// <summary>How much better than the best so far an epoch must be to count as an improvement.</summary>
    public double MinDelta { get; init; }
    /// <summary>Whether the network ends with the best epoch's weights (default) rather than the last epoch's.</summary>
    public bool RestoreBestWeights { get; init; } = true;
}

public sealed partial class TrainingOptions
{
    /// <summary>A <see cref="BatchSize"/> meaning "the whole training set in one step" (full-batch gradient descent).</summary>
    public const int FullBatch = int.MaxValue;

    public int Epochs { get; init; } = 5;
    /// <summary>Samples per optimizer step: 1 is stochastic gradient descent, <see cref="FullBatch"/> (or any value ≥ the
    /// training-set size) is full-batch. A batch larger than the network's MaxBatch is processed in chunks of at most MaxBatch
    /// whose gradients are accumulated with weights chunk/batch, so the step uses the batch mean exactly (for class-weighted
    /// cross-entropy: chunk weight/batch weight). Batch-norm statistics are then per chunk.</summary>
    public int BatchSize { get; init; } = 64;
    /// <summary>Seed of the shuffling and of the augmentation (the network's own seed sets initialization and dropout).</summary>
    public int Seed { get => _seed; init => _seed = value; }
    public bool Shuffle { get; init; } = true;
    /// <summary>Called after every epoch.</summary>
    public Action<EpochReport>? OnEpoch { get; init; }
    /// <summary>A validation set (held out from training, e.g. by <see cref="LabeledImages.Split"/>), evaluated in inference
    /// mode after every epoch into <see cref="EpochReport.ValidationLoss"/> and <see cref="EpochReport.ValidationAccuracy"/>;
    /// what <see cref="EarlyStopping"/> watches. The test set stays untouched for the final figure.</summary>
    public LabeledImages? Validation { get; init; }
    /// <summary>Stops training when the validation figure stops improving and restores the best epoch's weights; needs <see cref="Validation"/>.</summary>
    public EarlyStopping? EarlyStopping { get; init; }
    /// <summary>Sets the learning rate before each epoch (epoch counted from 0), for schedules.</summary>
    public Func<int, float>? LearningRateForEpoch { get; init; }
    /// <summary>A learning-rate schedule, per epoch or per step (not together with <see cref="LearningRateForEpoch"/>).</summary>
    public LearningRateSchedule? Schedule { get; init; }
    /// <summary>Layer name → learning-rate multiplier (e.g. 0.1 to fine-tune); see <see cref="LayerScaledOptimizer"/>.</summary>
    public IReadOnlyDictionary<string, float>? LayerLearningRates { get => _layerLearningRates; init => _layerLearningRates = value; }
    /// <summary>Layers whose parameters do not change (multiplier 0: neither gradient nor weight decay moves them).</summary>
    public IReadOnlyCollection<string>? FrozenLayers { get => _frozenLayers; init => _frozenLayers = value; }
    /// <summary>Applied to every training batch in place, seeded by (<see cref="Seed"/>, epoch, sample index).</summary>
    public Augmentation? Augmentation { get; init; }
    /// <summary>Called after each step's backward pass, before the optimizer step (e.g. <c>ActivationStatistics.Observe</c>).</summary>
    public Action<StepInfo>? OnStep { get; init; }
    /// <summary>Receives progress within each epoch (step, running loss and accuracy, samples/s, ETA), at most once per
    /// <see cref="ProgressInterval"/> and always at the end of an epoch; called on the training thread.</summary>
    public IProgress<TrainingProgress>? Progress { get; init; }
    /// <summary>The shortest time between two <see cref="Progress"/> reports (zero: every step).</summary>
    public TimeSpan ProgressInterval { get; init; } = TimeSpan.FromMilliseconds(100);
    /// <summary>L1 penalty l1·Σ|W| on every layer's weights (not biases), added to the loss and its gradient.</summary>
    public float L1 { get; init; }
    /// <summary>L2 penalty ½·l2·ΣW² on every layer's weights (not biases); l2 equals an optimizer's weight decay.</summary>
    public float L2 { get; init; }
    /// <summary>Per-layer (l1, l2) that replace <see cref="L1"/>/<see cref="L2"/> for the named layers.</summary>
    public IReadOnlyDictionary<string, (float L1, float L2)>? LayerRegularization { get => _layerRegularization; init => _layerRegularization = value; }

    /// <summary>Writes checkpoints (see <see cref="CheckpointOptions"/>); null: none.</summary>
    public CheckpointOptions? Checkpoints { get; init; }
    /// <summary>A checkpoint file, or a folder whose newest checkpoint is used (a folder without any: start from scratch).
    /// The run continues exactly where it stopped; refused, with the reasons, when the network's tensors, the optimizer's kind
    /// or settings, the batch size, the seed or the shuffling differ.</summary>
    public string? ResumeFrom { get; init; }
    /// <summary>What a step that produces NaN/∞ does (default: throw <see cref="NonFiniteException"/>; the step is refused either way).</summary>
    public NonFinitePolicy NonFinite { get; init; } = NonFinitePolicy.Throw;
    /// <summary>With <see cref="NonFinitePolicy.RollBack"/>: the factor the learning rate is multiplied by at each rollback.</summary>
    public float RollbackLearningRateFactor { get; init; } = 0.5f;
    /// <summary>With <see cref="NonFinitePolicy.RollBack"/>: rollbacks allowed in one run before it throws.</summary>
    public int MaxRollbacks { get; init; } = 3;

    int _seed = 1;
    IReadOnlyDictionary<string, float>? _layerLearningRates;
    IReadOnlyCollection<string>? _frozenLayers;
    IReadOnlyDictionary<string, (float L1, float L2)>? _layerRegularization;

    /// <summary>A copy of every option (a memberwise copy, so options added later are carried too) with the seed and the
    /// per-layer settings replaced: what a multi-stage tool (layer-wise pre-training) hands to each stage's fit.</summary>
    internal TrainingOptions ForStage(int seed, IReadOnlyCollection<string>? frozenLayers, IReadOnlyDictionary<string, float>? layerLearningRates,
        IReadOnlyDictionary<string, (float L1, float L2)>? layerRegularization)
    {
        var copy = (TrainingOptions)MemberwiseClone();
        copy._seed = seed;
        copy._frozenLayers = frozenLayers;
        copy._layerLearningRates = layerLearningRates;
        copy._layerRegularization = layerRegularization;
        return copy;
    }
}

/// <summary>One training step, as seen by <see cref="TrainingOptions.OnStep"/>: the network's LayerOutput/LayerGradient hold the
/// step's last chunk, its Gradients the whole step's.</summary>
public readonly record struct StepInfo(INetwork Network, int Epoch, int Batch, long Step, int BatchSize, float Loss, float LearningRate);

/// <summary>Mini-batch training: shuffled batches, forward, loss, backward, optimizer step; evaluation per epoch.</summary>
public static partial class Trainer
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
        if (options.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize must be at least 1 (TrainingOptions.FullBatch for the whole set)");
        if (options.Schedule is not null && options.LearningRateForEpoch is not null)
            throw new ArgumentException("set either Schedule or LearningRateForEpoch, not both", nameof(options));
        if (train.Count == 0) throw new ArgumentException("train has no samples", nameof(train));
        if (options.Validation is { } validationSet) CheckData(network, validationSet, "options.Validation");
        if (options.EarlyStopping is { } stopping)
        {
            if (options.Validation is null) throw new ArgumentException("EarlyStopping needs a Validation set in the options", nameof(options));
            if (stopping.Patience < 1) throw new ArgumentOutOfRangeException(nameof(options), stopping.Patience, "EarlyStopping.Patience must be at least 1");
            if (!(stopping.MinDelta >= 0) || double.IsInfinity(stopping.MinDelta)) throw new ArgumentOutOfRangeException(nameof(options), stopping.MinDelta, "EarlyStopping.MinDelta must be finite and >= 0");
        }
        TrainingResume.CheckOptions(network, optimizer, options);

        var scaled = LayerScaling(network, optimizer, options);
        Optimizer step = scaled ?? optimizer;

        var penalties = Penalties(network, options);
        int batchSize = Math.Min(options.BatchSize, train.Count);
        int chunk = Math.Min(batchSize, network.MaxBatch);
        var guard = options.NonFinite == NonFinitePolicy.Off ? null : new StepGuard(network, options.NonFinite);
        var position = new TrainingPosition(0, 0, 0, options.Seed, batchSize, options.Shuffle, 0, 0, 1f);
        if (options.ResumeFrom is { } resumeFrom) position = TrainingResume.Restore(resumeFrom, network, optimizer, position) ?? position;
        var sampler = new BatchSampler(train.Count, batchSize, options.Seed, options.Shuffle);
        var augmenter = options.Augmentation is null ? null : new Augmenter(options.Augmentation, train.Channels, train.Height, train.Width, options.Seed);
        var x = new float[chunk * network.InputSize];
        var y = new int[chunk];
        var outputGrad = new float[chunk * network.OutputSize];
        var reports = new List<EpochReport>();
        var checkpoints = options.Checkpoints;
        TrainingSnapshot? rollbackTo = options.NonFinite == NonFinitePolicy.RollBack ? new TrainingSnapshot(network, optimizer, position) : null;
        int rollbacks = 0;
        var progress = options.Progress is null ? null : new ProgressMeter(options.Progress, options.ProgressInterval, options.Epochs, sampler.BatchCount, train.Count);

        int epoch = position.Epoch, firstBatch = position.Batch;
        long stepIndex = position.Step;
        float lrScale = position.LearningRateScale;
        double lossSum = position.EpochLossSum;
        long correct = position.EpochCorrect;
        var clock = Stopwatch.StartNew();
        var early = options.EarlyStopping;
        float[]? bestParameters = null, bestBuffers = null;
        double bestValue = double.NaN;
        int sinceBest = 0;
        while (epoch < options.Epochs)
        {
            if (sampler.Epoch > epoch) sampler = new BatchSampler(train.Count, batchSize, options.Seed, options.Shuffle); // rolled back
            while (sampler.Epoch < epoch) sampler.NewEpoch();
            if (options.LearningRateForEpoch is { } perEpoch) optimizer.LearningRate = perEpoch(epoch) * lrScale;
            if (firstBatch == 0) { lossSum = 0; correct = 0; clock.Restart(); }
            if (options.NonFinite == NonFinitePolicy.RollBack && checkpoints is null && firstBatch == 0)
                rollbackTo = new TrainingSnapshot(network, optimizer, Position(epoch, 0, 0, 0));
            bool rolledBack = false;
            int seen = firstBatch * batchSize;
            progress?.StartEpoch(epoch);
            for (int b = firstBatch; b < sampler.BatchCount; b++)
            {
                if (options.Schedule is { } schedule) optimizer.LearningRate = schedule.RateFor(epoch, stepIndex) * lrScale;
                if (options.MomentumSchedule is { } momentumSchedule) SetMomentum(optimizer, momentumSchedule.RateFor(epoch, stepIndex));
                step.LearningRate = optimizer.LearningRate;
                var order = sampler.Order.Slice(b * batchSize, sampler.SizeOf(b));
                double batchWeight = ChunkWeight(loss, train.Labels, order);
                double batchLoss = 0, batchLossSum = 0;
                long batchCorrect = 0;
                NonFiniteException? failure = null;
                bool updated = false;
                guard?.BeginStep();
                network.ZeroGradients();
                for (int start = 0; start < order.Length; start += chunk)
                {
                    var indices = order.Slice(start, Math.Min(chunk, order.Length - start));
                    int n = indices.Length;
                    var xs = x.AsSpan(0, n * network.InputSize);
                    var ys = y.AsSpan(0, n);
                    train.CopyBatch(indices, xs, ys);
                    augmenter?.ApplyBatch(xs, indices, epoch);
                    var output = network.Forward(xs, n, training: true);
                    var grad = outputGrad.AsSpan(0, n * network.OutputSize);
                    float l = loss.Compute(output, ys, n, network.OutputSize, grad);
                    batchLossSum += (double)l * n;
                    batchCorrect += Metrics.CountCorrect(output, ys, n, network.OutputSize);
                    if (n != order.Length)
                    {
                        // The loss is a mean over the chunk; the step wants the mean over the batch.
                        float w = batchWeight == 0 ? 0f : (float)(ChunkWeight(loss, train.Labels, indices) / batchWeight);
                        for (int i = 0; i < grad.Length; i++) grad[i] *= w;
                        batchLoss += l * w;
                    }
                    else batchLoss = l;
                    network.Backward(grad, n);
                    if (guard is not null && !(float.IsFinite(l) && guard.GradientsFinite() && guard.BuffersFinite()))
                    {
                        failure = guard.Failure(epoch, stepIndex, b, sampler.BatchCount, l, xs, n, indices, null);
                        break;
                    }
                }
                if (failure is null)
                {
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
                    guard?.BeforeUpdate();
                    network.Update(step);
                    updated = true;
                    if (guard is not null && !guard.ParametersFinite())
                        failure = guard.Failure(epoch, stepIndex, b, sampler.BatchCount, (float)batchLoss, default, 0, default, guard.UpdateFailure(step.LearningRate));
                }
                if (failure is not null)
                {
                    guard!.Refuse(updated);
                    if (guard.Policy == NonFinitePolicy.Throw) throw failure;
                    if (guard.Policy == NonFinitePolicy.SkipBatch) { stepIndex++; continue; }
                    // Roll back: to the last checkpoint, with a lower learning rate.
                    if (rollbackTo is null || ++rollbacks > options.MaxRollbacks)
                        throw new NonFiniteException(failure.Message + $" Rolled back {rollbacks - 1} times already (MaxRollbacks = {options.MaxRollbacks}); giving up.",
                            failure.Epoch, failure.Step, failure.OutputLayer, failure.GradientLayer, failure.InputSample, failure.DataIndex);
                    rollbackTo.Restore(network, optimizer);
                    var at = rollbackTo.Position;
                    lrScale = at.LearningRateScale * options.RollbackLearningRateFactor;
                    optimizer.LearningRate = rollbackTo.LearningRate * options.RollbackLearningRateFactor;
                    rollbackTo = new TrainingSnapshot(network, optimizer, at with { LearningRateScale = lrScale });
                    (epoch, firstBatch, stepIndex, lossSum, correct) = (at.Epoch, at.Batch, at.Step, at.EpochLossSum, at.EpochCorrect);
                    rolledBack = true;
                    break;
                }
                lossSum += batchLossSum;
                correct += batchCorrect;
                stepIndex++;
                if (checkpoints is { EverySteps: > 0 } && stepIndex % checkpoints.EverySteps == 0)
                    SaveCheckpoint(Position(epoch, b + 1, lossSum, correct));
                seen += order.Length;
                progress?.AfterStep(b + 1, seen, lossSum, correct);
            }
            if (rolledBack) continue;
            double seconds = clock.Elapsed.TotalSeconds;
            var (testLoss, testAccuracy) = test is null ? (double.NaN, double.NaN) : Evaluate(network, test, loss);
            var (validationLoss, validationAccuracy) = options.Validation is null ? (double.NaN, double.NaN) : Evaluate(network, options.Validation, loss);
            var report = new EpochReport(epoch + 1, lossSum / train.Count, (double)correct / train.Count, testLoss, testAccuracy,
                seconds, train.Count / seconds, optimizer.LearningRate) { ValidationLoss = validationLoss, ValidationAccuracy = validationAccuracy };
            reports.Add(report);
            options.OnEpoch?.Invoke(report);
            epoch++;
            firstBatch = 0;
            if (checkpoints is { EveryEpoch: true }) SaveCheckpoint(Position(epoch, 0, 0, 0));
            if (early is not null)
            {
                double value = early.Monitor == EarlyStoppingMetric.ValidationLoss ? validationLoss : validationAccuracy;
                bool better = double.IsNaN(bestValue)
                    || (early.Monitor == EarlyStoppingMetric.ValidationLoss ? value < bestValue - early.MinDelta : value > bestValue + early.MinDelta);
                if (better && !double.IsNaN(value))
                {
                    bestValue = value;
                    sinceBest = 0;
                    if (early.RestoreBestWeights)
                    {
                        bestParameters = network.Parameters.ToArray();
                        bestBuffers = network.Buffers.ToArray();
                    }
                }
                else if (++sinceBest >= early.Patience) break;
            }
        }
        if (bestParameters is not null)
        {
            bestParameters.CopyTo(network.Parameters);
            bestBuffers!.CopyTo(network.Buffers);
        }
        return reports;

        TrainingPosition Position(int e, int batch, double sum, long right) =>
            new(e, batch, stepIndex, options.Seed, batchSize, options.Shuffle, sum, right, lrScale);

        void SaveCheckpoint(TrainingPosition at)
        {
            CheckpointFolder.Save(checkpoints.Directory, checkpoints.Keep, network, optimizer, at);
            if (options.NonFinite == NonFinitePolicy.RollBack) rollbackTo = new TrainingSnapshot(network, optimizer, at);
        }
    }

    /// <summary>What a chunk weighs in its batch's mean loss: its sample count, or for class-weighted (normalized) cross-entropy
    /// and NLL the sum of its samples' class weights; for the summed SumSquaredError every chunk weighs the same.</summary>
    static double ChunkWeight(Loss loss, int[] labels, ReadOnlySpan<int> indices)
    {
        ReadOnlySpan<float> weights = loss switch
        {
            SoftmaxCrossEntropy ce => ce.ClassWeights,
            NegativeLogLikelihood nll => nll.ClassWeights,
            _ => default,
        };
        if (loss is SumSquaredError) return 1;
        if (weights.IsEmpty) return indices.Length;
        double sum = 0;
        foreach (int i in indices) sum += weights[labels[i]];
        return sum;
    }

    /// <summary>The per-layer learning-rate multipliers and frozen layers of <paramref name="options"/> and the network's
    /// declared frozen layers, as a <see cref="LayerScaledOptimizer"/> around <paramref name="optimizer"/>; null when there
    /// are none (every Fit steps through it, the distributed one too).</summary>
    public static LayerScaledOptimizer? LayerScaling(INetwork network, Optimizer optimizer, TrainingOptions options)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        bool declaredFrozen = false;
        foreach (var layer in network.Layers) declaredFrozen |= layer.Frozen && layer.ParameterCount > 0;
        if (!(options.LayerLearningRates is { Count: > 0 } || options.FrozenLayers is { Count: > 0 } || declaredFrozen && optimizer is not LayerScaledOptimizer))
            return null;
        var scales = options.LayerLearningRates is null ? new Dictionary<string, float>(StringComparer.Ordinal) : new Dictionary<string, float>(options.LayerLearningRates, StringComparer.Ordinal);
        foreach (var name in options.FrozenLayers ?? [])
        {
            if (scales.TryGetValue(name, out float m) && m != 0)
                throw new ArgumentException($"layer '{name}' is both frozen and given learning-rate multiplier {m}", nameof(options));
            scales[name] = 0f;
        }
        return new LayerScaledOptimizer(network, optimizer, scales);
    }

    /// <summary>The weight tensors that get an L1/L2 penalty, with their coefficients.</summary>
    public static (int Offset, int Length, float L1, float L2)[] Penalties(INetwork network, TrainingOptions options)
    {
        var layers = network.Layers;
        var byName = options.LayerRegularization;
        if (byName is not null)
            foreach (var name in byName.Keys)
            {
                bool found = false;
                foreach (var l in layers) found |= l.Name == name && l.ParameterCount > 0;
                if (!found) throw new ArgumentException($"LayerRegularization names '{name}', which is not a layer with parameters", nameof(options));
            }
        var result = new List<(int, int, float, float)>();
        foreach (var t in network.ParameterTensors)
        {
            if (!t.Name.EndsWith(".weight", StringComparison.Ordinal)) continue;
            string layer = t.Name.Substring(0, t.Name.Length - ".weight".Length);
            var (l1, l2) = byName is not null && byName.TryGetValue(layer, out var c) ? c : (options.L1, options.L2);
            if (!(l1 >= 0) || !(l2 >= 0) || float.IsInfinity(l1) || float.IsInfinity(l2))
                throw new ArgumentOutOfRangeException(nameof(options), $"regularization of '{layer}' must be finite and >= 0, got l1 {l1}, l2 {l2}");
            if (l1 > 0 || l2 > 0) result.Add((t.Offset, t.Length, l1, l2));
        }
        return result.ToArray();
    }

    /// <summary>Mean loss and accuracy in inference mode, in batches of the network's MaxBatch.</summary>
    public static (double Loss, double Accuracy) Evaluate(INetwork network, LabeledImages data, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        return Evaluate(data, loss, network.InputSize, network.OutputSize, network.MaxBatch, (x, n) => network.Forward(x, n));
    }

    /// <summary>Mean loss and accuracy of <paramref name="forward"/> (inputs of <paramref name="batch"/> samples or fewer →
    /// their outputs) over <paramref name="data"/>, in batches of <paramref name="batch"/>: what <see cref="Evaluate(INetwork,
    /// LabeledImages, Loss)"/> does for a network, for any other forward pass (a GPU twin's, say).</summary>
    public static (double Loss, double Accuracy) Evaluate(LabeledImages data, Loss loss, int inputSize, int outputSize, int batch,
        Func<ReadOnlySpan<float>, int, ReadOnlySpan<float>> forward)
    {
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(forward);
        if (batch < 1) throw new ArgumentOutOfRangeException(nameof(batch), batch, "batch must be at least 1");
        CheckData(inputSize, outputSize, data, nameof(data));
        var grad = new float[batch * outputSize];
        double lossSum = 0;
        long correct = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            var output = forward(data.Pixels.AsSpan(start * inputSize, n * inputSize), n);
            var labels = data.Labels.AsSpan(start, n);
            lossSum += (double)loss.Compute(output, labels, n, outputSize, grad.AsSpan(0, n * outputSize)) * n;
            correct += Metrics.CountCorrect(output, labels, n, outputSize);
        }
        return (lossSum / data.Count, (double)correct / data.Count);
    }

    private static void CheckData(INetwork network, LabeledImages data, string name) => CheckData(network.InputSize, network.OutputSize, data, name);

    private static void CheckData(int inputSize, int outputSize, LabeledImages data, string name)
    {
        if (data.SampleSize != inputSize)
            throw new ArgumentException($"{name}: samples are {data.Channels}×{data.Height}×{data.Width} = {data.SampleSize} floats, the network takes {inputSize}", name);
        if (data.ClassCount > outputSize)
            throw new ArgumentException($"{name}: {data.ClassCount} classes, but the network has only {outputSize} outputs", name);
    }
}
