using System;
using System.IO;
using System.Linq;
using NetDsl.Data;
using NetDsl.Tests.IO;
using NetDsl.Tests.Networks;
using NetDsl.Tests.Training;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Reliability;

public class CheckpointTests
{
    public static TheoryData<string> Kinds => new() { "sgd", "adam", "adamw", "adagrad", "adadelta", "rmsprop" };

    /// <summary>Every optimizer kind with every state buffer it can keep (momentum, AMSGrad, centered + momentum).</summary>
    static Optimizer Make(string kind) => kind switch
    {
        "sgd" => new Sgd(0.05f, momentum: 0.9f, nesterov: true, weightDecay: 1e-3f),
        "adam" => new Adam(0.01f, weightDecay: 1e-3f, amsgrad: true),
        "adamw" => new AdamW(0.01f, amsgrad: true),
        "adagrad" => new Adagrad(0.05f, lrDecay: 0.01f, initialAccumulatorValue: 0.1f),
        "adadelta" => new Adadelta(1f, weightDecay: 1e-3f),
        "rmsprop" => new RmsProp(0.005f, momentum: 0.5f, centered: true),
        _ => throw new ArgumentException(kind),
    };

    static TrainingOptions Options(string? folder, string? resume, int epochs = 3, int batchSize = 16, int every = 1) => new()
    {
        Epochs = epochs, BatchSize = batchSize, Seed = 4,
        LearningRateForEpoch = e => 0.01f / (1 + e), // the learning rate is part of the state
        Checkpoints = folder is null ? null : new CheckpointOptions { Directory = folder, EverySteps = every, Keep = 100 },
        ResumeFrom = resume,
    };

    /// <summary>Resuming from a checkpoint in the middle of epoch 2 gives the same final weights, bit for bit, as not
    /// stopping: for each optimizer, so every state tensor (and the step count) round-trips.</summary>
    [Theory, MemberData(nameof(Kinds))]
    public void ResumingFromAMidEpochCheckpointEndsBitIdentical(string kind)
    {
        using var dir = new TempDir();
        var data = ResumeChild.Data();
        using var a = new ResumeNet(8, seed: 3, workers: 2);
        var optA = Make(kind);
        Trainer.Fit(a, data, null, new SoftmaxCrossEntropy(), optA, Options(dir.Root, null, every: 5));
        var files = CheckpointFolder.List(dir.Root);
        files.Count.ShouldBe(9); // 15 steps per epoch, a checkpoint after every fifth
        var middle = Checkpoint.Load(files[3]); // after step 20: epoch 2, before its batch 6
        middle.Position.Epoch.ShouldBe(1);
        middle.Position.Batch.ShouldBe(5);
        middle.OptimizerKind.ShouldBe(optA.Kind);
        middle.Tensors.Keys.Where(k => k.StartsWith("optim/")).Select(k => k[6..]).ShouldBe(optA.StateNames, ignoreOrder: true);

        using var c = new ResumeNet(8, seed: 99, workers: 2);
        var optC = Make(kind);
        Trainer.Fit(c, data, null, new SoftmaxCrossEntropy(), optC, Options(null, files[3]));
        c.Parameters.ToArray().ShouldBe(a.Parameters.ToArray());
        c.Buffers.ToArray().ShouldBe(a.Buffers.ToArray());
        c.DropoutState.ShouldBe(a.DropoutState);
        optC.StepCount.ShouldBe(optA.StepCount);
        foreach (var name in optA.StateNames) optC.State(name).ToArray().ShouldBe(optA.State(name).ToArray(), name);
    }

    [Fact]
    public void ResumeIsRefusedWithTheReasonWhenTensorsOrOptimizerDiffer()
    {
        using var dir = new TempDir();
        var data = ScheduleTests.RandomImages(20, 1, 8, 8, 3, 5);
        using var net = new TinyConv(4, workers: 1);
        Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Adam(), Options(dir.Root, null, epochs: 1));
        string file = CheckpointFolder.Latest(dir.Root)!;

        var data5 = new LabeledImages(data.Pixels, data.Labels, 1, 8, 8, 5);
        using var other = new TinyConvHead5(4, workers: 1);
        var e = Should.Throw<InvalidDataException>(() => Trainer.Fit(other, data5, null, new SoftmaxCrossEntropy(), new Adam(), Options(null, file)));
        e.Message.ShouldContain(file);
        e.Message.ShouldContain("dense1.weight is [5, 144] in the network, [3, 144] in the checkpoint");
        other.Parameters.ToArray().ShouldBe(new TinyConvHead5(4, workers: 1).Parameters.ToArray(), "nothing is copied when refused");

        e = Should.Throw<InvalidDataException>(() => Trainer.Fit(new TinyConv(4, workers: 1), data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), Options(null, file)));
        e.Message.ShouldContain("the checkpoint's optimizer is Adam, this run's is Sgd");
        e = Should.Throw<InvalidDataException>(() => Trainer.Fit(new TinyConv(4, workers: 1), data, null, new SoftmaxCrossEntropy(), new Adam(amsgrad: true), Options(null, file)));
        e.Message.ShouldContain("amsgrad=False), this run's (");
        e = Should.Throw<InvalidDataException>(() => Trainer.Fit(new TinyConv(4, workers: 1), data, null, new SoftmaxCrossEntropy(), new Adam(), Options(null, file, batchSize: 8)));
        e.Message.ShouldContain("batch size 16 in the checkpoint, 8 in this run");
    }

    [Fact]
    public void SavesKeepTheNewestAndRemoveTemporariesOfACrashedSave()
    {
        using var dir = new TempDir();
        File.WriteAllBytes(dir.File(".ckpt-000000000007.safetensors.abc.tmp"), new byte[1000]); // a crashed save's leftover
        File.WriteAllText(dir.File("notes.txt"), "kept");
        var data = ScheduleTests.RandomImages(20, 1, 8, 8, 3, 5);
        using var net = new TinyConv(4, workers: 1);
        Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f, momentum: 0.9f),
            new TrainingOptions { Epochs = 2, BatchSize = 4, Checkpoints = new CheckpointOptions { Directory = dir.Root, EverySteps = 2, Keep = 3 } });
        dir.Names().OrderBy(n => n, StringComparer.Ordinal).ShouldBe(new[]
        {
            "ckpt-000000000006.safetensors", "ckpt-000000000008.safetensors", "ckpt-000000000010.safetensors", "notes.txt",
        });
        // The last checkpoint holds the final state.
        var last = Checkpoint.Load(dir.File("ckpt-000000000010.safetensors"));
        last.Position.ShouldBe(last.Position with { Epoch = 2, Batch = 0, Step = 10 });
        last.Tensors["param/conv1.weight"].Data.ShouldBe(net.Conv1Weight.ToArray());
    }

    [Fact]
    public void AnAlteredCheckpointIsRefusedByItsChecksum()
    {
        using var dir = new TempDir();
        using var net = new TinyConv(4, workers: 1);
        string file = dir.File("a.safetensors");
        Checkpoint.Save(file, net, new Sgd(0.1f), new TrainingPosition(0, 0, 0, 1, 4, true, 0, 0, 1f));
        Checkpoint.Load(file).Tensors["param/conv1.bias"].Data.ShouldBe(net.Conv1Bias.ToArray());
        var bytes = File.ReadAllBytes(file);
        bytes[^3] ^= 0x10; // one bit of the last float
        File.WriteAllBytes(file, bytes);
        var e = Should.Throw<InvalidDataException>(() => Checkpoint.Load(file));
        e.Message.ShouldStartWith(file);
        e.Message.ShouldContain("does not match the recorded");
    }

    [Fact]
    public void ResumeFromAnEmptyFolderStartsFromScratchAndAMissingPathIsAnError()
    {
        using var dir = new TempDir();
        var data = ScheduleTests.RandomImages(20, 1, 8, 8, 3, 5);
        using var a = new TinyConv(4, workers: 1);
        using var b = new TinyConv(4, workers: 1);
        Trainer.Fit(a, data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { Epochs = 1, BatchSize = 4 });
        Trainer.Fit(b, data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { Epochs = 1, BatchSize = 4, ResumeFrom = dir.Root });
        b.Parameters.ToArray().ShouldBe(a.Parameters.ToArray());
        Should.Throw<FileNotFoundException>(() => Trainer.Fit(b, data, null, new SoftmaxCrossEntropy(), new Sgd(0.1f),
            new TrainingOptions { ResumeFrom = dir.File("nope") })).Message.ShouldContain("nope");
    }
}
