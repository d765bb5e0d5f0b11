using System;
using System.Linq;
using NetDsl.Tests.Infrastructure;
using NetDsl.Training;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Training;

/// <summary>Hand-computed steps, PyTorch's traps, the vector paths, state handling and error paths of the optimizers.</summary>
public class OptimizerTests
{
    [Fact]
    public void Sgd_momentum_first_step_is_not_dampened_then_is()
    {
        var o = new Sgd(0.1f, momentum: 0.5f, dampening: 0.5f);
        float[] p = [1f];
        o.Step(p, [2f]);
        o.MomentumBuffer[0].ShouldBe(2f);
        p[0].ShouldBe(0.8f, 1e-7f);
        o.Step(p, [2f]);
        o.MomentumBuffer[0].ShouldBe(2f); // 0.5·2 + (1 − 0.5)·2
        p[0].ShouldBe(0.6f, 1e-7f);
    }

    [Fact]
    public void Sgd_nesterov_and_weight_decay()
    {
        var o = new Sgd(0.1f, momentum: 0.9f, nesterov: true, weightDecay: 0.5f);
        float[] p = [2f];
        o.Step(p, [1f]);         // d = 1 + 0.5·2 = 2; buf = 2; step = d + 0.9·buf = 3.8
        p[0].ShouldBe(1.62f, 1e-6f);
        o.Step(p, [0f]);         // d = 0.81; buf = 1.8 + 0.81 = 2.61; step = 0.81 + 2.349 = 3.159
        o.MomentumBuffer[0].ShouldBe(2.61f, 1e-6f);
        p[0].ShouldBe(1.62f - 0.3159f, 1e-6f);
    }

    [Fact]
    public void Adam_first_step_moves_by_lr_and_eps_is_added_after_bias_correction()
    {
        // Step 1: m̂ = g, v̂ = g² ⇒ step = lr·g/(|g| + eps) ≈ lr·sign(g).
        var o = new Adam(0.01f);
        float[] p = [1f, 1f];
        o.Step(p, [3f, -0.5f]);
        Close.All([0.99f, 1.01f], p, "adam step 1");
        // A big eps shows where it is added: PyTorch divides by √v/√bc2 + eps, not √v + eps.
        var big = new Adam(1f, eps: 1f);
        float[] q = [0f];
        big.Step(q, [1f]);
        q[0].ShouldBe(-0.5f, 1e-6f);
    }

    [Fact]
    public void Adam_amsgrad_keeps_the_max_second_moment()
    {
        var o = new Adam(0.1f, beta2: 0.5f, amsgrad: true);
        float[] p = [0f];
        o.Step(p, [2f]);
        o.MaxExpAvgSq[0].ShouldBe(2f);    // v = 0.5·4
        o.Step(p, [0f]);
        o.ExpAvgSq[0].ShouldBe(1f);
        o.MaxExpAvgSq[0].ShouldBe(2f);
        // Step 2 by hand: m = 0.9·0.2 = 0.18, bc1 = 0.19, bc2 = 0.75; denom = √2/√0.75 + 1e-8.
        float want = -0.1f - 0.1f / 0.19f * 0.18f / (MathF.Sqrt(2f) / MathF.Sqrt(0.75f) + 1e-8f);
        p[0].ShouldBe(want, 1e-6f);
    }

    [Fact]
    public void AdamW_decays_before_the_adam_step()
    {
        var w = new AdamW(0.1f, weightDecay: 0.5f);
        var a = new Adam(0.1f);
        float[] pw = [2f], pa = [2f * (1 - 0.1f * 0.5f)];
        w.Step(pw, [1f]);
        a.Step(pa, [1f]);
        pw[0].ShouldBe(pa[0], 1e-6f);
        new AdamW().WeightDecay.ShouldBe(0.01f);
    }

    [Fact]
    public void Adagrad_lr_decay_initial_accumulator_and_eps_outside_sqrt()
    {
        var o = new Adagrad(1f, lrDecay: 1f, initialAccumulatorValue: 3f, eps: 1f);
        float[] p = [0f];
        o.Step(p, [1f]);            // sum = 4; clr = 1; step = 1/(2 + 1)
        o.Sum[0].ShouldBe(4f);
        p[0].ShouldBe(-1f / 3, 1e-6f);
        o.Step(p, [0f]);            // g = 0 ⇒ no move, clr = 1/2
        o.Step(p, [5f]);            // sum = 29; clr = 1/3; step = 5/(√29 + 1)/3
        p[0].ShouldBe(-1f / 3 - 5f / (MathF.Sqrt(29f) + 1f) / 3, 1e-6f);
    }

    [Fact]
    public void Adadelta_eps_inside_both_roots()
    {
        var o = new Adadelta(1f, rho: 0.5f, eps: 0.01f);
        float[] p = [0f];
        o.Step(p, [2f]);
        // v = 2; δ = √0.01/√2.01·2; u = 0.5·δ².
        float delta = MathF.Sqrt(0.01f) / MathF.Sqrt(2.01f) * 2f;
        o.SquareAvg[0].ShouldBe(2f);
        o.AccDelta[0].ShouldBe(0.5f * delta * delta, 1e-7f);
        p[0].ShouldBe(-delta, 1e-7f);
    }

    [Fact]
    public void RmsProp_momentum_buffer_starts_at_zero_and_centered_subtracts_mean()
    {
        var o = new RmsProp(0.1f, alpha: 0.5f, eps: 0f, momentum: 0.9f);
        float[] p = [0f];
        o.Step(p, [2f]);            // v = 2; buf = 0·0.9 + 2/√2
        o.MomentumBuffer[0].ShouldBe(MathF.Sqrt(2f), 1e-6f);
        p[0].ShouldBe(-0.1f * MathF.Sqrt(2f), 1e-6f);

        var c = new RmsProp(0.1f, alpha: 0.5f, eps: 1f, centered: true);
        float[] q = [0f];
        c.Step(q, [2f]);            // v = 2, m = 1 ⇒ √(2 − 1) + 1 = 2 ⇒ step 0.1
        c.GradAvg[0].ShouldBe(1f);
        q[0].ShouldBe(-0.1f, 1e-7f);
    }

    static Optimizer[] All() =>
    [
        new Sgd(0.1f), new Sgd(0.1f, 0.9f, 0.1f, weightDecay: 0.01f), new Sgd(0.1f, 0.9f, nesterov: true),
        new Adam(0.01f, weightDecay: 0.1f), new Adam(0.01f, amsgrad: true), new AdamW(0.01f, weightDecay: 0.1f),
        new Adagrad(0.1f, 0.01f, 0.1f, 0.1f), new Adadelta(0.5f, weightDecay: 0.1f),
        new RmsProp(0.01f, weightDecay: 0.1f), new RmsProp(0.01f, momentum: 0.9f, centered: true),
    ];

    /// <summary>The vector loops against the scalar tails: a 37-element buffer must equal 37 one-element buffers.</summary>
    [Fact]
    public void Vector_path_matches_elementwise_path()
    {
        var rng = new Random(9);
        const int n = 37;
        var p0 = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        var grads = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray()).ToArray();
        var big = All();
        for (int k = 0; k < big.Length; k++)
        {
            var p = p0.ToArray();
            foreach (var g in grads) big[k].Step(p, g);
            for (int i = 0; i < n; i++)
            {
                var single = All()[k];
                float[] q = [p0[i]];
                foreach (var g in grads) single.Step(q, [g[i]]);
                p[i].ShouldBe(q[0], 1e-6f, $"{big[k].GetType().Name} #{k} element {i}");
            }
        }
    }

    /// <summary>A step taken in ranges (what a generated network's Update spreads over its workers) against a whole Step:
    /// uneven ranges in any order, over several steps (the momentum buffer's seeding step included), bit for bit.</summary>
    [Fact]
    public void A_step_taken_in_ranges_equals_a_whole_step_bit_for_bit()
    {
        var rng = new Random(4);
        const int n = 53;
        var p0 = Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray();
        var grads = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, n).Select(_ => (float)rng.NextDouble() * 2 - 1).ToArray()).ToArray();
        (int Start, int End)[] ranges = [(21, 53), (0, 5), (5, 21)];
        var whole = All();
        var split = All();
        int splittable = 0;
        for (int k = 0; k < whole.Length; k++)
        {
            if (!split[k].SplitsIntoRanges)
            {
                Should.Throw<NotSupportedException>(() => split[k].BeginStep(n)).Message.ShouldContain("call Step");
                continue;
            }
            splittable++;
            Should.Throw<InvalidOperationException>(() => split[k].StepRange(new float[4], new float[4], 0)).Message.ShouldContain("BeginStep");
            float[] a = p0.ToArray(), b = p0.ToArray();
            foreach (var g in grads)
            {
                whole[k].Step(a, g);
                split[k].BeginStep(n);
                foreach (var (s0, s1) in ranges) split[k].StepRange(b.AsSpan(s0, s1 - s0), g.AsSpan(s0, s1 - s0), s0);
            }
            split[k].StepCount.ShouldBe(whole[k].StepCount);
            for (int i = 0; i < n; i++)
                BitConverter.SingleToInt32Bits(b[i]).ShouldBe(BitConverter.SingleToInt32Bits(a[i]), $"{whole[k].GetType().Name} #{k} element {i}");
            foreach (var name in whole[k].StateNames) split[k].State(name).ToArray().ShouldBe(whole[k].State(name).ToArray(), name);
            Should.Throw<ArgumentOutOfRangeException>(() => split[k].StepRange(new float[8], new float[8], 50)).Message.ShouldContain("not inside the step's 53 parameters");
        }
        splittable.ShouldBe(6); // the three Sgd, the two Adam, AdamW
    }

    [Fact]
    public void No_allocation_after_the_first_step()
    {
        var p = new float[1000];
        var g = Enumerable.Range(0, 1000).Select(i => MathF.Sin(i)).ToArray();
        foreach (var o in All())
        {
            o.Step(p, g);
            o.Step(p, g);
            long before = GC.GetAllocatedBytesForCurrentThread();
            for (int k = 0; k < 5; k++) o.Step(p, g);
            (GC.GetAllocatedBytesForCurrentThread() - before).ShouldBe(0, o.GetType().Name);
        }
    }

    [Fact]
    public void Learning_rate_is_read_at_each_step()
    {
        var o = new Sgd(0.1f);
        float[] p = [1f];
        o.Step(p, [1f]);
        o.LearningRate = 0.5f;
        o.Step(p, [1f]);
        p[0].ShouldBe(0.4f, 1e-6f);
        o.LearningRate = -1f;
        Should.Throw<ArgumentOutOfRangeException>(() => o.Step(p, [1f])).Message.ShouldContain("LearningRate must be finite and >= 0, got -1");
    }

    [Fact]
    public void State_length_mismatch_names_both_lengths_and_reset_clears_state()
    {
        var o = new Adam(0.01f);
        o.Step(new float[6], new float[6]);
        var ex = Should.Throw<ArgumentException>(() => o.Step(new float[4], new float[4]));
        ex.Message.ShouldContain("parameter buffer has length 4 but the optimizer state 'exp_avg' has length 6");
        o.StepCount.ShouldBe(1);
        o.Reset();
        o.StepCount.ShouldBe(0);
        o.ExpAvg.Length.ShouldBe(0);
        o.Step(new float[4], [1f, 1f, 1f, 1f]);
        o.ExpAvg.Length.ShouldBe(4);
        o.ExpAvg[0].ShouldBe(0.1f, 1e-7f);

        var s = new Sgd(0.1f, 0.9f);
        s.Step(new float[3], new float[3]);
        Should.Throw<ArgumentException>(() => s.Step(new float[5], new float[5])).Message.ShouldContain("has length 5 but the optimizer state 'momentum_buffer' has length 3");
        var a = new Adagrad();
        a.Step(new float[3], new float[3]);
        Should.Throw<ArgumentException>(() => a.Step(new float[2], new float[2])).Message.ShouldContain("'sum' has length 3");
        var d = new Adadelta();
        d.Step(new float[3], new float[3]);
        Should.Throw<ArgumentException>(() => d.Step(new float[2], new float[2])).Message.ShouldContain("'square_avg' has length 3");
        var r = new RmsProp();
        r.Step(new float[3], new float[3]);
        Should.Throw<ArgumentException>(() => r.Step(new float[2], new float[2])).Message.ShouldContain("'square_avg' has length 3");
        var w = new AdamW();
        w.Step(new float[3], new float[3]);
        Should.Throw<ArgumentException>(() => w.Step(new float[2], new float[2])).Message.ShouldContain("'exp_avg' has length 3");
    }

    [Fact]
    public void Gradient_length_must_match_parameters()
    {
        foreach (var o in All())
            Should.Throw<ArgumentException>(() => o.Step(new float[3], new float[2]))
                .Message.ShouldContain("gradients has length 2, expected the parameters' length 3");
    }

    [Fact]
    public void Bad_hyperparameters_throw_with_the_value()
    {
        void Bad(Func<Optimizer> make, string text) =>
            Should.Throw<ArgumentOutOfRangeException>(() => make()).Message.ShouldContain(text);

        Bad(() => new Sgd(-0.1f), "learningRate must be finite and >= 0, got -0.1");
        Bad(() => new Sgd(0.1f, momentum: -0.5f), "momentum must be finite and >= 0, got -0.5");
        Bad(() => new Sgd(0.1f, nesterov: true), "Nesterov momentum requires momentum > 0 and dampening = 0, got momentum 0 and dampening 0");
        Bad(() => new Sgd(0.1f, 0.9f, 0.1f, nesterov: true), "got momentum 0.9 and dampening 0.1");
        Bad(() => new Sgd(0.1f, weightDecay: -1f), "weightDecay must be finite and >= 0, got -1");
        Bad(() => new Adam(float.NaN), "learningRate must be finite and >= 0, got NaN");
        Bad(() => new Adam(beta1: 1f), "beta1 must be in [0, 1), got 1");
        Bad(() => new Adam(beta2: -0.1f), "beta2 must be in [0, 1), got -0.1");
        Bad(() => new Adam(eps: -1e-8f), "eps must be finite and >= 0, got -1E-08");
        Bad(() => new AdamW(beta1: 1.5f), "beta1 must be in [0, 1), got 1.5");
        Bad(() => new AdamW(weightDecay: -0.01f), "weightDecay must be finite and >= 0, got -0.01");
        Bad(() => new Adagrad(lrDecay: -1f), "lrDecay must be finite and >= 0, got -1");
        Bad(() => new Adagrad(initialAccumulatorValue: -1f), "initialAccumulatorValue must be finite and >= 0, got -1");
        Bad(() => new Adadelta(rho: 1.1f), "rho must be in [0, 1], got 1.1");
        Bad(() => new RmsProp(alpha: -0.5f), "alpha must be in [0, 1], got -0.5");
        Bad(() => new RmsProp(momentum: -0.5f), "momentum must be finite and >= 0, got -0.5");
    }
}
