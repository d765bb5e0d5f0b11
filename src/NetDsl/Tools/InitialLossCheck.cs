using System;
using System.Globalization;
using NetDsl.Data;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>What <see cref="InitialLossCheck.Run"/> found: the mean softmax cross-entropy of the untrained network, the
/// ln C it should be near, and whether it is too far.</summary>
public sealed record InitialLossReport(double Loss, double Expected, int Classes, double Tolerance, bool TooFar)
{
    /// <summary>One line for a log.</summary>
    public string Message => TooFar
        ? string.Create(CultureInfo.InvariantCulture, $"warning: initial loss {Loss:F4} is far from ln {Classes} = {Expected:F4} (|difference| {Math.Abs(Loss - Expected):F4} > {Tolerance:F4}): check the initialization scale, the last layer (no activation before a softmax loss) and the labels")
        : string.Create(CultureInfo.InvariantCulture, $"initial loss {Loss:F4} ≈ ln {Classes} = {Expected:F4} (within {Tolerance:F4})");
}

/// <summary>The notes' sanity check before training: a freshly initialized C-class softmax classifier outputs nearly uniform
/// probabilities, so its cross-entropy should be close to −ln(1/C) = ln C. A loss far from it means logits already large
/// (initialization too big, a missing scale) or a wrong output/label setup.</summary>
public static class InitialLossCheck
{
    /// <summary>Mean <see cref="SoftmaxCrossEntropy"/> over the first <paramref name="samples"/> samples in inference mode, compared
    /// with ln C where C = the network's outputs; too far when |loss − ln C| &gt; <paramref name="relativeTolerance"/>·ln C.</summary>
    public static InitialLossReport Run(INetwork network, LabeledImages data, int samples = 512, double relativeTolerance = 0.25)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(samples);
        if (!(relativeTolerance > 0) || double.IsInfinity(relativeTolerance))
            throw new ArgumentOutOfRangeException(nameof(relativeTolerance), relativeTolerance, "relativeTolerance must be finite and > 0");
        if (network.OutputSize < 2) throw new ArgumentException($"the check is for a softmax over C >= 2 outputs; the network has {network.OutputSize}", nameof(network));
        var subset = data.Count > samples ? data.Take(samples) : data;
        double loss = Trainer.Evaluate(network, subset, new SoftmaxCrossEntropy()).Loss;
        double expected = Math.Log(network.OutputSize), tolerance = relativeTolerance * expected;
        return new InitialLossReport(loss, expected, network.OutputSize, tolerance, !(Math.Abs(loss - expected) <= tolerance));
    }
}
