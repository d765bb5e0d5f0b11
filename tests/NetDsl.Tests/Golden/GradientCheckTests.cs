using System;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Tests.Networks;
using Xunit;

namespace NetDsl.Tests.Golden;

/// <summary>
/// The generated backward pass against central finite differences of the generated forward pass, for every
/// parameter and input element of small networks (L = Σ r·y with a fixed random r). Dropout is checked in
/// training mode with the mask held fixed (same step), which is the derivative the backward pass computes.
/// </summary>
public class GradientCheckTests
{
    public static TheoryData<string, int> Nets() => new() { { "A", 1 }, { "A", 2 }, { "B", 1 }, { "B", 2 }, { "C", 1 }, { "C", 2 }, { "D", 1 }, { "D", 2 }, { "E", 1 }, { "E", 2 }, { "F", 1 }, { "F", 2 }, { "G", 1 }, { "G", 2 }, { "H", 1 }, { "H", 2 }, { "I", 1 }, { "I", 2 } };

    private static INetwork Create(string name, int workers) => name switch
    {
        "A" => new GradCheckA(3, seed: 7, workers: workers),
        "B" => new GradCheckB(3, seed: 8, workers: workers),
        "C" => new GradCheckC(3, seed: 9, workers: workers),
        "D" => new GradCheckD(3, seed: 10, workers: workers),
        "E" => new GradCheckE(3, seed: 11, workers: workers),
        "F" => new GradCheckInception(3, seed: 12, workers: workers),
        "G" => new GradCheckProjection(3, seed: 13, workers: workers),
        "H" => new GradCheckPooling(3, seed: 14, workers: workers),
        _ => new GradCheckNotesLayers(3, seed: 15, workers: workers),
    };

    [Theory]
    [MemberData(nameof(Nets))]
    public void BackwardMatchesFiniteDifferences(string name, int workers)
    {
        const int batch = 3;
        var net = Create(name, workers);
        var rng = new Rng(42);
        var x = Enumerable.Range(0, batch * net.InputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        var r = Enumerable.Range(0, batch * net.OutputSize).Select(_ => (float)(rng.NextDouble() * 2 - 1)).ToArray();
        bool dropout = name is "C" or "I";

        double Loss()
        {
            var y = Forward(net, x, batch, dropout);
            double s = 0;
            for (int i = 0; i < y.Length; i++) s += (double)r[i] * y[i];
            return s;
        }

        net.ComputeInputGradient = true;
        Forward(net, x, batch, dropout);
        net.ZeroGradients();
        net.Backward(r, batch);
        var analyticParams = net.Gradients.ToArray();
        var analyticInput = net.InputGradient.ToArray();

        // Small enough that the step rarely crosses a ReLU or max-pool kink, large enough for float32 forward passes.
        const float h = 1e-3f;
        var p = net.Parameters;
        var numericParams = new double[p.Length];
        for (int i = 0; i < p.Length; i++)
        {
            float keep = p[i];
            p[i] = keep + h; double up = Loss();
            p[i] = keep - h; double down = Loss();
            p[i] = keep;
            numericParams[i] = (up - down) / (2 * h);
        }
        var numericInput = new double[x.Length];
        for (int i = 0; i < x.Length; i++)
        {
            float keep = x[i];
            x[i] = keep + h; double up = Loss();
            x[i] = keep - h; double down = Loss();
            x[i] = keep;
            numericInput[i] = (up - down) / (2 * h);
        }

        foreach (var t in net.ParameterTensors.ToArray())
            AssertClose(numericParams.AsSpan(t.Offset, t.Length), analyticParams.AsSpan(t.Offset, t.Length), $"net {name}: {t.Name}");
        AssertClose(numericInput, analyticInput, $"net {name}: input");
    }

    private static float[] Forward(INetwork net, float[] x, int batch, bool holdDropoutMask)
    {
        // The finite differences must see the same dropout mask as the backward pass: after the first
        // training forward has drawn it, hold it.
        if (net is GradCheckC c) c.HoldDropoutMasks = holdDropoutMask && c.HasForwarded;
        if (net is GradCheckNotesLayers n) n.HoldDropoutMasks = holdDropoutMask && n.HasForwarded;
        var y = net.Forward(x, batch, training: true).ToArray();
        if (net is GradCheckC c2) c2.HasForwarded = true;
        if (net is GradCheckNotesLayers n2) n2.HasForwarded = true;
        return y;
    }

    private static void AssertClose(ReadOnlySpan<double> numeric, ReadOnlySpan<float> analytic, string what)
    {
        double max = 0;
        foreach (var v in numeric) max = Math.Max(max, Math.Abs(v));
        for (int i = 0; i < numeric.Length; i++)
        {
            double err = Math.Abs(numeric[i] - analytic[i]);
            Assert.True(err <= 2e-2 * max + 2e-3, $"{what}[{i}]: backward {analytic[i]:G6}, finite difference {numeric[i]:G6} (max {max:G3})");
        }
    }
}
