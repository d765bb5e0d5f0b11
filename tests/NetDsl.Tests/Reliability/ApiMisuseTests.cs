using System;
using System.Collections.Generic;
using NetDsl.Data;
using NetDsl.IO;
using NetDsl.Tests.Networks;
using NetDsl.Tools;
using NetDsl.Training;
using NetDsl.Visualization;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Reliability;

/// <summary>
/// The public API audit: for each entry point, a bad argument raises an <see cref="ArgumentException"/> (or a subclass)
/// whose ParamName is that argument and whose message holds the value given and what was expected. One case per entry
/// point (the Theory's cases are listed by name in the test output).
/// </summary>
public class ApiMisuseTests
{
    sealed record Case(string EntryPoint, Action Call, string Parameter, string[] Fragments)
    {
        public override string ToString() => EntryPoint;
    }

    static readonly LabeledImages Images = new(new float[3 * 64], [0, 1, 2], 1, 8, 8, 3);

    static IEnumerable<Case> All()
    {
        var net = new TinyConv(4, workers: 1);
        yield return new("network constructor: maxBatch", () => new TinyConv(0), "maxBatch", ["0", "at least 1"]);
        yield return new("network constructor: workers", () => new TinyConv(4, workers: -2), "workers", ["-2", "0 (one per processor) or more"]);
        yield return new("INetwork.Forward: batch", () => net.Forward(new float[5 * 64], 5), "batch", ["5", "MaxBatch = 4"]);
        yield return new("INetwork.Forward: input", () => net.Forward(new float[63], 1), "input", ["63", "64"]);
        yield return new("INetwork.Backward: outputGradient", () => { net.Forward(new float[64], 1, training: true); net.Backward(new float[2], 1); }, "outputGradient", ["2", "3"]);
        yield return new("INetwork.LayerOutput: index", () => net.LayerOutput(7), "index", ["7", "3 layers"]);
        yield return new("TrainStep: targets", () => net.TrainStep(new float[64], new float[2], 1, new MeanSquaredError(), new Sgd(0.1f)), "targets", ["2", "3"]);
        yield return new("TrainStep: inputs (NaN)", () => net.TrainStep([float.NaN, .. new float[63]], [0], new SoftmaxCrossEntropy(), new Sgd(0.1f)), "inputs", ["NaN", "sample 0"]);
        yield return new("Sgd: learningRate", () => new Sgd(-1f), "learningRate", ["-1", "finite and >= 0"]);
        yield return new("Sgd: nesterov", () => new Sgd(0.1f, nesterov: true), "nesterov", ["momentum 0", "momentum > 0"]);
        yield return new("Adam: beta1", () => new Adam(beta1: 1f), "beta1", ["1", "[0, 1)"]);
        yield return new("AdamW: weightDecay", () => new AdamW(weightDecay: float.NaN), "weightDecay", ["NaN", ">= 0"]);
        yield return new("Adagrad: eps", () => new Adagrad(eps: -1e-3f), "eps", ["-0.001", ">= 0"]);
        yield return new("Adadelta: rho", () => new Adadelta(rho: 2f), "rho", ["2", "[0, 1]"]);
        yield return new("RmsProp: alpha", () => new RmsProp(alpha: -0.5f), "alpha", ["-0.5", "[0, 1]"]);
        yield return new("Optimizer.Step: gradients", () => new Sgd(0.1f).Step(new float[3], new float[2]), "gradients", ["2", "3"]);
        yield return new("Optimizer.SetState: state", () => new Adam().SetState(1, new Dictionary<string, float[]> { ["sum"] = new float[3] }, 3), "state", ["'sum'", "exp_avg, exp_avg_sq"]);
        yield return new("Trainer.Fit: train (shape)", () => Trainer.Fit(net, new LabeledImages(new float[2 * 16], [0, 1], 1, 4, 4, 2), null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions()), "train", ["1×4×4 = 16", "64"]);
        yield return new("Trainer.Fit: options.BatchSize", () => Trainer.Fit(net, Images, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { BatchSize = 0 }), "options", ["0", "at least 1"]);
        yield return new("Trainer.Fit: options.Checkpoints.Keep", () => Trainer.Fit(net, Images, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { Checkpoints = new CheckpointOptions { Directory = "x", Keep = 0 } }), "options", ["0", "at least 1"]);
        yield return new("Trainer.Fit: options.RollbackLearningRateFactor", () => Trainer.Fit(net, Images, null, new SoftmaxCrossEntropy(), new Sgd(0.1f), new TrainingOptions { RollbackLearningRateFactor = 2f }), "options", ["2", "(0, 1)"]);
        yield return new("Trainer.Fit: optimizer (null)", () => Trainer.Fit(net, Images, null, new SoftmaxCrossEntropy(), null!, new TrainingOptions()), "optimizer", ["null"]);
        yield return new("Trainer.Evaluate: data", () => Trainer.Evaluate(net, new LabeledImages(new float[16], [0], 1, 4, 4, 2), new SoftmaxCrossEntropy()), "data", ["16", "64"]);
        yield return new("LabeledImages: labels", () => new LabeledImages(new float[64], [5], 1, 8, 8, 3), "labels", ["5", "0..2"]);
        yield return new("LabeledImages: pixels (length)", () => new LabeledImages(new float[60], [0], 1, 8, 8, 3), "pixels", ["60", "64"]);
        yield return new("BatchSampler: batchSize", () => new BatchSampler(10, 0, 1), "batchSize", ["0"]);
        yield return new("BatchSampler.SizeOf: batchIndex", () => new BatchSampler(10, 4, 1).SizeOf(3), "batchIndex", ["3", "0 to 2"]);
        yield return new("SoftmaxCrossEntropy.Compute: labels", () => new SoftmaxCrossEntropy().Compute(new float[6], [0, 9], 2, 3, new float[6]), "labels", ["9"]);
        yield return new("MultiMarginLoss: p", () => new MultiMarginLoss(p: 3), "p", ["3", "1 or 2"]);
        yield return new("StepDecay: stepSize", () => new StepDecay(0.1f, stepSize: 0), "stepSize", ["0"]);
        yield return new("CosineAnnealing: period", () => new CosineAnnealing(0.1f, period: -1), "period", ["-1"]);
        yield return new("Augmentation.RandomRotation: maxDegrees", () => Augmentation.RandomRotation(200), "maxDegrees", ["200", "[0, 180]"]);
        yield return new("LayerScaledOptimizer: layerScales", () => new LayerScaledOptimizer(net, new Sgd(0.1f), new Dictionary<string, float> { ["nope"] = 1f }), "layerScales", ["'nope'", "conv1"]);
        yield return new("SafeTensors.Load: path (directory)", () => SafeTensors.Load(AppContext.BaseDirectory, net), "path", [AppContext.BaseDirectory.TrimEnd('/'), "is a directory"]);
        yield return new("SafeTensors.Write: tensors", () => SafeTensors.Write("x.safetensors", [("a", new[] { 2 }, new float[3])]), "tensors", ["[2]", "3 values"]);
        yield return new("Idx.WriteImages: pixels", () => Idx.WriteImages("x.idx", 2, 2, 2, new byte[7], gzip: false), "pixels", ["8", "7"]);
        yield return new("Checkpoint.Save: optimizer (null)", () => Checkpoint.Save("x.safetensors", net, null!, default), "optimizer", ["null"]);
        yield return new("CheckpointFolder.Save: keep", () => CheckpointFolder.Save("x", 0, net, new Sgd(0.1f), default), "keep", ["0", "1"]);
        yield return new("Ensemble: members", () => new Ensemble([]), "members", ["at least one network"]);
        yield return new("Canvas: width", () => new Canvas(0, 5), "width", ["0"]);
        yield return new("Initializer.Reinitialize: layerName", () => Initializer.Reinitialize(net, "nope", Init.He, 1), "layerName", ["'nope'"]);
        yield return new("NonFiniteGuard.ThrowIfStepNonFinite: network (null)", () => NonFiniteGuard.ThrowIfStepNonFinite(null!, 0, "x"), "network", ["null"]);
    }

    public static TheoryData<string> EntryPoints()
    {
        var data = new TheoryData<string>();
        foreach (var c in All()) data.Add(c.EntryPoint);
        return data;
    }

    [Theory, MemberData(nameof(EntryPoints))]
    public void BadArgumentsAreRefusedNamingTheArgumentTheValueAndTheExpectation(string entryPoint)
    {
        var c = System.Linq.Enumerable.Single(All(), x => x.EntryPoint == entryPoint);
        var e = Should.Throw<ArgumentException>(c.Call);
        e.ParamName.ShouldBe(c.Parameter, e.Message);
        foreach (var f in c.Fragments) e.Message.ShouldContain(f, Shouldly.Case.Insensitive, e.Message);
    }

    /// <summary>A disposed network names itself, not an internal type, with one worker and with several.</summary>
    [Theory, InlineData(1), InlineData(2)]
    public void UsingADisposedNetworkNamesTheNetwork(int workers)
    {
        var net = new TinyConv(2, workers: workers);
        net.Dispose();
        var e = Should.Throw<ObjectDisposedException>(() => net.Forward(new float[2 * 64], 2));
        e.ObjectName.ShouldBe("TinyConv");
        e.Message.ShouldStartWith("TinyConv has been disposed");
        e.Message.ShouldNotContain("WorkerPool");
        Should.Throw<ObjectDisposedException>(() => net.TrainStep(new float[64], [0], new SoftmaxCrossEntropy(), new Sgd(0.1f))).ObjectName.ShouldBe("TinyConv");
    }
}
