using System;
using System.Linq;
using NetDsl.Tests.Infrastructure;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Hand-computed cases and error paths for the losses, the regulariser and the accuracy metric.</summary>
public class LossTests
{
    static readonly float Ln2 = MathF.Log(2);

    static float[] Grad(int n) => new float[n];

    [Fact]
    public void Cross_entropy_hand_computed()
    {
        // Row 0: softmax [.5,.5], label 0 → ln2. Row 1: logits [ln3, 0] → p = [.75,.25], label 1 → ln4.
        float[] x = [0, 0, MathF.Log(3), 0];
        var g = Grad(4);
        float loss = new SoftmaxCrossEntropy().Compute(x, [0, 1], 2, 2, g);
        loss.ShouldBe(1.5f * Ln2, 1e-6f);
        Close.All([-0.25f, 0.25f, 0.375f, -0.375f], g, "ce grad");

        // Weights [1,3]: divide by Σ w[label] = 4.
        loss = new SoftmaxCrossEntropy([1f, 3f]).Compute(x, [0, 1], 2, 2, g);
        loss.ShouldBe((Ln2 + 3 * 2 * Ln2) / 4, 1e-6f);
        Close.All([-0.125f, 0.125f, 0.5625f, -0.5625f], g, "weighted ce grad");
    }

    [Fact]
    public void Cross_entropy_is_stable_for_huge_logits()
    {
        var g = Grad(4);
        float loss = new SoftmaxCrossEntropy().Compute([1000f, 0f, -1000f, 1000f], [1, 0], 2, 2, g);
        loss.ShouldBe(1500f);
        Close.All([0.5f, -0.5f, -0.5f, 0.5f], g, "saturated grad");
    }

    [Fact]
    public void Cross_entropy_soft_targets()
    {
        float[] x = [0, 0, MathF.Log(3), 0];
        var g = Grad(4);
        var ce = new SoftmaxCrossEntropy();
        // One-hot targets give exactly the labels result.
        float soft = ce.Compute(x, [1f, 0f, 0f, 1f], 2, 2, g);
        var g2 = Grad(4);
        soft.ShouldBe(ce.Compute(x, [0, 1], 2, 2, g2), 1e-6f);
        Close.All(g2, g, "one-hot soft grad");
        // Targets equal to the softmax: loss = entropy, gradient 0.
        float loss = ce.Compute(x, [0.5f, 0.5f, 0.75f, 0.25f], 2, 2, g);
        double h1 = Math.Log(2), h2 = -(0.75 * Math.Log(0.75) + 0.25 * Math.Log(0.25));
        loss.ShouldBe((float)((h1 + h2) / 2), 1e-6f);
        Close.All(new float[4], g, "soft grad at optimum");
    }

    [Fact]
    public void Mse_and_sse_hand_computed()
    {
        float[] y = [1, 2, 3, 4];
        float[] t = new float[4];
        var g = Grad(4);
        new MeanSquaredError().Compute(y, t, 2, 2, g).ShouldBe(7.5f);
        Close.All([0.5f, 1f, 1.5f, 2f], g, "mse grad");
        new SumSquaredError().Compute(y, t, 2, 2, g).ShouldBe(30f);
        Close.All([2f, 4f, 6f, 8f], g, "sse grad");

        // Labels → one-hot targets.
        new MeanSquaredError().Compute([1f, 0f, 0.5f, 0.5f], [0, 1], 2, 2, g).ShouldBe(0.125f);
        Close.All([0f, 0f, 0.25f, -0.25f], g, "mse labels grad");
        new SumSquaredError().Compute([1f, 0f, 0.5f, 0.5f], [0, 1], 2, 2, g).ShouldBe(0.5f);
        Close.All([0f, 0f, 1f, -1f], g, "sse labels grad");
    }

    [Fact]
    public void Mse_vector_path_matches_scalar_formula()
    {
        var rng = new Random(5);
        int n = 3, k = 37;
        var y = Enumerable.Range(0, n * k).Select(_ => (float)rng.NextDouble() * 4 - 2).ToArray();
        var t = Enumerable.Range(0, n * k).Select(_ => (float)rng.NextDouble() * 4 - 2).ToArray();
        var g = Grad(n * k);
        float loss = new MeanSquaredError().Compute(y, t, n, k, g);
        double want = y.Zip(t, (a, b) => (double)(a - b) * (a - b)).Sum() / (n * k);
        loss.ShouldBe((float)want, 1e-6f);
        Close.All(y.Zip(t, (a, b) => 2 * (a - b) / (n * k)).ToArray(), g, "mse grad");
    }

    [Fact]
    public void Bce_with_logits_hand_computed_and_stable()
    {
        var g = Grad(4);
        // x=0,t=1 → ln2; x=100,t=0 → 100; x=−100,t=1 → 100; x=0,t=0.5 → ln2. Mean over 4.
        float loss = new BinaryCrossEntropyWithLogits().Compute([0f, 100f, -100f, 0f], [1f, 0f, 1f, 0.5f], 2, 2, g);
        loss.ShouldBe((2 * Ln2 + 200) / 4, 1e-4f);
        Close.All([-0.125f, 0.25f, -0.25f, 0f], g, "bce grad");

        // pos_weight 3 on feature 0: x=0,t=1 → 3·ln2, grad −3·σ(0) = −1.5.
        var g1 = Grad(2);
        loss = new BinaryCrossEntropyWithLogits([3f, 1f]).Compute([0f, 0f], [1f, 0f], 1, 2, g1);
        loss.ShouldBe((3 * Ln2 + Ln2) / 2, 1e-6f);
        Close.All([-0.75f, 0.25f], g1, "bce pos_weight grad");

        // Labels → one-hot.
        loss = new BinaryCrossEntropyWithLogits().Compute([0f, 0f], [1], 1, 2, g1);
        loss.ShouldBe(Ln2, 1e-6f);
        Close.All([0.25f, -0.25f], g1, "bce labels grad");
    }

    [Fact]
    public void Nll_hand_computed()
    {
        var g = Grad(6);
        float loss = new NegativeLogLikelihood().Compute([-1f, -2f, -3f, -0.5f, -1.5f, -2.5f], [2, 0], 2, 3, g);
        loss.ShouldBe(1.75f);
        Close.All([0, 0, -0.5f, -0.5f, 0, 0], g, "nll grad");

        loss = new NegativeLogLikelihood([1f, 1f, 3f]).Compute([-1f, -2f, -3f, -0.5f, -1.5f, -2.5f], [2, 0], 2, 3, g);
        loss.ShouldBe((9f + 0.5f) / 4);
        Close.All([0, 0, -0.75f, -0.25f, 0, 0], g, "weighted nll grad");

        // Soft targets: mean over the batch of −Σ t·logp.
        loss = new NegativeLogLikelihood().Compute([-1f, -2f, -3f, -0.5f, -1.5f, -2.5f], [0.5f, 0.5f, 0, 0, 0, 1], 2, 3, g);
        loss.ShouldBe((1.5f + 2.5f) / 2);
        Close.All([-0.25f, -0.25f, 0, 0, 0, -0.5f], g, "soft nll grad");
    }

    [Fact]
    public void Multi_margin_hand_computed()
    {
        float[] x = [1f, 0.5f, 2f];
        var g = Grad(3);
        // p=1: terms 0.5 and 2, divided by C=3.
        new MultiMarginLoss().Compute(x, [0], 1, 3, g).ShouldBe(2.5f / 3, 1e-6f);
        Close.All([-2f / 3, 1f / 3, 1f / 3], g, "margin p1 grad");
        // p=2: terms 0.25 and 4.
        new MultiMarginLoss(2).Compute(x, [0], 1, 3, g).ShouldBe(4.25f / 3, 1e-6f);
        Close.All([-5f / 3, 1f / 3, 4f / 3], g, "margin p2 grad");
        // Exactly on the margin (z = 0): no loss and no gradient, as PyTorch's strict z > 0.
        new MultiMarginLoss().Compute([1f, 0f], [0], 1, 2, g.AsSpan(0, 2)).ShouldBe(0f);
        g[0].ShouldBe(0f);
        g[1].ShouldBe(0f);
        // Class weight of the target scales its row; margin 2.
        new MultiMarginLoss(1, 2f, [1f, 4f]).Compute([0f, 0f], [1], 1, 2, g.AsSpan(0, 2)).ShouldBe(4f);
    }

    [Fact]
    public void Regularization_hand_computed()
    {
        float[] w = [1f, -2f, 0f, 0.5f];
        float[] g = [1f, 1f, 1f, 1f];
        float reg = Regularization.Apply(w, g, l1: 0.1f, l2: 0.2f);
        reg.ShouldBe(0.875f, 1e-6f);
        Close.All([1.3f, 0.5f, 1f, 1.2f], g, "reg grad");
        Regularization.Apply(w, g, 0.1f, 0.2f, out float l2, out float l1).ShouldBe(0.875f, 1e-6f);
        l2.ShouldBe(0.525f, 1e-6f);
        l1.ShouldBe(0.35f, 1e-6f);
    }

    [Fact]
    public void Regularization_vector_path_matches_scalar_formula()
    {
        var rng = new Random(3);
        var w = Enumerable.Range(0, 45).Select(i => i % 7 == 0 ? 0f : (float)rng.NextDouble() * 2 - 1).ToArray();
        var g = new float[w.Length];
        float reg = Regularization.Apply(w, g, 0.01f, 0.3f);
        double want = 0.5 * 0.3f * w.Sum(v => (double)v * v) + 0.01f * w.Sum(v => Math.Abs((double)v));
        reg.ShouldBe((float)want, 1e-6f);
        Close.All(w.Select(v => 0.3f * v + 0.01f * MathF.Sign(v)).ToArray(), g, "reg grad");
    }

    [Fact]
    public void Count_correct_uses_first_max_on_ties()
    {
        float[] o = [0.1f, 0.9f, 0.0f, 0.5f, 0.5f, 0.2f, 0.3f, 0.3f, 0.3f];
        Metrics.CountCorrect(o, [1, 0, 0], 3, 3).ShouldBe(3);
        Metrics.CountCorrect(o, [1, 1, 2], 3, 3).ShouldBe(1);
    }

    [Fact]
    public void Losses_do_not_allocate()
    {
        var rng = new Random(1);
        var x = Enumerable.Range(0, 64 * 10).Select(_ => (float)rng.NextDouble()).ToArray();
        var t = new float[x.Length];
        var labels = Enumerable.Range(0, 64).Select(i => i % 10).ToArray();
        var g = new float[x.Length];
        Loss[] losses = [new SoftmaxCrossEntropy(), new MeanSquaredError(), new SumSquaredError(), new BinaryCrossEntropyWithLogits(), new NegativeLogLikelihood(), new MultiMarginLoss()];
        foreach (var l in losses) l.Compute(x, labels, 64, 10, g);
        long before = GC.GetAllocatedBytesForCurrentThread();
        foreach (var l in losses) l.Compute(x, labels, 64, 10, g);
        Regularization.Apply(x, g, 0.1f, 0.1f);
        Metrics.CountCorrect(x, labels, 64, 10);
        (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0);
    }

    // ---- Error paths ----

    public static TheoryData<string> LabelLosses => new() { "ce", "mse", "sse", "bce", "nll", "margin" };

    static Loss Make(string name) => name switch
    {
        "ce" => new SoftmaxCrossEntropy(),
        "mse" => new MeanSquaredError(),
        "sse" => new SumSquaredError(),
        "bce" => new BinaryCrossEntropyWithLogits(),
        "nll" => new NegativeLogLikelihood(),
        "margin" => new MultiMarginLoss(),
        _ => throw new ArgumentException(name),
    };

    [Theory]
    [MemberData(nameof(LabelLosses))]
    public void Label_out_of_range_names_label_index_and_classes(string loss)
    {
        var x = new float[5 * 10];
        var ex = Should.Throw<ArgumentOutOfRangeException>(() => Make(loss).Compute(x, [0, 1, 2, 12, 4], 5, 10, new float[50]));
        ex.Message.ShouldContain("label 12 at index 3 is out of range for 10 classes");
        ex = Should.Throw<ArgumentOutOfRangeException>(() => Make(loss).Compute(x, [0, -1, 2, 3, 4], 5, 10, new float[50]));
        ex.Message.ShouldContain("label -1 at index 1 is out of range for 10 classes");
    }

    [Theory]
    [MemberData(nameof(LabelLosses))]
    public void Wrong_lengths_say_expected_and_actual(string loss)
    {
        var l = Make(loss);
        Should.Throw<ArgumentException>(() => l.Compute(new float[5], [0, 1], 2, 3, new float[6]))
            .Message.ShouldContain("output has length 5, expected batch*features = 2*3 = 6");
        Should.Throw<ArgumentException>(() => l.Compute(new float[6], [0, 1], 2, 3, new float[7]))
            .Message.ShouldContain("outputGradient has length 7, expected batch*features = 2*3 = 6");
        Should.Throw<ArgumentException>(() => l.Compute(new float[6], [0, 1, 2], 2, 3, new float[6]))
            .Message.ShouldContain("labels has length 3, expected batch = 2");
        Should.Throw<ArgumentOutOfRangeException>(() => l.Compute(new float[6], [0, 1], 0, 3, new float[6]))
            .Message.ShouldContain("batch must be positive, got 0");
        if (l is not MultiMarginLoss)
            Should.Throw<ArgumentException>(() => l.Compute(new float[6], new float[4], 2, 3, new float[6]))
                .Message.ShouldContain("targets has length 4, expected batch*features = 2*3 = 6");
    }

    [Fact]
    public void Bad_loss_configuration_throws()
    {
        Should.Throw<ArgumentOutOfRangeException>(() => new MultiMarginLoss(3)).Message.ShouldContain("p must be 1 or 2, got 3");
        Should.Throw<NotSupportedException>(() => new MultiMarginLoss().Compute(new float[2], new float[2], 1, 2, new float[2]));
        Should.Throw<ArgumentOutOfRangeException>(() => new SoftmaxCrossEntropy([1f, -0.5f])).Message.ShouldContain("classWeights[1] must be finite and >= 0, got -0.5");
        Should.Throw<ArgumentException>(() => new SoftmaxCrossEntropy([1f, 2f]).Compute(new float[3], [0], 1, 3, new float[3]))
            .Message.ShouldContain("classWeights has length 2, expected one weight per class = 3");
        Should.Throw<ArgumentException>(() => new NegativeLogLikelihood([1f]).Compute(new float[3], [0], 1, 3, new float[3]))
            .Message.ShouldContain("classWeights has length 1, expected one weight per class = 3");
        Should.Throw<ArgumentException>(() => new BinaryCrossEntropyWithLogits([1f]).Compute(new float[3], new float[3], 1, 3, new float[3]))
            .Message.ShouldContain("posWeight has length 1, expected one weight per feature = 3");
        Should.Throw<ArgumentOutOfRangeException>(() => Regularization.Apply(new float[2], new float[2], -1f, 0f)).Message.ShouldContain("l1 must be finite and >= 0, got -1");
        Should.Throw<ArgumentOutOfRangeException>(() => Regularization.Apply(new float[2], new float[2], 0f, float.NaN)).Message.ShouldContain("l2 must be finite and >= 0, got NaN");
        Should.Throw<ArgumentException>(() => Regularization.Apply(new float[2], new float[3], 0f, 0f)).Message.ShouldContain("gradients has length 3, expected the weights' length 2");
        Should.Throw<ArgumentOutOfRangeException>(() => Metrics.CountCorrect(new float[4], [0, 2], 2, 2)).Message.ShouldContain("label 2 at index 1 is out of range for 2 classes");
        Should.Throw<ArgumentException>(() => Metrics.CountCorrect(new float[3], [0, 1], 2, 2)).Message.ShouldContain("output has length 3, expected batch*features = 2*2 = 4");
    }
}
