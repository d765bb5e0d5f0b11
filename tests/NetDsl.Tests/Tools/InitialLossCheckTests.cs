using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using NetDsl.Tools;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Tools;

/// <summary>The initial-loss check: zero output weights give uniform probabilities, exactly ln C; weights blown up ×50 give
/// confident random answers, far from it.</summary>
public class InitialLossCheckTests
{
    static LabeledImages Data()
    {
        var rng = new Rng(3);
        return new LabeledImages(Enumerable.Range(0, 40 * 64).Select(_ => rng.NextFloat()).ToArray(),
            Enumerable.Range(0, 40).Select(i => i % 3).ToArray(), 1, 8, 8, 3);
    }

    [Fact]
    public void UniformOutputsGiveExactlyLnC()
    {
        using var net = new TinyConv(8, seed: 1, workers: 1);
        var dense = net.ParameterTensors.ToArray().Where(t => t.Name.StartsWith("dense1", System.StringComparison.Ordinal));
        foreach (var t in dense) net.Parameters.Slice(t.Offset, t.Length).Clear(); // logits = 0 → p = 1/3 everywhere
        var report = InitialLossCheck.Run(net, Data());
        report.Loss.ShouldBe(System.Math.Log(3), 1e-6);
        report.Expected.ShouldBe(System.Math.Log(3), 1e-12);
        report.TooFar.ShouldBeFalse();
    }

    [Fact]
    public void HugeInitialWeightsAreFlagged()
    {
        using var net = new TinyConv(8, seed: 1, workers: 1);
        var p = net.Parameters;
        for (int i = 0; i < p.Length; i++) p[i] *= 50f;
        var report = InitialLossCheck.Run(net, Data());
        report.TooFar.ShouldBeTrue();
        report.Message.ShouldContain("far from ln 3");
    }
}
