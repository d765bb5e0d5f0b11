using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Runtime.InteropServices;
using NetDsl.Data;
using NetDsl.IO;
using NetDsl.Training;

namespace NetDsl.Distributed;

/// <summary>What happens to non-trained state (batch-norm running mean and variance) that each rank updates from its own shard.</summary>
public enum BufferSynchronization
{
    /// <summary>At the end of every epoch, every rank takes the mean over ranks (allreduce).</summary>
    Average,
    /// <summary>At the end of every epoch, every rank takes rank 0's buffers (what PyTorch DDP does before every forward).</summary>
    BroadcastFromRankZero,
}

/// <summary>Settings of <see cref="DistributedTrainer.Fit"/> beyond <see cref="TrainingOptions"/>.</summary>
public sealed class DistributedOptions
{
    /// <summary>How batch-norm running statistics are made equal across ranks at the end of each epoch (before evaluation and
    /// checkpoints). The batch statistics used in training are always each rank's own shard's.</summary>
    public BufferSynchronization Buffers { get; init; } = BufferSynchronization.Average;

    /// <summary>Called on every rank after every epoch with the global figures and this rank's timings.</summary>
    public Action<DistributedEpochReport>? OnEpoch { get; init; }

    /// <summary>When set, rank 0 writes the weights (and buffers) here as safetensors after every epoch (temp file + rename).</summary>
    public string? WeightsPath { get; init; }

    /// <summary>Checkpoint hook, called on rank 0 only after every epoch, once the ranks' buffers agree: where a checkpoint
    /// writer (weights, optimizer state, epoch) plugs in. To resume, every rank loads the same checkpoint (rank 0's weights are
    /// broadcast anyway; optimizer state is not) and passes its epoch as <see cref="StartEpoch"/>.</summary>
    public Action<INetwork, EpochReport>? SaveCheckpoint { get; init; }

    /// <summary>When set, rank 0 writes a full checkpoint (<see cref="Checkpoint"/>: parameters, buffers, the optimizer's state,
    /// the dropout generator, the position) into this folder at the end of every epoch, keeping the newest
    /// <see cref="CheckpointKeep"/>; the other ranks write nothing. Resume every rank from one of them with <see cref="ResumeFrom"/>.</summary>
    public string? CheckpointDirectory { get; init; }

    /// <summary>How many checkpoints rank 0 keeps in <see cref="CheckpointDirectory"/> (default 3).</summary>
    public int CheckpointKeep { get; init; } = 3;

    /// <summary>A checkpoint written at an epoch's end (by <see cref="CheckpointDirectory"/> or <c>Trainer.Fit</c>): every rank
    /// loads the same file (so the optimizer's state is the same everywhere too) and training goes on at its epoch. Refused,
    /// with the reason, when the network's tensors or the optimizer differ, or when it was written mid-epoch.</summary>
    public string? ResumeFrom { get; init; }

    /// <summary>The first epoch to run (0-based), for resuming: the shuffles and the schedule continue from there.</summary>
    public int StartEpoch { get; init; }

    /// <summary>After every epoch, compare a hash of every rank's parameters and buffers with rank 0's and throw when they differ
    /// (they cannot if every rank ran the same code on the same reduced gradients).</summary>
    public bool CheckReplicasAgree { get; init; } = true;

    /// <summary>Enter a barrier before each gradient allreduce, so that <see cref="DistributedEpochReport.WaitSeconds"/> (waiting for
    /// the slowest rank) and <see cref="DistributedEpochReport.AllreduceSeconds"/> (the transfer itself) are told apart. Costs one
    /// barrier's latency per step; off by default.</summary>
    public bool TimeWaitSeparately { get; init; }
}

/// <summary>One epoch of distributed training as seen by one rank.</summary>
/// <param name="Global">Loss and accuracy over all ranks' samples; time and samples/s of this rank (all ranks step together).</param>
/// <param name="Rank">This rank.</param>
/// <param name="Size">Number of ranks.</param>
/// <param name="LocalSamples">Training samples this rank processed in the epoch.</param>
/// <param name="Steps">Optimizer steps in the epoch.</param>
/// <param name="AllreduceSeconds">Time this rank spent in the gradients' allreduce; waiting for slower ranks included unless
/// <see cref="DistributedOptions.TimeWaitSeparately"/>.</param>
/// <param name="ComputeSeconds">Time this rank spent in forward, loss and backward.</param>
/// <param name="WaitSeconds">With <see cref="DistributedOptions.TimeWaitSeparately"/>: time in the barrier before each allreduce,
/// i.e. waiting for the slowest rank to finish its backward pass; else 0.</param>
public sealed record DistributedEpochReport(EpochReport Global, int Rank, int Size, int LocalSamples, int Steps, double AllreduceSeconds, double ComputeSeconds,
    double WaitSeconds)
{
    /// <summary>Mean allreduce time per step, in milliseconds.</summary>
    public double AllreduceMillisecondsPerStep => Steps == 0 ? 0 : AllreduceSeconds * 1000 / Steps;
}

/// <summary>
/// Synchronous data-parallel training: every rank holds a replica of the network; each step's global batch (the shuffled
/// order's next <see cref="TrainingOptions.BatchSize"/> samples, the same on every rank) is split into one contiguous shard per
/// rank, each rank back-propagates its shard with the output gradient weighted by shard/global batch, one allreduce sums the
/// flat gradient buffer, and every rank takes the same optimizer step. The update is the single-process update of the same
/// global batch (up to the order of the sum; bit-identical with two ranks of one worker against one process of two workers).
/// </summary>
public static class DistributedTrainer
{
    /// <summary>
    /// Trains <paramref name="network"/> on every rank of <paramref name="communicator"/>; every rank must call it with the same
    /// data, options and network type. Rank 0's parameters and buffers are broadcast first. <see cref="TrainingOptions.BatchSize"/>
    /// is the global batch (per rank: its share, at most ⌈BatchSize/Size⌉, processed in chunks of MaxBatch). Losses, accuracies and
    /// test figures are reduced over ranks (the test set is sharded too). <see cref="TrainingOptions.OnEpoch"/> is called on rank 0
    /// only (logs), <see cref="TrainingOptions.OnStep"/> on every rank with the global batch loss.
    /// </summary>
    public static IReadOnlyList<EpochReport> Fit(ICommunicator communicator, INetwork network, LabeledImages train, LabeledImages? test,
        Loss loss, Optimizer optimizer, TrainingOptions options, DistributedOptions? distributed = null)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        ArgumentNullException.ThrowIfNull(options);
        distributed ??= new DistributedOptions();
        CheckData(network, train, nameof(train));
        if (test is not null) CheckData(network, test, nameof(test));
        if (options.Epochs < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Epochs, "Epochs must be at least 0");
        if (options.BatchSize < 1)
            throw new ArgumentOutOfRangeException(nameof(options), options.BatchSize, "BatchSize (the global batch) must be at least 1");
        if (options.Schedule is not null && options.LearningRateForEpoch is not null)
            throw new ArgumentException("set either Schedule or LearningRateForEpoch, not both", nameof(options));
        if (train.Count == 0) throw new ArgumentException("train has no samples", nameof(train));
        if (distributed.StartEpoch < 0 || distributed.StartEpoch > options.Epochs)
            throw new ArgumentOutOfRangeException(nameof(distributed), distributed.StartEpoch, $"StartEpoch must be between 0 and Epochs = {options.Epochs}");
        if (distributed.CheckpointKeep < 1)
            throw new ArgumentOutOfRangeException(nameof(distributed), distributed.CheckpointKeep, "CheckpointKeep must be at least 1");
        int startEpoch = distributed.StartEpoch;
        long startStep = -1;
        if (distributed.ResumeFrom is { } resumeFrom)
        {
            // Every rank reads the same file: parameters, buffers, optimizer state and dropout state agree without a broadcast.
            var checkpoint = Checkpoint.Load(resumeFrom);
            if (checkpoint.Position.Batch != 0)
                throw new InvalidOperationException($"{resumeFrom}: written after batch {checkpoint.Position.Batch} of epoch {checkpoint.Position.Epoch + 1}; distributed training resumes at an epoch's end (CheckpointDirectory writes those)");
            if (distributed.StartEpoch != 0 && distributed.StartEpoch != checkpoint.Position.Epoch)
                throw new ArgumentException($"StartEpoch {distributed.StartEpoch} differs from the checkpoint's epoch {checkpoint.Position.Epoch}; leave StartEpoch at 0 with ResumeFrom", nameof(distributed));
            if (checkpoint.Position.Epoch > options.Epochs)
                throw new ArgumentException($"{resumeFrom}: the checkpoint is at epoch {checkpoint.Position.Epoch}, past Epochs = {options.Epochs}", nameof(options));
            checkpoint.Restore(network, optimizer);
            startEpoch = checkpoint.Position.Epoch;
            startStep = checkpoint.Position.Step;
        }

        int rank = communicator.Rank, size = communicator.Size;
        CheckSameSetup(communicator, network, train, test, options, startEpoch);

        // Rank 0's state is the truth: the same initialization everywhere, or rank 0's loaded checkpoint.
        communicator.Broadcast(network.Parameters);
        if (!network.Buffers.IsEmpty) communicator.Broadcast(network.Buffers);

        var scaled = Trainer.LayerScaling(network, optimizer, options);
        Optimizer step = scaled ?? optimizer;

        var penalties = Trainer.Penalties(network, options);
        int batchSize = Math.Min(options.BatchSize, train.Count);
        int chunk = Math.Min((batchSize + size - 1) / size, network.MaxBatch);
        var sampler = new BatchSampler(train.Count, batchSize, options.Seed, options.Shuffle);
        for (int e = 0; e < startEpoch; e++) sampler.NewEpoch();
        var augmenter = options.Augmentation is null ? null : new Augmenter(options.Augmentation, train.Channels, train.Height, train.Width, options.Seed);
        var x = new float[chunk * network.InputSize];
        var y = new int[chunk];
        var outputGrad = new float[chunk * network.OutputSize];
        var stepLoss = new double[1];
        var epochSums = new double[2];
        var reports = new List<EpochReport>();
        long stepIndex = startStep >= 0 ? startStep : (long)startEpoch * sampler.BatchCount;

        for (int epoch = startEpoch; epoch < options.Epochs; epoch++)
        {
            if (options.LearningRateForEpoch is { } perEpoch) optimizer.LearningRate = perEpoch(epoch);
            if (epoch > startEpoch) sampler.NewEpoch();
            var clock = Stopwatch.StartNew();
            long allreduceTicks = 0, computeTicks = 0, waitTicks = 0;
            double lossSum = 0;
            long correct = 0;
            int localSamples = 0;
            for (int b = 0; b < sampler.BatchCount; b++)
            {
                if (options.Schedule is { } schedule) optimizer.LearningRate = schedule.RateFor(epoch, stepIndex);
                step.LearningRate = optimizer.LearningRate;
                var global = sampler.Order.Slice(b * batchSize, sampler.SizeOf(b));
                var (shardStart, shardCount) = Shard(global.Length, rank, size);
                var order = global.Slice(shardStart, shardCount);
                // Every rank sees the whole global batch, so each knows the mean's divisor without communicating.
                double batchWeight = ChunkWeight(loss, train.Labels, global);
                double localLoss = 0;
                long t0 = Stopwatch.GetTimestamp();
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
                    correct += Metrics.CountCorrect(output, ys, n, network.OutputSize);
                    // The loss is a mean over the chunk; the step wants the mean over the global batch. With two equal shards
                    // w is 1/2, an exact power of two, so the scaled gradient has the single-process bits.
                    float w = batchWeight == 0 ? 0f : (float)(ChunkWeight(loss, train.Labels, indices) / batchWeight);
                    if (w != 1f)
                        for (int i = 0; i < grad.Length; i++) grad[i] *= w;
                    localLoss += l * w;
                    network.Backward(grad, n);
                }
                localSamples += order.Length;
                // Σ over ranks of localLoss is the global batch's mean loss (class weights included), as one process computes it.
                lossSum += localLoss * global.Length;
                long t1 = Stopwatch.GetTimestamp();
                if (distributed.TimeWaitSeparately) communicator.Barrier();
                long t2 = Stopwatch.GetTimestamp();
                // The whole fusion: every gradient sits in one flat buffer, so one allreduce per step.
                communicator.AllreduceSum(network.Gradients);
                long t3 = Stopwatch.GetTimestamp();
                computeTicks += t1 - t0;
                waitTicks += t2 - t1;
                allreduceTicks += t3 - t2;
                // Penalties act on the replicated weights, so they are added once, after the sum, identically on every rank.
                double penalty = 0;
                foreach (var (offset, length, l1, l2) in penalties)
                    penalty += Regularization.Apply(network.Parameters.Slice(offset, length), network.Gradients.Slice(offset, length), l1, l2);
                if (rank == 0) lossSum += penalty * global.Length;
                scaled?.ZeroFrozenGradients(network.Gradients);
                if (options.OnStep is { } onStep)
                {
                    stepLoss[0] = localLoss;
                    communicator.AllreduceSum(stepLoss);
                    onStep(new StepInfo(network, epoch, b, stepIndex, global.Length, (float)(stepLoss[0] + penalty), step.LearningRate));
                }
                network.Update(step);
                stepIndex++;
            }
            double seconds = clock.Elapsed.TotalSeconds;
            epochSums[0] = lossSum;
            epochSums[1] = correct;
            communicator.AllreduceSum(epochSums);
            SynchronizeBuffers(communicator, network, distributed.Buffers);
            if (distributed.CheckReplicasAgree) CheckReplicasAgree(communicator, network, epoch);
            var (testLoss, testAccuracy) = test is null ? (double.NaN, double.NaN) : Evaluate(communicator, network, test, loss);
            var report = new EpochReport(epoch + 1, epochSums[0] / train.Count, epochSums[1] / train.Count, testLoss, testAccuracy,
                seconds, train.Count / seconds, optimizer.LearningRate);
            reports.Add(report);
            if (rank == 0)
            {
                if (distributed.WeightsPath is { } path) SafeTensors.Save(path, network);
                distributed.SaveCheckpoint?.Invoke(network, report);
                if (distributed.CheckpointDirectory is { } folder)
                    CheckpointFolder.Save(folder, distributed.CheckpointKeep, network, optimizer,
                        new TrainingPosition(epoch + 1, 0, stepIndex, options.Seed, batchSize, options.Shuffle, 0, 0, 1f));
                options.OnEpoch?.Invoke(report);
            }
            distributed.OnEpoch?.Invoke(new DistributedEpochReport(report, rank, size, localSamples, sampler.BatchCount,
                allreduceTicks / (double)Stopwatch.Frequency, computeTicks / (double)Stopwatch.Frequency, waitTicks / (double)Stopwatch.Frequency));
        }
        return reports;
    }

    /// <summary>The contiguous part of <paramref name="count"/> items that <paramref name="rank"/> of <paramref name="size"/> takes:
    /// [⌊count·rank/size⌋, ⌊count·(rank+1)/size⌋). The parts cover every item once; their sizes differ by at most one.</summary>
    public static (int Start, int Count) Shard(int count, int rank, int size)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(size);
        if ((uint)rank >= (uint)size) throw new ArgumentOutOfRangeException(nameof(rank), rank, $"rank must be 0 to {size - 1}");
        int start = (int)((long)count * rank / size);
        int end = (int)((long)count * (rank + 1) / size);
        return (start, end - start);
    }

    /// <summary>Mean loss and accuracy in inference mode over <paramref name="data"/>, each rank evaluating its shard, summed over ranks.</summary>
    public static (double Loss, double Accuracy) Evaluate(ICommunicator communicator, INetwork network, LabeledImages data, Loss loss)
    {
        ArgumentNullException.ThrowIfNull(communicator);
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        CheckData(network, data, nameof(data));
        var (first, count) = Shard(data.Count, communicator.Rank, communicator.Size);
        int batch = network.MaxBatch;
        var grad = new float[batch * network.OutputSize];
        var sums = new double[2];
        for (int start = first; start < first + count; start += batch)
        {
            int n = Math.Min(batch, first + count - start);
            var output = network.Forward(data.Pixels.AsSpan(start * network.InputSize, n * network.InputSize), n);
            var labels = data.Labels.AsSpan(start, n);
            sums[0] += (double)loss.Compute(output, labels, n, network.OutputSize, grad.AsSpan(0, n * network.OutputSize)) * n;
            sums[1] += Metrics.CountCorrect(output, labels, n, network.OutputSize);
        }
        communicator.AllreduceSum(sums);
        return (sums[0] / data.Count, sums[1] / data.Count);
    }

    static void SynchronizeBuffers(ICommunicator communicator, INetwork network, BufferSynchronization mode)
    {
        var buffers = network.Buffers;
        if (buffers.IsEmpty || communicator.Size == 1) return;
        if (mode == BufferSynchronization.BroadcastFromRankZero) { communicator.Broadcast(buffers); return; }
        communicator.AllreduceSum(buffers);
        float inverse = 1f / communicator.Size;
        for (int i = 0; i < buffers.Length; i++) buffers[i] *= inverse;
    }

    /// <summary>Throws on every rank when some rank's parameters or buffers differ from rank 0's.</summary>
    static void CheckReplicasAgree(ICommunicator communicator, INetwork network, int epoch)
    {
        if (communicator.Size == 1) return;
        Span<long> hash = [Hash(network.Parameters, Hash(network.Buffers, unchecked((long)0xCBF29CE484222325UL)))];
        long mine = hash[0];
        communicator.Broadcast(MemoryMarshal.AsBytes(hash));
        Span<long> differing = [mine == hash[0] ? 0 : 1];
        communicator.AllreduceSum(differing);
        if (differing[0] != 0)
            throw new InvalidOperationException($"after epoch {epoch + 1}, {differing[0]} of {communicator.Size} ranks hold parameters or buffers that differ from rank 0's "
                + "(the ranks ran different code, options or data, or the MPI library does not give every rank the same sum)");
    }

    /// <summary>FNV-1a over the values' bits.</summary>
    static long Hash(ReadOnlySpan<float> values, long seed)
    {
        ulong h = unchecked((ulong)seed);
        foreach (uint bits in MemoryMarshal.Cast<float, uint>(values)) h = (h ^ bits) * 0x100000001B3UL;
        return unchecked((long)h);
    }

    /// <summary>Fails on every rank, with the differing settings, when the ranks were not started with the same setup; without this
    /// a mismatch would deadlock or silently train different models.</summary>
    static void CheckSameSetup(ICommunicator communicator, INetwork network, LabeledImages train, LabeledImages? test, TrainingOptions options, int startEpoch)
    {
        if (communicator.Size == 1) return;
        string[] names = ["ParameterCount", "BufferCount", "InputSize", "OutputSize", "train.Count", "test.Count", "BatchSize", "Epochs", "Seed", "Shuffle", "StartEpoch"];
        Span<long> mine = [network.ParameterCount, network.Buffers.Length, network.InputSize, network.OutputSize, train.Count, test?.Count ?? -1,
            options.BatchSize, options.Epochs, options.Seed, options.Shuffle ? 1 : 0, startEpoch];
        Span<long> root = stackalloc long[mine.Length];
        mine.CopyTo(root);
        communicator.Broadcast(MemoryMarshal.AsBytes(root));
        // Per setting, how many ranks differ from rank 0: every rank learns it, so every rank fails with the same message.
        Span<long> differing = stackalloc long[mine.Length];
        for (int i = 0; i < mine.Length; i++) differing[i] = mine[i] == root[i] ? 0 : 1;
        communicator.AllreduceSum(differing);
        var problems = new List<string>();
        for (int i = 0; i < mine.Length; i++)
            if (differing[i] != 0)
                problems.Add($"{names[i]} differs from rank 0's {root[i]} on {differing[i]} rank(s)" + (mine[i] != root[i] ? $" (rank {communicator.Rank} has {mine[i]})" : ""));
        if (problems.Count > 0)
            throw new InvalidOperationException("every rank must train the same network on the same data with the same options: " + string.Join("; ", problems));
    }

    /// <summary>What samples weigh in a batch's mean loss (as <see cref="Trainer"/>): their count, or for class-weighted
    /// cross-entropy and NLL the sum of their class weights; for the summed SumSquaredError every part weighs the same.</summary>
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

    static void CheckData(INetwork network, LabeledImages data, string name)
    {
        if (data.SampleSize != network.InputSize)
            throw new ArgumentException($"{name}: samples are {data.Channels}×{data.Height}×{data.Width} = {data.SampleSize} floats, the network takes {network.InputSize}", name);
        if (data.ClassCount > network.OutputSize)
            throw new ArgumentException($"{name}: {data.ClassCount} classes, but the network has only {network.OutputSize} outputs", name);
    }
}
