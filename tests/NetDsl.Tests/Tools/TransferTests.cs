using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.IO;
using NetDsl.Tests.IO;
using NetDsl.Tests.Networks;
using NetDsl.Tests.Training;
using NetDsl.Tools;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

public class TransferTests
{
    static float[] Tensor(INetwork net, string name)
    {
        var t = net.ParameterTensors.ToArray().Single(p => p.Name == name);
        return net.Parameters.Slice(t.Offset, t.Length).ToArray();
    }

    [Fact]
    public void LoadsWhatMatchesAndReportsTheRest()
    {
        using var dir = new TempDir();
        var source = new TinyConv(1, seed: 1, workers: 1);
        string path = dir.File("pre.safetensors");
        // The network's tensors plus one the target does not have.
        var extra = new List<(string, int[], ReadOnlyMemory<float>)>();
        foreach (var t in source.ParameterTensors) extra.Add((t.Name, t.Shape, source.Parameters.Slice(t.Offset, t.Length).ToArray()));
        extra.Add(("fc9.weight", new[] { 2, 2 }, new float[4]));
        SafeTensors.Write(path, extra);

        var target = new TinyConvHead5(1, seed: 2, workers: 1);
        var headBefore = Tensor(target, "dense1.weight");
        var report = Transfer.LoadMatching(path, target);
        report.Loaded.ShouldBe(new[] { "conv1.weight", "conv1.bias" });
        report.Missing.ShouldBe(new[] { "dense1.weight", "dense1.bias" });
        report.Skipped.ShouldBe(new[] { "dense1.bias [3]: the network's 'dense1.bias' is [5]", "dense1.weight [3, 144]: the network's 'dense1.weight' is [5, 144]", "fc9.weight [2, 2]: not in the network" });
        report.ReinitializedLayers.ShouldBeEmpty();
        Tensor(target, "conv1.weight").ShouldBe(Tensor(source, "conv1.weight"));
        Tensor(target, "conv1.bias").ShouldBe(Tensor(source, "conv1.bias"));
        Tensor(target, "dense1.weight").ShouldBe(headBefore); // left as it was

        var fresh = new TinyConvHead5(1, seed: 2, workers: 1);
        var r2 = Transfer.LoadMatching(path, fresh, Init.LeCun, seed: 9);
        r2.ReinitializedLayers.ShouldBe(new[] { "dense1" });
        Tensor(fresh, "conv1.weight").ShouldBe(Tensor(source, "conv1.weight"));
        Tensor(fresh, "dense1.weight").ShouldNotBe(headBefore);
        var expected = new TinyConvHead5(1, seed: 2, workers: 1);
        Initializer.Reinitialize(expected, "dense1", Init.LeCun, 9);
        Tensor(fresh, "dense1.weight").ShouldBe(Tensor(expected, "dense1.weight"));
    }

    [Fact]
    public void FineTuneRatesAndFreezingLists()
    {
        var net = new SmoothNet(1, workers: 1);
        Transfer.AllLayersExcept(net, "dense2").ShouldBe(new[] { "conv1", "dense1" });
        Transfer.FineTuneRates(net, 0.1f, "dense2").ShouldBe(new Dictionary<string, float> { ["conv1"] = 0.1f, ["dense1"] = 0.1f });
        Should.Throw<ArgumentException>(() => Transfer.AllLayersExcept(net, "tanh1")).Message.ShouldContain("'tanh1' is not a layer with parameters; those are conv1, dense1, dense2");
    }

    [Fact]
    public void LayerwisePretrainingTrainsOnlyEachStagesLayers()
    {
        var data = ScheduleTests.RandomImages(16, 2, 6, 6, 3, 31);
        var net = new SmoothNet(8, seed: 3, workers: 1);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 8 };
        var p0 = net.Parameters.ToArray();
        Transfer.LayerwisePretrain(net, data, null, new SoftmaxCrossEntropy(), () => new Sgd(0.1f), options, [["conv1", "dense2"]]);
        var p1 = net.Parameters.ToArray();
        Transfer.LayerwisePretrain(net, data, null, new SoftmaxCrossEntropy(), () => new Sgd(0.1f), options, [["dense1", "dense2"]]);
        var p2 = net.Parameters.ToArray();
        LayerInfo L(string n) => net.Layers.ToArray().Single(l => l.Name == n);
        float[] S(float[] p, string n) => p.AsSpan(L(n).ParameterOffset, L(n).ParameterCount).ToArray();
        S(p1, "dense1").ShouldBe(S(p0, "dense1"));
        S(p1, "conv1").ShouldNotBe(S(p0, "conv1"));
        S(p2, "conv1").ShouldBe(S(p1, "conv1"));
        S(p2, "dense1").ShouldNotBe(S(p1, "dense1"));
        S(p2, "dense2").ShouldNotBe(S(p1, "dense2"));
    }

    [Fact]
    public void LayerwisePretrainingHonoursRegularizationRatesAndFreezing()
    {
        // One full-batch SGD step on stage [conv1, dense2] from the same start w0: L2 adds λ·w0 to the gradient, L1 adds
        // l1·sign(w0), so the regularized weight ends lr·λ·w0 (lr·l1·sign(w0)) below the plain one; a layer multiplier of ½
        // halves the step. (Before, LayerwisePretrain dropped L1, L2 and LayerRegularization: the differences were zero.)
        var data = ScheduleTests.RandomImages(8, 2, 6, 6, 3, 37);
        const float lr = 0.1f, l2 = 0.2f, l1 = 0.05f;
        float[] Run(TrainingOptions options, string[]? stage = null)
        {
            using var net = new SmoothNet(8, seed: 3, workers: 1);
            Transfer.LayerwisePretrain(net, data, null, new SoftmaxCrossEntropy(), () => new Sgd(lr), options, [stage ?? ["conv1", "dense2"]]);
            return net.Parameters.ToArray();
        }
        using var start = new SmoothNet(8, seed: 3, workers: 1);
        var w0 = start.Parameters.ToArray();
        var tensors = start.ParameterTensors.ToArray();
        float[] T(float[] p, string name) { var t = tensors.Single(x => x.Name == name); return p.AsSpan(t.Offset, t.Length).ToArray(); }
        void Moved(float[] regularized, float[] plain, string name, Func<float, float> term)
        {
            var (r, p, w) = (T(regularized, name), T(plain, name), T(w0, name));
            for (int i = 0; i < w.Length; i++) (r[i] - p[i]).ShouldBe(-lr * term(w[i]), 1e-6f, $"{name}[{i}]");
        }

        var plain = Run(new TrainingOptions { Epochs = 1, BatchSize = 8 });
        T(plain, "conv1.weight").ShouldNotBe(T(w0, "conv1.weight"));

        var withL2 = Run(new TrainingOptions { Epochs = 1, BatchSize = 8, L2 = l2 });
        Moved(withL2, plain, "conv1.weight", w => l2 * w);
        Moved(withL2, plain, "dense2.weight", w => l2 * w);
        T(withL2, "conv1.bias").ShouldBe(T(plain, "conv1.bias"));          // biases carry no penalty
        T(withL2, "dense1.weight").ShouldBe(T(w0, "dense1.weight"));       // frozen in this stage: its penalty moves nothing

        var perLayer = Run(new TrainingOptions { Epochs = 1, BatchSize = 8, L2 = l2, LayerRegularization = new Dictionary<string, (float, float)> { ["conv1"] = (l1, 0f) } });
        Moved(perLayer, plain, "conv1.weight", w => l1 * MathF.Sign(w));
        Moved(perLayer, plain, "dense2.weight", w => l2 * w);

        var withL1 = Run(new TrainingOptions { Epochs = 1, BatchSize = 8, L1 = l1 });
        Moved(withL1, plain, "dense2.weight", w => l1 * MathF.Sign(w));

        // Multipliers apply to the layers a stage trains; dense1's entry is dropped while it is frozen.
        var halved = Run(new TrainingOptions { Epochs = 1, BatchSize = 8, LayerLearningRates = new Dictionary<string, float> { ["conv1"] = 0.5f, ["dense1"] = 2f } });
        var (h, p1, s0) = (T(halved, "conv1.weight"), T(plain, "conv1.weight"), T(w0, "conv1.weight"));
        for (int i = 0; i < s0.Length; i++) (h[i] - s0[i]).ShouldBe(0.5f * (p1[i] - s0[i]), 1e-6f);
        T(halved, "dense2.weight").ShouldBe(T(plain, "dense2.weight"));
        T(halved, "dense1.weight").ShouldBe(T(w0, "dense1.weight"));

        // FrozenLayers stay frozen in every stage; a stage may not train one.
        var frozen = Run(new TrainingOptions { Epochs = 1, BatchSize = 8, FrozenLayers = ["dense2"] }, ["conv1", "dense1"]);
        T(frozen, "dense2.weight").ShouldBe(T(w0, "dense2.weight"));
        T(frozen, "dense1.weight").ShouldNotBe(T(w0, "dense1.weight"));
        Should.Throw<ArgumentException>(() => Run(new TrainingOptions { Epochs = 1, BatchSize = 8, FrozenLayers = ["dense2"] }))
            .Message.ShouldContain("stage 0 trains 'dense2', which options.FrozenLayers freezes");
        Should.Throw<ArgumentException>(() => Run(new TrainingOptions { Epochs = 1, BatchSize = 8, Checkpoints = new CheckpointOptions { Directory = "unused" } }))
            .Message.ShouldContain("Checkpoints and ResumeFrom belong to a single fit");
    }
}
