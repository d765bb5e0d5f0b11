using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tests.Training;
using NetDsl.Tools;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

public class PretrainingTests
{
    static float[] Tensor(INetwork net, string name)
    {
        var t = net.ParameterTensors.ToArray().Single(p => p.Name == name);
        return net.Parameters.Slice(t.Offset, t.Length).ToArray();
    }

    /// <summary>Images of two Gaussian blobs each (smooth, so an autoencoder with a 2× bottleneck can learn them).</summary>
    static float[] Blobs(int count, int channels, int size, ulong seed)
    {
        var rng = new Rng(seed);
        var pixels = new float[count * channels * size * size];
        for (int n = 0; n < count; n++)
            for (int b = 0; b < 2; b++)
            {
                double cy = rng.NextFloat() * size, cx = rng.NextFloat() * size, r = 1 + 1.5 * rng.NextFloat();
                for (int c = 0; c < channels; c++)
                {
                    double amplitude = 0.3 + 0.7 * rng.NextFloat();
                    for (int y = 0; y < size; y++)
                        for (int x = 0; x < size; x++)
                            pixels[((n * channels + c) * size + y) * size + x] += (float)(amplitude * Math.Exp(-((y - cy) * (y - cy) + (x - cx) * (x - cx)) / (2 * r * r)));
                }
            }
        return pixels;
    }

    /// <summary>The definition: mean over every sample and element of (network(x) − x)², summed in double.</summary>
    static double ReconstructionMse(INetwork net, float[] inputs)
    {
        int count = inputs.Length / net.InputSize;
        double sum = 0;
        for (int i = 0; i < count; i++)
        {
            var x = inputs.AsSpan(i * net.InputSize, net.InputSize);
            var y = net.Forward(x, 1);
            for (int j = 0; j < x.Length; j++) sum += (double)(y[j] - x[j]) * (y[j] - x[j]);
        }
        return sum / ((double)count * net.InputSize);
    }

    [Fact]
    public void AnAutoencoderStageLearnsToReconstructItsInput()
    {
        var images = Blobs(64, 1, 8, 11);
        var validation = Blobs(32, 1, 8, 12);
        using var classifier = new PreClassifier(16, seed: 1, workers: 1);
        using var ae = new PreAutoencoder1(16, seed: 2, workers: 1);
        double before = ReconstructionMse(ae, validation);
        var stages = Pretraining.GreedyAutoencoders(classifier, [ae], images, validation, () => new Adam(0.01f),
            new TrainingOptions { Epochs = 30, BatchSize = 16 });
        var reports = stages.ShouldHaveSingleItem().Reports;
        reports.Count.ShouldBe(30);
        reports[^1].TrainLoss.ShouldBeLessThan(reports[0].TrainLoss);
        double after = ReconstructionMse(ae, validation);
        // The reported test loss is the reconstruction error of the held-out images: the target is the input itself.
        reports[^1].TestLoss.ShouldBe(after, after * 1e-5);
        after.ShouldBeLessThan(0.3 * before);
    }

    [Fact]
    public void TheAutoencodersEncoderAndDecoderGradientsMatchFiniteDifferences()
    {
        using var ae = new SmoothAutoencoder(4, seed: 5, workers: 1);
        var x = ScheduleTests.RandomImages(4, 2, 6, 6, 1, 21).Pixels;
        var report = GradientCheck.Run(ae, x, x, 4, new MeanSquaredError(), new GradientCheckOptions { SamplesPerTensor = 40 });
        report.Passed.ShouldBeTrue(report.ToString());
        report.Layers.Select(l => l.Layer).ShouldBe(new[] { "conv1", "deconv1" });
        report.Layers.ShouldAllBe(l => l.Checked > 0);

        // By hand: the decoder's bias gradient is the sum over its output channel of dL/dy = 2(y − x)/(N·C·H·W).
        var y = ae.Forward(x, 4, training: true).ToArray();
        var grad = new float[y.Length];
        for (int i = 0; i < y.Length; i++) grad[i] = 2f * (y[i] - x[i]) / y.Length;
        ae.ZeroGradients();
        ae.Backward(grad, 4);
        var bias = ae.ParameterTensors.ToArray().Single(t => t.Name == "deconv1.bias");
        for (int c = 0; c < 2; c++)
        {
            double expected = 0;
            for (int n = 0; n < 4; n++)
                for (int i = 0; i < 36; i++) expected += grad[(n * 2 + c) * 36 + i];
            ((double)ae.Gradients[bias.Offset + c]).ShouldBe(expected, 1e-6);
        }
    }

    [Fact]
    public void GreedyStagesCopyEachEncoderIntoTheClassifierAndFeedTheNextStageTheFrozenOutput()
    {
        var images = Blobs(48, 1, 8, 31);
        var validation = Blobs(16, 1, 8, 32);
        using var classifier = new PreClassifier(16, seed: 1, workers: 1);
        using var ae1 = new PreAutoencoder1(16, seed: 2, workers: 1);
        using var ae2 = new PreAutoencoder2(16, seed: 3, workers: 1);
        var head = Tensor(classifier, "dense1.weight");
        var conv1Before = Tensor(classifier, "conv1.weight");
        var stages = Pretraining.GreedyAutoencoders(classifier, [ae1, ae2], images, validation, () => new Sgd(0.05f, momentum: 0.9f),
            new TrainingOptions { Epochs = 3, BatchSize = 16 });

        stages.Count.ShouldBe(2);
        stages[0].Layers.ShouldBe(new[] { "conv1" });
        stages[0].TemporaryLayers.ShouldBe(new[] { "deconv1" });
        stages[1].Layers.ShouldBe(new[] { "conv2" });
        stages[1].TemporaryLayers.ShouldBe(new[] { "deconv1" });
        Tensor(classifier, "conv1.weight").ShouldBe(Tensor(ae1, "conv1.weight"));
        Tensor(classifier, "conv1.bias").ShouldBe(Tensor(ae1, "conv1.bias"));
        Tensor(classifier, "conv2.weight").ShouldBe(Tensor(ae2, "conv2.weight"));
        Tensor(classifier, "conv2.bias").ShouldBe(Tensor(ae2, "conv2.bias"));
        Tensor(classifier, "conv1.weight").ShouldNotBe(conv1Before);
        Tensor(classifier, "dense1.weight").ShouldBe(head);

        // Stage 2 reconstructs pool1's output (layer 2) computed with stage 1's conv1: its reported test loss is that error.
        classifier.Layers[2].Name.ShouldBe("pool1");
        var features = new float[16 * 48];
        for (int i = 0; i < 16; i++)
        {
            classifier.Forward(validation.AsSpan(i * 64, 64), 1);
            classifier.LayerOutput(2).CopyTo(features.AsSpan(i * 48));
        }
        double expected = ReconstructionMse(ae2, features);
        stages[1].Reports[^1].TestLoss.ShouldBe(expected, expected * 1e-5);
    }

    [Fact]
    public void ADenoisingStageCorruptsOnlyItsOwnInputAndStillCopiesItsEncoder()
    {
        var images = Blobs(64, 1, 8, 61);
        var validation = Blobs(16, 1, 8, 62);
        using var classifier = new PreClassifier(16, seed: 1, workers: 1);
        using var ae = new PreDenoisingAutoencoder1(16, seed: 2, workers: 1);
        double before = ReconstructionMse(ae, validation); // inference mode: no dropout
        var stage = Pretraining.GreedyAutoencoders(classifier, [ae], images, validation, () => new Adam(0.01f),
            new TrainingOptions { Epochs = 20, BatchSize = 16 }).ShouldHaveSingleItem();
        stage.Layers.ShouldBe(new[] { "conv1" });
        stage.TemporaryLayers.ShouldBe(new[] { "deconv1" });
        Tensor(classifier, "conv1.weight").ShouldBe(Tensor(ae, "conv1.weight"));
        // Trained on corrupted inputs against the clean ones; evaluated (inference mode) without corruption.
        double after = ReconstructionMse(ae, validation);
        stage.Reports[^1].TestLoss.ShouldBe(after, after * 1e-5);
        after.ShouldBeLessThan(0.5 * before);
    }

    [Fact]
    public void GreedyAutoencodersRefuseMismatchedStages()
    {
        var images = Blobs(8, 1, 8, 41);
        using var classifier = new PreClassifier(8, seed: 1, workers: 1);
        using var wrong = new PreAutoencoderWrongConv2(8, seed: 2, workers: 1);
        Should.Throw<ArgumentException>(() => Pretraining.GreedyAutoencoders(classifier, [wrong], images, null, () => new Sgd(0.1f), new TrainingOptions()))
            .Message.ShouldContain("its layer 'conv2' (Conv2D 3×4×4 → 4×4×4");
        using var notAutoencoder = new PreGrow1(8, seed: 2, workers: 1);
        Should.Throw<ArgumentException>(() => Pretraining.GreedyAutoencoders(classifier, [notAutoencoder], images, null, () => new Sgd(0.1f), new TrainingOptions()))
            .Message.ShouldContain("autoencoder 0 (PreGrow1) must reconstruct its 1×8×8 input, but its output is 3×1×1");
        using var ae = new PreAutoencoder1(8, seed: 2, workers: 1);
        Should.Throw<ArgumentException>(() => Pretraining.GreedyAutoencoders(classifier, [ae], images, null, () => new Sgd(0.1f),
            new TrainingOptions { LayerRegularization = new System.Collections.Generic.Dictionary<string, (float, float)> { ["cnov1"] = (0f, 0.1f) } }))
            .Message.ShouldContain("options.LayerRegularization names 'cnov1', which is not a layer with parameters");
        Should.Throw<ArgumentException>(() => Pretraining.GreedyAutoencoders(classifier, [ae], images, null, () => new Sgd(0.1f),
            new TrainingOptions { ResumeFrom = "somewhere" })).Message.ShouldContain("Checkpoints and ResumeFrom belong to a single fit");
        Should.Throw<ArgumentException>(() => Pretraining.GreedyAutoencoders(classifier, [ae], new float[100], null, () => new Sgd(0.1f), new TrainingOptions()))
            .Message.ShouldContain("images has 100 floats, expected a positive multiple of the classifier's input size 64");
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void GrowingStagesTrainEachNewLayerWithATemporaryHeadAndHandTheLayersToTheClassifier(bool freeze)
    {
        var data = ScheduleTests.RandomImages(24, 1, 8, 8, 3, 51);
        using var classifier = new PreClassifier(8, seed: 1, workers: 1);
        using var grow1 = new PreGrow1(8, seed: 2, workers: 1);
        using var grow2 = new PreGrow2(8, seed: 3, workers: 1);
        var head = Tensor(classifier, "dense1.weight");
        var conv1Initial = Tensor(grow1, "conv1.weight");
        var conv2Initial = Tensor(grow2, "conv2.weight");
        float[]? conv1AfterStage1 = null;
        var stages = Pretraining.GrowSupervised(classifier, [grow1, grow2], data, null, new SoftmaxCrossEntropy(), () => new Sgd(0.1f, momentum: 0.9f),
            new TrainingOptions { Epochs = 2, BatchSize = 8, OnEpoch = r => conv1AfterStage1 ??= Tensor(grow1, "conv1.weight") }, freeze);

        stages[0].Layers.ShouldBe(new[] { "conv1" });
        stages[0].TemporaryLayers.ShouldBe(new[] { "head1" });
        stages[0].FrozenLayers.ShouldBeEmpty();
        stages[1].Layers.ShouldBe(new[] { "conv1", "conv2" });
        stages[1].TemporaryLayers.ShouldBe(new[] { "head2" });
        stages[1].FrozenLayers.ShouldBe(freeze ? new[] { "conv1" } : []);
        stages.ShouldAllBe(s => s.Reports.Count == 2);

        var conv1Stage1 = Tensor(grow1, "conv1.weight");
        conv1Stage1.ShouldNotBe(conv1Initial);
        conv1AfterStage1.ShouldNotBeNull();
        Tensor(grow2, "conv2.weight").ShouldNotBe(conv2Initial);
        if (freeze) Tensor(grow2, "conv1.weight").ShouldBe(conv1Stage1); // copied in, then kept fixed
        else Tensor(grow2, "conv1.weight").ShouldNotBe(conv1Stage1);
        Tensor(classifier, "conv1.weight").ShouldBe(Tensor(grow2, "conv1.weight"));
        Tensor(classifier, "conv1.bias").ShouldBe(Tensor(grow2, "conv1.bias"));
        Tensor(classifier, "conv2.weight").ShouldBe(Tensor(grow2, "conv2.weight"));
        Tensor(classifier, "conv2.bias").ShouldBe(Tensor(grow2, "conv2.bias"));
        Tensor(classifier, "dense1.weight").ShouldBe(head); // the heads were temporary
    }

    [Fact]
    public void GrowingStagesMustEachAddALayerAndKeepTheEarlierOnes()
    {
        var data = ScheduleTests.RandomImages(8, 1, 8, 8, 3, 52);
        using var classifier = new PreClassifier(8, seed: 1, workers: 1);
        using var grow1 = new PreGrow1(8, seed: 2, workers: 1);
        using var grow2 = new PreGrow2(8, seed: 3, workers: 1);
        var options = new TrainingOptions { Epochs = 1, BatchSize = 8 };
        Should.Throw<ArgumentException>(() => Pretraining.GrowSupervised(classifier, [grow2, grow1], data, null, new SoftmaxCrossEntropy(), () => new Sgd(0.1f), options))
            .Message.ShouldContain("stage 1 (PreGrow1) lacks 'conv2', trained by an earlier stage");
        Should.Throw<ArgumentException>(() => Pretraining.GrowSupervised(classifier, [grow1, grow1], data, null, new SoftmaxCrossEntropy(), () => new Sgd(0.1f), options))
            .Message.ShouldContain("stage 1 (PreGrow1) adds no layer of the classifier's to those trained before (conv1)");
    }

    [Fact]
    public void EachStageGetsTheRegularizationOfItsLayers()
    {
        // One full-batch SGD step per stage: L2 adds λ·w to the gradient and L1 adds l1·sign(w), so from the same start w0
        // the regularized weight ends lr·λ·w0 (or lr·l1·sign(w0)) lower than the plain one.
        var data = ScheduleTests.RandomImages(16, 1, 8, 8, 3, 53);
        const float lr = 0.1f, l2 = 0.2f, l1 = 0.05f;
        (float[] Conv1, float[] Head1, float[] Conv2, float[] Head2) Run(float globalL2, System.Collections.Generic.Dictionary<string, (float, float)>? perLayer)
        {
            using var classifier = new PreClassifier(16, seed: 1, workers: 1);
            using var grow1 = new PreGrow1(16, seed: 2, workers: 1);
            using var grow2 = new PreGrow2(16, seed: 3, workers: 1);
            Pretraining.GrowSupervised(classifier, [grow1, grow2], data, null, new SoftmaxCrossEntropy(), () => new Sgd(lr),
                new TrainingOptions { Epochs = 1, BatchSize = 16, L2 = globalL2, LayerRegularization = perLayer });
            return (Tensor(grow1, "conv1.weight"), Tensor(grow1, "head1.weight"), Tensor(grow2, "conv2.weight"), Tensor(grow2, "head2.weight"));
        }
        var plain = Run(0, null);
        var global = Run(l2, null);
        using var start1 = new PreGrow1(16, seed: 2, workers: 1);
        using var start2 = new PreGrow2(16, seed: 3, workers: 1);
        void Decayed(float[] regularized, float[] unregularized, float[] w0, Func<float, float> term)
        {
            for (int i = 0; i < w0.Length; i++) (regularized[i] - unregularized[i]).ShouldBe(-lr * term(w0[i]), 1e-6f);
        }
        Decayed(global.Conv1, plain.Conv1, Tensor(start1, "conv1.weight"), w => l2 * w);
        Decayed(global.Head1, plain.Head1, Tensor(start1, "head1.weight"), w => l2 * w);

        // Per-layer entries for stage-2 layers only: stage 1 is untouched (no entry applies there, none is refused), and
        // stage 2 starts from the same frozen conv1 in both runs.
        var perLayer = Run(0, new() { ["conv2"] = (0f, l2), ["head2"] = (l1, 0f) });
        perLayer.Conv1.ShouldBe(plain.Conv1);
        perLayer.Head1.ShouldBe(plain.Head1);
        Decayed(perLayer.Conv2, plain.Conv2, Tensor(start2, "conv2.weight"), w => l2 * w);
        Decayed(perLayer.Head2, plain.Head2, Tensor(start2, "head2.weight"), w => l1 * MathF.Sign(w));
    }
}
