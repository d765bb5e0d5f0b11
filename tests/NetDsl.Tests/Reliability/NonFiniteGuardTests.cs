using System;
using System.Linq;
using NetDsl.Data;
using NetDsl.Tests.Networks;
using NetDsl.Tests.Training;
using NetDsl.Training;
using Shouldly;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Reliability;

public class NonFiniteGuardTests(ITestOutputHelper output)
{
    sealed class StopHere : Exception;

    /// <summary>One NaN pixel in the training set: Fit stops at the step whose batch holds it, names the first layer whose
    /// output is NaN and the sample (with its training-set index), and leaves the parameters as the previous step left them
    /// and the batch-norm statistics as they were before the refused step.</summary>
    [Fact]
    public void ANaNPixelInTheTrainingSetStopsFitNamingTheLayerAndTheSample()
    {
        var clean = ResumeChild.Data();
        var pixels = (float[])clean.Pixels.Clone();
        const int poisoned = 137;
        pixels[poisoned * 64 + 20] = float.NaN;
        var data = new LabeledImages(pixels, clean.Labels, 1, 8, 8, 10, allowNonFinite: true);
        var options = new TrainingOptions { Epochs = 2, BatchSize = 16, Seed = 3 };

        using var net = new ResumeNet(16, seed: 2, workers: 2);
        float[]? buffersBefore = null;
        var e = Should.Throw<NonFiniteException>(() => Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f),
            new TrainingOptions { Epochs = 2, BatchSize = 16, Seed = 3, OnStep = _ => buffersBefore = net.Buffers.ToArray() }));
        output.WriteLine(e.Message);
        e.Epoch.ShouldBe(1);
        e.DataIndex.ShouldBe(poisoned);
        e.OutputLayer.ShouldBe("conv1");
        e.Message.ShouldContain($"epoch 1, step {e.Step}");
        e.Message.ShouldContain($"the input batch already held NaN at sample {e.InputSample} (training-set index {poisoned}), element 20");
        e.Message.ShouldContain("first non-finite output: conv1 (layer 0, Conv2D)");

        // The truth: the same run on clean data, stopped just before the refused step's update.
        using var reference = new ResumeNet(16, seed: 2, workers: 2);
        Should.Throw<StopHere>(() => Trainer.Fit(reference, clean, null, new SoftmaxCrossEntropy(), new Sgd(0.05f, momentum: 0.9f),
            new TrainingOptions { Epochs = 2, BatchSize = 16, Seed = 3, OnStep = s => { if (s.Step == e.Step) throw new StopHere(); } }));
        net.Parameters.ToArray().ShouldBe(reference.Parameters.ToArray());
        net.Buffers.ToArray().ShouldBe(buffersBefore, "the batch-norm statistics are put back");
    }

    /// <summary>A learning rate of 1e10: the first update is finite but huge, the next forward pass overflows; Fit stops there,
    /// naming the first layer whose output is non-finite, with the parameters of the last good step.</summary>
    [Fact]
    public void AHugeLearningRateStopsAtTheFirstNonFiniteStep()
    {
        var data = ResumeChild.Data();
        using var net = new SmallCnn(16, seed: 1, workers: 2);
        var e = Should.Throw<NonFiniteException>(() => Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(1e10f),
            new TrainingOptions { Epochs = 3, BatchSize = 16 }));
        output.WriteLine(e.Message);
        e.Epoch.ShouldBe(1);
        e.InputSample.ShouldBe(-1);
        e.Message.ShouldContain("the input batch held no NaN/∞");
        (e.OutputLayer ?? e.GradientLayer).ShouldNotBeNull();
        NonFiniteGuard.AllFinite(net.Parameters).ShouldBeTrue("no refused step leaves the parameters poisoned");
    }

    /// <summary>A NaN input to TrainStep is refused before anything changes: parameters, batch-norm statistics, dropout.</summary>
    [Fact]
    public void ANaNInputToTrainStepIsRefusedAndChangesNothing()
    {
        using var net = new ResumeNet(4, workers: 1);
        var x = new float[4 * 64];
        for (int i = 0; i < x.Length; i++) x[i] = i % 7 * 0.1f;
        net.TrainStep(x, [1, 2, 3, 4], new SoftmaxCrossEntropy(), new Adam());
        float[] parameters = net.Parameters.ToArray(), buffers = net.Buffers.ToArray();
        var dropout = net.DropoutState;
        x[2 * 64 + 5] = float.PositiveInfinity;
        var e = Should.Throw<ArgumentException>(() => net.TrainStep(x, [1, 2, 3, 4], new SoftmaxCrossEntropy(), new Adam()));
        output.WriteLine(e.Message);
        e.ParamName.ShouldBe("inputs");
        e.Message.ShouldContain("ResumeNet.TrainStep: inputs hold Infinity at sample 2, element 5");
        net.Parameters.ToArray().ShouldBe(parameters);
        net.Buffers.ToArray().ShouldBe(buffers);
        net.DropoutState.ShouldBe(dropout);
    }

    /// <summary>A finite input whose gradient overflows: TrainStep refuses the optimizer step, parameters unchanged.</summary>
    [Fact]
    public void TrainStepRefusesANonFiniteLossBeforeTheUpdate()
    {
        using var net = new TinyConv(2, workers: 1);
        net.Conv1Weight.Fill(3e38f);
        float[] parameters = net.Parameters.ToArray();
        var x = Enumerable.Repeat(10f, 2 * 64).ToArray();
        var e = Should.Throw<NonFiniteException>(() => net.TrainStep(x, [0, 1], new SoftmaxCrossEntropy(), new Sgd(0.1f)));
        output.WriteLine(e.Message);
        e.OutputLayer.ShouldBe("conv1");
        e.Message.ShouldStartWith("TinyConv.TrainStep: loss = NaN; first non-finite output: conv1 (layer 0, Conv2D) = Infinity at sample 0");
        net.Parameters.ToArray().ShouldBe(parameters);
    }

    [Fact]
    public void SkipBatchSkipsOnlyTheBatchesThatHoldTheNaN()
    {
        var clean = ResumeChild.Data();
        var pixels = (float[])clean.Pixels.Clone();
        pixels[5 * 64] = float.NaN;
        var data = new LabeledImages(pixels, clean.Labels, 1, 8, 8, 10, allowNonFinite: true);
        using var net = new TinyNet8(16, workers: 1);
        int steps = 0;
        var reports = Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(0.05f),
            new TrainingOptions { Epochs = 3, BatchSize = 16, NonFinite = NonFinitePolicy.SkipBatch, OnStep = _ => steps++ });
        reports.Count.ShouldBe(3);
        steps.ShouldBe(3 * 15 - 3, "one batch per epoch holds sample 5");
        NonFiniteGuard.AllFinite(net.Parameters).ShouldBeTrue();
    }

    /// <summary>RollBack with no checkpoint folder goes back to the start of the epoch with the learning rate times the
    /// factor: from lr 1e10 and factor 1e-11 the run is exactly a run started at lr 1e10·1e-11.</summary>
    [Fact]
    public void RollBackReturnsToTheLastCheckpointWithALowerLearningRate()
    {
        var data = ResumeChild.Data();
        using var net = new SmallCnn(16, seed: 6, workers: 2);
        var reports = Trainer.Fit(net, data, null, new SoftmaxCrossEntropy(), new Sgd(1e10f, momentum: 0.9f),
            new TrainingOptions { Epochs = 2, BatchSize = 16, NonFinite = NonFinitePolicy.RollBack, RollbackLearningRateFactor = 1e-11f });
        float lr = 1e10f * 1e-11f;
        reports[^1].LearningRate.ShouldBe(lr);
        using var reference = new SmallCnn(16, seed: 6, workers: 2);
        Trainer.Fit(reference, data, null, new SoftmaxCrossEntropy(), new Sgd(lr, momentum: 0.9f), new TrainingOptions { Epochs = 2, BatchSize = 16 });
        net.Parameters.ToArray().ShouldBe(reference.Parameters.ToArray());
    }

    [Fact]
    public void NonFiniteWeightsAndPixelsAreRefusedOnLoadWithTheirNameAndIndex()
    {
        using var dir = new IO.TempDir();
        using var net = new TinyConv(2, workers: 1);
        net.Dense1Weight[77] = float.NaN;
        NetDsl.IO.SafeTensors.Save(dir.File("w.safetensors"), net);
        var e = Should.Throw<System.IO.InvalidDataException>(() => NetDsl.IO.SafeTensors.Load(dir.File("w.safetensors"), new TinyConv(2, workers: 1)));
        e.Message.ShouldContain("'dense1.weight'[77] is NaN");
        NetDsl.IO.SafeTensors.Load(dir.File("w.safetensors"), net, null, allowNonFinite: true);
        Should.Throw<System.IO.InvalidDataException>(() => NetDsl.Tools.Transfer.LoadMatching(dir.File("w.safetensors"), new TinyConv(2, workers: 1)))
            .Message.ShouldContain("'dense1.weight'[77] is NaN");

        var p = new float[3 * 4];
        p[9] = float.NegativeInfinity;
        Should.Throw<ArgumentException>(() => new LabeledImages(p, [0, 1, 0], 1, 2, 2, 2)).Message
            .ShouldStartWith("pixels hold -Infinity at sample 2, element 1 (flat index 9)");
    }
}
