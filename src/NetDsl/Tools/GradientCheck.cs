using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Kernels;
using NetDsl.Training;

namespace NetDsl.Tools;

public sealed class GradientCheckOptions
{
    /// <summary>Parameters checked per tensor, drawn without replacement (all of a smaller tensor).</summary>
    public int SamplesPerTensor { get; init; } = 16;
    /// <summary>Step h of the central difference (L(p+h) − L(p−h)) / 2h. Float32 forward passes want 1e-3 to 1e-2.</summary>
    public double Epsilon { get; init; } = 1e-3;
    /// <summary>Denominator floor of the relative error |a − n| / max(|a|, |n|, floor): below it, errors count as absolute
    /// (float32 forward passes make the numeric estimate noisy at about 1e-7·|output| / h).</summary>
    public double AbsoluteFloor { get; init; } = 1e-5;
    /// <summary>A layer passes when its worst relative error is at most this.</summary>
    public double Tolerance { get; init; } = 1e-2;
    public int Seed { get; init; } = 1;
}

/// <summary>One layer's result: the worst of its checked parameters.</summary>
public sealed record LayerGradientCheck(string Layer, string Kind, int Checked, double MaxRelativeError, double MaxAbsoluteError,
    string WorstParameter, double Analytic, double Numeric, bool Frozen, bool Passed)
{
    public override string ToString() => Frozen
        ? $"{Layer} ({Kind}): frozen, gradients are zero"
        : $"{Layer} ({Kind}): {Checked} checked, worst relative error {MaxRelativeError:G3} at {WorstParameter} (backward {Analytic:G6}, finite difference {Numeric:G6}){(Passed ? "" : "  FAILED")}";
}

public sealed record GradientCheckReport(IReadOnlyList<LayerGradientCheck> Layers, double WorstRelativeError, bool Passed)
{
    public override string ToString() => string.Join(Environment.NewLine, Layers) + Environment.NewLine + (Passed ? "gradient check passed" : "gradient check FAILED");
}

/// <summary>Checks a network's backward pass against central finite differences of its forward pass, on a sample
/// of each parameter tensor, grouped by layer. The loss gives dL/d(output) at the inputs; the differenced objective is
/// Σ (dL/d(output))·output accumulated in double, whose gradient equals the loss's there (the loss's own derivative is
/// tested on its own), so float32 rounding of the loss value does not swamp the differences. Forward passes run in training mode (batch-norm batch statistics); a network with
/// dropout must hold its masks (the generated <c>HoldDropoutMasks</c>) or the check sees a different mask each time.
/// Parameters, buffers and gradients are restored afterwards.</summary>
public static class GradientCheck
{
    public static GradientCheckReport Run(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Loss loss, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(loss);
        int batch = labels.Length;
        if (batch < 1 || batch > network.MaxBatch) throw new ArgumentOutOfRangeException(nameof(labels), batch, $"the batch (labels.Length) must be between 1 and the network's MaxBatch {network.MaxBatch}");
        var y = labels.ToArray();
        return Run(network, inputs, batch, (output, grad) => loss.Compute(output, y, batch, network.OutputSize, grad), options ?? new GradientCheckOptions());
    }

    /// <summary>As the labels overload, for real-valued targets (regression, an autoencoder's reconstruction: the targets may
    /// be the inputs): <paramref name="targets"/> holds batch·OutputSize floats.</summary>
    public static GradientCheckReport Run(INetwork network, ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int batch, Loss loss, GradientCheckOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(loss);
        if (batch < 1 || batch > network.MaxBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"the batch must be between 1 and the network's MaxBatch {network.MaxBatch}");
        if (targets.Length != (long)batch * network.OutputSize)
            throw new ArgumentException($"targets has {targets.Length} floats, expected batch {batch} × {network.OutputSize} (the network's output size)", nameof(targets));
        var t = targets.ToArray();
        return Run(network, inputs, batch, (output, grad) => loss.Compute(output, t, batch, network.OutputSize, grad), options ?? new GradientCheckOptions());
    }

    /// <summary>Computes the loss of <paramref name="output"/> and writes dL/d(output) into <paramref name="gradient"/>.</summary>
    delegate float LossGradient(ReadOnlySpan<float> output, Span<float> gradient);

    static GradientCheckReport Run(INetwork network, ReadOnlySpan<float> inputs, int batch, LossGradient lossGradient, GradientCheckOptions options)
    {
        if (options.SamplesPerTensor < 1) throw new ArgumentOutOfRangeException(nameof(options), options.SamplesPerTensor, "SamplesPerTensor must be >= 1");
        if (!(options.Epsilon > 0) || double.IsInfinity(options.Epsilon)) throw new ArgumentOutOfRangeException(nameof(options), options.Epsilon, "Epsilon must be finite and > 0");
        if (!(options.AbsoluteFloor > 0)) throw new ArgumentOutOfRangeException(nameof(options), options.AbsoluteFloor, "AbsoluteFloor must be > 0");
        if (inputs.Length != (long)batch * network.InputSize)
            throw new ArgumentException($"inputs has {inputs.Length} floats, expected batch {batch} × {network.InputSize}", nameof(inputs));

        var x = inputs.ToArray();
        var outputGrad = new float[batch * network.OutputSize];
        var savedParams = network.Parameters.ToArray();
        var savedBuffers = network.Buffers.ToArray();
        var savedGrads = network.Gradients.ToArray();
        try
        {
            lossGradient(network.Forward(x, batch, training: true), outputGrad);
            network.ZeroGradients();
            network.Backward(outputGrad, batch);
            var analytic = network.Gradients.ToArray();

            // The objective differentiated numerically is the loss linearized at the outputs, Σ (dL/dy)·y, summed in double:
            // its gradient is exactly dL/dp at this point, and unlike the float32 loss value it loses no digits to rounding.
            var dLdy = outputGrad.ToArray();
            double LossAt()
            {
                var output = network.Forward(x, batch, training: true);
                double sum = 0;
                for (int i = 0; i < output.Length; i++) sum += (double)dLdy[i] * output[i];
                return sum;
            }

            var rng = new Rng(0x47726164UL ^ (ulong)(uint)options.Seed);
            var p = network.Parameters;
            var tensors = network.ParameterTensors.ToArray();
            var results = new List<LayerGradientCheck>();
            foreach (var layer in network.Layers.ToArray())
            {
                if (layer.ParameterCount == 0) continue;
                var mine = tensors.Where(t => t.Name.StartsWith(layer.Name + ".", StringComparison.Ordinal)).ToArray();
                if (layer.Frozen)
                {
                    bool zero = mine.All(t => analytic.AsSpan(t.Offset, t.Length).IndexOfAnyExcept(0f) < 0);
                    results.Add(new LayerGradientCheck(layer.Name, layer.Kind, 0, zero ? 0 : double.PositiveInfinity, 0, "", 0, 0, true, zero));
                    continue;
                }
                int count = 0;
                double worstRel = -1, worstAbs = 0, worstA = 0, worstN = 0;
                string worstName = "";
                foreach (var t in mine)
                {
                    foreach (int i in Sample(t.Length, options.SamplesPerTensor, ref rng))
                    {
                        int at = t.Offset + i;
                        float keep = p[at];
                        float up = (float)(keep + options.Epsilon), down = (float)(keep - options.Epsilon);
                        p[at] = up; double lUp = LossAt();
                        p[at] = down; double lDown = LossAt();
                        p[at] = keep;
                        double numeric = (lUp - lDown) / ((double)up - down); // the step actually taken in float
                        double a = analytic[at];
                        double abs = Math.Abs(a - numeric);
                        double rel = abs / Math.Max(Math.Max(Math.Abs(a), Math.Abs(numeric)), options.AbsoluteFloor);
                        count++;
                        worstAbs = Math.Max(worstAbs, abs);
                        if (rel > worstRel) { worstRel = rel; worstA = a; worstN = numeric; worstName = $"{t.Name}[{i}]"; }
                    }
                }
                results.Add(new LayerGradientCheck(layer.Name, layer.Kind, count, worstRel, worstAbs, worstName, worstA, worstN, false, worstRel <= options.Tolerance));
            }
            double worst = results.Count == 0 ? 0 : results.Max(r => r.MaxRelativeError);
            return new GradientCheckReport(results, worst, results.All(r => r.Passed));
        }
        finally
        {
            savedParams.CopyTo(network.Parameters);
            savedBuffers.CopyTo(network.Buffers);
            savedGrads.CopyTo(network.Gradients);
        }
    }

    /// <summary>k distinct indices of [0, n) in increasing order (all of them when n ≤ k), by a partial Fisher–Yates.</summary>
    static int[] Sample(int n, int k, ref Rng rng)
    {
        if (n <= k) return Enumerable.Range(0, n).ToArray();
        var all = Enumerable.Range(0, n).ToArray();
        for (int i = 0; i < k; i++)
        {
            int j = i + (int)(rng.NextUInt64() % (ulong)(n - i));
            (all[i], all[j]) = (all[j], all[i]);
        }
        var pick = all.AsSpan(0, k).ToArray();
        Array.Sort(pick);
        return pick;
    }
}
