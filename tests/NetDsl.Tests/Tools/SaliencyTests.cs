using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tools;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

/// <summary>Saliency maps: the run-time walk with ordinary ReLU backward equals the generated input gradient; guided
/// backpropagation and deconvnet against a two-layer network worked out by hand.</summary>
public class SaliencyTests
{
    [Fact]
    public void TheGradientModeEqualsTheGeneratedInputGradient()
    {
        using var net = new SaliencyNet(1, seed: 4, workers: 1);
        var rng = new Rng(8);
        var x = Enumerable.Range(0, SaliencyNet.InputSize).Select(_ => rng.NextFloat() * 2 - 1).ToArray();
        for (int unit = 0; unit < 3; unit++)
        {
            var map = new float[x.Length];
            Saliency.Compute(net, x, unit, ReluBackward.Gradient, map);
            net.ComputeInputGradient = true;
            net.Forward(x, 1, training: true);
            var seed = new float[3];
            seed[unit] = 1;
            net.Backward(seed, 1);
            var expected = net.InputGradient.ToArray();
            expected.Any(v => v != 0).ShouldBeTrue();
            for (int i = 0; i < x.Length; i++) map[i].ShouldBe(expected[i], 1e-5f, $"unit {unit}, input {i}");
        }
    }

    [Fact]
    public void GuidedAndDeconvnetMatchTheHandFormulas()
    {
        using var net = new TwoLayerRelu(1, seed: 1, workers: 1);
        float[] w1 = { 1, -2, 0.5f, 1, /**/ -1, 1, 1, 0.5f, /**/ 2, 0.5f, -1, -1 };
        float[] b1 = { 0, 0, 0 };
        float[] w2 = { 1, -1, 2, /**/ -1, 1, 1 };
        float[] b2 = { 0, 0 };
        w1.Concat(b1).Concat(w2).Concat(b2).ToArray().CopyTo(net.Parameters);
        float[] x = { 1, 0.5f, 1, 0.2f };
        // h = relu(W1 x): pre-activations 1 − 1 + 0.5 + 0.2 = 0.7, −1 + 0.5 + 1 + 0.1 = 0.6, 2 + 0.25 − 1 − 0.2 = 1.05: all active.
        // Make unit 1 inactive by a negative bias instead: b1[1] = −1 → −0.4.
        net.Parameters[12 + 1] = -1f;
        bool[] active = { true, false, true };
        foreach (int unit in new[] { 0, 1 })
        {
            var gh = w2.Skip(unit * 3).Take(3).ToArray(); // upstream gradient at h
            foreach (var mode in new[] { ReluBackward.Gradient, ReluBackward.Deconvnet, ReluBackward.Guided })
            {
                var expected = new float[4];
                for (int j = 0; j < 3; j++)
                {
                    bool pass = mode switch
                    {
                        ReluBackward.Gradient => active[j],
                        ReluBackward.Deconvnet => gh[j] > 0,
                        _ => active[j] && gh[j] > 0,
                    };
                    if (pass) for (int i = 0; i < 4; i++) expected[i] += w1[j * 4 + i] * gh[j];
                }
                var map = new float[4];
                Saliency.Compute(net, x, unit, mode, map);
                map.ShouldBe(expected, 1e-6f, $"unit {unit}, {mode}");
            }
        }
    }

    [Fact]
    public void NetworksWithOtherLayersAreRefusedByName()
    {
        using var net = new SmoothNet(1, workers: 1);
        Should.Throw<NotSupportedException>(() => Saliency.Compute(net, new float[SmoothNet.InputSize], 0, ReluBackward.Guided, new float[SmoothNet.InputSize]))
            .Message.ShouldContain("is a Tanh");
    }
}
