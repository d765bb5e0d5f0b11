using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using NetDsl.Data;
using NetDsl.Distributed;
using NetDsl.IO;
using NetDsl.Tests.Networks;
using NetDsl.Tests.Training;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Distributed;

/// <summary>The data-parallel trainer on threads (InProcessCommunicator) against the single-process <see cref="Trainer"/>:
/// the same global batches must give the same updates.</summary>
public class DistributedTrainerTests
{
    /// <summary>max |a − b| over max |b|: the difference relative to the parameters' scale.</summary>
    internal static double RelativeDifference(ReadOnlySpan<float> actual, ReadOnlySpan<float> expected)
    {
        actual.Length.ShouldBe(expected.Length);
        double diff = 0, scale = 0;
        for (int i = 0; i < actual.Length; i++)
        {
            diff = Math.Max(diff, Math.Abs((double)actual[i] - expected[i]));
            scale = Math.Max(scale, Math.Abs((double)expected[i]));
        }
        return diff / scale;
    }

    static (float[] Parameters, IReadOnlyList<EpochReport> Reports) Single(LabeledImages train, LabeledImages test, Func<Optimizer> optimizer,
        TrainingOptions options, Loss loss, int workers, int maxBatch)
    {
        using var net = new DataParallelNet(maxBatch, seed: 3, workers);
        var reports = Trainer.Fit(net, train, test, loss, optimizer(), options);
        return (net.Parameters.ToArray(), reports);
    }

    static (float[] Parameters, IReadOnlyList<EpochReport> Reports)[] Parallel(int ranks, LabeledImages train, LabeledImages test, Func<Optimizer> optimizer,
        TrainingOptions options, Loss loss, int maxBatch, DistributedOptions? distributed = null) =>
        InProcessCommunicator.Run(ranks, c =>
        {
            // Different seeds on purpose: rank 0's initial weights must reach every rank by the broadcast.
            using var net = new DataParallelNet(maxBatch, seed: c.Rank == 0 ? 3 : 100 + c.Rank, workers: 1);
            var reports = DistributedTrainer.Fit(c, net, train, test, loss, optimizer(), options, distributed);
            return (net.Parameters.ToArray(), reports);
        });

    [Fact]
    public void TwoRanksOfOneWorkerMatchOneProcessOfTwoWorkers()
    {
        // 50 samples in global batches of 16: three steps of 8 + 8 per rank and a last one of 1 + 1, for two epochs.
        var train = ScheduleTests.RandomImages(50, 1, 8, 8, 3, 21);
        var test = ScheduleTests.RandomImages(13, 1, 8, 8, 3, 22);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 16, Seed = 5 };
        Func<Optimizer> sgd = () => new Sgd(0.1f, momentum: 0.9f);
        var (expected, expectedReports) = Single(train, test, sgd, options, new SoftmaxCrossEntropy(), workers: 2, maxBatch: 16);
        var ranks = Parallel(2, train, test, sgd, options, new SoftmaxCrossEntropy(), maxBatch: 8);

        foreach (var (parameters, reports) in ranks)
        {
            // One process sums the batch's fixed deterministic slices in order; each rank sums its half's slices, then the
            // allreduce adds the halves: the same terms associated differently, so equal to rounding.
            RelativeDifference(parameters, expected).ShouldBeLessThan(1e-5);
            reports.Count.ShouldBe(2);
            for (int e = 0; e < 2; e++)
            {
                // Losses are float means of differently sized groups, summed in double: equal to float rounding.
                reports[e].TrainLoss.ShouldBe(expectedReports[e].TrainLoss, 1e-6);
                reports[e].TrainAccuracy.ShouldBe(expectedReports[e].TrainAccuracy, 1e-12);
                reports[e].TestLoss.ShouldBe(expectedReports[e].TestLoss, 1e-6);
                reports[e].TestAccuracy.ShouldBe(expectedReports[e].TestAccuracy, 1e-12);
            }
        }
        expected.ShouldNotBe(new DataParallelNet(16, seed: 3, workers: 1).Parameters.ToArray()); // it trained
    }

    /// <summary>Rank 0 checkpoints every epoch (parameters, buffers, Adam's state, position); two fresh ranks with different
    /// initial weights resume from the first epoch's checkpoint and end bit-identical to the uninterrupted two-rank run.</summary>
    [Fact]
    public void EveryRankResumesFromRankZerosCheckpoint()
    {
        var train = ScheduleTests.RandomImages(40, 1, 8, 8, 3, 31);
        var options = new TrainingOptions { Epochs = 3, BatchSize = 10, Seed = 9 };
        string folder = Path.Combine(Path.GetTempPath(), $"netdsl-dist-ckpt-{Guid.NewGuid():N}");
        try
        {
            var full = Parallel(2, train, null!, () => new Adam(1e-2f), options, new SoftmaxCrossEntropy(), maxBatch: 5,
                new DistributedOptions { CheckpointDirectory = folder, CheckpointKeep = 5 });
            var written = CheckpointFolder.List(folder);
            written.Count.ShouldBe(3); // one per epoch, rank 0 only (a second writer would have raced on the same names)
            var afterFirst = written[0];
            Checkpoint.Load(afterFirst).Position.Epoch.ShouldBe(1);

            var resumed = InProcessCommunicator.Run(2, c =>
            {
                using var net = new DataParallelNet(5, seed: 50 + c.Rank, workers: 1); // neither rank starts from the checkpoint's weights
                var reports = DistributedTrainer.Fit(c, net, train, null, new SoftmaxCrossEntropy(), new Adam(1e-2f), options,
                    new DistributedOptions { ResumeFrom = afterFirst });
                return (net.Parameters.ToArray(), reports);
            });
            foreach (var (parameters, reports) in resumed)
            {
                reports.Count.ShouldBe(2); // epochs 2 and 3
                parameters.ShouldBe(full[0].Parameters);
            }

            // A checkpoint written mid-epoch (by Trainer.Fit's EverySteps) is refused, with the reason.
            var mid = Path.Combine(folder, "mid.ckpt");
            using (var net = new DataParallelNet(5, seed: 3, workers: 1))
                Checkpoint.Save(mid, net, new Adam(1e-2f), new TrainingPosition(1, 2, 10, 9, 10, true, 0, 0, 1f));
            var e = Should.Throw<AggregateException>(() => InProcessCommunicator.Run(1, c =>
            {
                using var net = new DataParallelNet(5, seed: 3, workers: 1);
                return DistributedTrainer.Fit(c, net, train, null, new SoftmaxCrossEntropy(), new Adam(1e-2f), options, new DistributedOptions { ResumeFrom = mid });
            }));
            e.Flatten().InnerExceptions.ShouldContain(x => x is InvalidOperationException && x.Message.Contains("resumes at an epoch's end"));
        }
        finally { if (Directory.Exists(folder)) Directory.Delete(folder, true); }
    }

    [Fact]
    public void ThreeUnevenRanksMatchOneProcessWithClassWeightsAdamAndL2()
    {
        // Global batch 20 over 3 ranks: shards of 6, 7, 7 (weights 6/20, 7/20: not powers of two); 47 samples: a last batch of 7.
        var train = ScheduleTests.RandomImages(47, 1, 8, 8, 3, 31);
        var test = ScheduleTests.RandomImages(10, 1, 8, 8, 3, 32);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 20, Seed = 9, L2 = 1e-3f, Schedule = new CosineAnnealing(0.01f, 6) };
        Func<Optimizer> adam = () => new Adam(0.01f);
        var loss = new SoftmaxCrossEntropy([0.5f, 2f, 1.25f]);
        var (expected, expectedReports) = Single(train, test, adam, options, loss, workers: 1, maxBatch: 20);
        var ranks = Parallel(3, train, test, adam, options, loss, maxBatch: 7);
        ranks[1].Parameters.ShouldBe(ranks[0].Parameters); // the replicas agree bit for bit
        ranks[2].Parameters.ShouldBe(ranks[0].Parameters);
        RelativeDifference(ranks[0].Parameters, expected).ShouldBeLessThan(1e-5);
        ranks[0].Reports[^1].TrainLoss.ShouldBe(expectedReports[^1].TrainLoss, 1e-5);
        ranks[0].Reports[^1].TestAccuracy.ShouldBe(expectedReports[^1].TestAccuracy, 1e-12);
    }

    [Fact]
    public void StepsSeeTheGlobalBatchLossAndSize()
    {
        var train = ScheduleTests.RandomImages(30, 1, 8, 8, 3, 41);
        var expected = new List<StepInfo>();
        Single(train, train, () => new Sgd(0.05f), new TrainingOptions { Epochs = 1, BatchSize = 12, OnStep = expected.Add }, new MeanSquaredError(), 1, 12);
        var seen = new List<StepInfo>[2];
        InProcessCommunicator.Run(2, c =>
        {
            var mine = seen[c.Rank] = [];
            using var net = new DataParallelNet(6, seed: 3, workers: 1);
            return DistributedTrainer.Fit(c, net, train, null, new MeanSquaredError(), new Sgd(0.05f), new TrainingOptions { Epochs = 1, BatchSize = 12, OnStep = mine.Add });
        });
        foreach (var steps in seen)
        {
            steps.Select(s => s.BatchSize).ShouldBe([12, 12, 6]);
            for (int i = 0; i < 3; i++) steps[i].Loss.ShouldBe(expected[i].Loss, 1e-6f);
        }
    }

    [Fact]
    public void ResumingAtStartEpochContinuesTheSameRun()
    {
        var train = ScheduleTests.RandomImages(24, 1, 8, 8, 3, 51);
        var straight = Parallel(2, train, train, () => new Sgd(0.1f, 0.9f), new TrainingOptions { Epochs = 3, BatchSize = 8 }, new SoftmaxCrossEntropy(), 4);
        var resumed = InProcessCommunicator.Run(2, c =>
        {
            using var net = new DataParallelNet(4, seed: 3, workers: 1);
            var sgd = new Sgd(0.1f, 0.9f); // its momentum is the state a checkpoint would carry
            DistributedTrainer.Fit(c, net, train, null, new SoftmaxCrossEntropy(), sgd, new TrainingOptions { Epochs = 1, BatchSize = 8 });
            DistributedTrainer.Fit(c, net, train, null, new SoftmaxCrossEntropy(), sgd, new TrainingOptions { Epochs = 3, BatchSize = 8 },
                new DistributedOptions { StartEpoch = 1 });
            return net.Parameters.ToArray();
        });
        resumed[0].ShouldBe(straight[0].Parameters);
        resumed[1].ShouldBe(straight[0].Parameters);
    }

    [Fact]
    public void BatchNormBuffersAreAveragedAcrossRanksAtEachEpochEnd()
    {
        // One step of global batch 16 on 16 samples: each rank's forward updates the running statistics from its 8 samples,
        // then the ranks average them. The update is linear in the batch statistics, so the result is the mean of what one
        // forward on each shard alone gives.
        var train = ScheduleTests.RandomImages(16, 1, 8, 8, 3, 61);
        var order = new BatchSampler(16, 16, seed: 1).Order.ToArray(); // TrainingOptions.Seed's default
        var alone = new float[2][];
        for (int r = 0; r < 2; r++)
        {
            using var net = new DataParallelBnNet(8, seed: 4, workers: 1);
            var x = new float[8 * 64];
            for (int k = 0; k < 8; k++) train.Pixels.AsSpan(order[r * 8 + k] * 64, 64).CopyTo(x.AsSpan(k * 64));
            net.Forward(x, 8, training: true);
            alone[r] = net.Buffers.ToArray();
        }
        var results = InProcessCommunicator.Run(2, c =>
        {
            using var net = new DataParallelBnNet(8, seed: 4, workers: 1);
            var before = net.Buffers.ToArray();
            DistributedTrainer.Fit(c, net, train, null, new SoftmaxCrossEntropy(), new Sgd(0.05f), new TrainingOptions { Epochs = 1, BatchSize = 16 });
            return (before, after: net.Buffers.ToArray());
        });
        results[1].after.ShouldBe(results[0].after);
        results[0].after.ShouldNotBe(results[0].before);
        alone[0].ShouldNotBe(alone[1]);
        for (int i = 0; i < alone[0].Length; i++) results[0].after[i].ShouldBe((alone[0][i] + alone[1][i]) * 0.5f, 1e-6f, $"buffer {i}");
    }

    [Fact]
    public void RanksStartedWithDifferentOptionsFailOnEveryRank()
    {
        var train = ScheduleTests.RandomImages(16, 1, 8, 8, 3, 71);
        var e = Should.Throw<AggregateException>(() => InProcessCommunicator.Run(2, c =>
        {
            using var net = new DataParallelNet(8, seed: 3, workers: 1);
            return DistributedTrainer.Fit(c, net, train, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { Epochs = 1, BatchSize = c.Rank == 0 ? 8 : 16 });
        }));
        e.InnerException.ShouldBeOfType<InvalidOperationException>().Message.ShouldContain("BatchSize differs from rank 0's 8 on 1 rank(s)");
    }

    [Fact]
    public void OnlyRankZeroLogsAndWritesWeights()
    {
        var train = ScheduleTests.RandomImages(16, 1, 8, 8, 3, 81);
        string dir = Path.Combine(Path.GetTempPath(), "netdsl-dist-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        try
        {
            var results = InProcessCommunicator.Run(2, c =>
            {
                using var net = new DataParallelNet(8, seed: 3, workers: 1);
                int logs = 0, checkpoints = 0, epochReports = 0;
                DistributedTrainer.Fit(c, net, train, null, new SoftmaxCrossEntropy(), new Sgd(0.1f),
                    new TrainingOptions { Epochs = 2, BatchSize = 8, OnEpoch = _ => logs++ },
                    new DistributedOptions
                    {
                        WeightsPath = Path.Combine(dir, $"weights.safetensors"),
                        SaveCheckpoint = (_, _) => checkpoints++,
                        OnEpoch = r => { epochReports++; r.Rank.ShouldBe(c.Rank); r.LocalSamples.ShouldBe(8); r.Steps.ShouldBe(2); },
                    });
                return (logs, checkpoints, epochReports, parameters: net.Parameters.ToArray());
            });
            results.Select(r => r.logs).ShouldBe([2, 0]);
            results.Select(r => r.checkpoints).ShouldBe([2, 0]);
            results.Select(r => r.epochReports).ShouldBe([2, 2]);
            Directory.GetFiles(dir).Select(Path.GetFileName).ShouldBe(["weights.safetensors"]);
            using var loaded = new DataParallelNet(8, seed: 99, workers: 1);
            SafeTensors.Load(Path.Combine(dir, "weights.safetensors"), loaded);
            loaded.Parameters.ToArray().ShouldBe(results[0].parameters);
        }
        finally { Directory.Delete(dir, recursive: true); }
    }
}
