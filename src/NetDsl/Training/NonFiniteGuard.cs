using System;
using System.Numerics;
using System.Text;

namespace NetDsl.Training;

/// <summary>What <see cref="Trainer.Fit(INetwork, NetDsl.Data.LabeledImages, NetDsl.Data.LabeledImages, Loss, Optimizer, TrainingOptions)"/> does when a step produces NaN or ±∞.</summary>
public enum NonFinitePolicy
{
    /// <summary>Refuse the step and throw <see cref="NonFiniteException"/> (the default).</summary>
    Throw,
    /// <summary>Refuse the step, skip the batch and go on with the next one.</summary>
    SkipBatch,
    /// <summary>Go back to the last checkpoint (the last one saved, or the start of the epoch when none is written), lower the
    /// learning rate by <see cref="TrainingOptions.RollbackLearningRateFactor"/> and go on from there.</summary>
    RollBack,
    /// <summary>No checks (the step runs whatever it computes).</summary>
    Off,
}

/// <summary>A training step produced NaN or ±∞. The step was refused: the network's parameters and batch-norm statistics are
/// as they were before it. The message names the epoch, the step, the first layer whose output (forward order) or gradient
/// (backward order) is non-finite, and whether the input batch already held NaN/∞ (with the sample).</summary>
public sealed class NonFiniteException : ArithmeticException
{
    public NonFiniteException(string message, int epoch, long step, string? outputLayer, string? gradientLayer, int inputSample, int dataIndex)
        : base(message)
    {
        Epoch = epoch; Step = step; OutputLayer = outputLayer; GradientLayer = gradientLayer; InputSample = inputSample; DataIndex = dataIndex;
    }

    /// <summary>Epoch, counted from 1 (0 when not known: <c>TrainStep</c> outside <see cref="Trainer.Fit(INetwork, NetDsl.Data.LabeledImages, NetDsl.Data.LabeledImages, Loss, Optimizer, TrainingOptions)"/>).</summary>
    public int Epoch { get; }
    /// <summary>Step, counted from 0 over the whole run (−1 when not known).</summary>
    public long Step { get; }
    /// <summary>The first layer (forward order) whose output holds NaN/∞, or null.</summary>
    public string? OutputLayer { get; }
    /// <summary>The first layer (backward order) whose output gradient or parameter gradient holds NaN/∞, or null.</summary>
    public string? GradientLayer { get; }
    /// <summary>The sample of the batch whose input holds NaN/∞, or −1 when the input was finite.</summary>
    public int InputSample { get; }
    /// <summary>That sample's index in the training set, or −1.</summary>
    public int DataIndex { get; }
}

/// <summary>Vectorized NaN/∞ checks, and the diagnosis that names where non-finite values start.</summary>
public static class NonFiniteGuard
{
    /// <summary>Whether every value is finite: one pass, x·0 is 0 for finite x and NaN otherwise.</summary>
    public static bool AllFinite(ReadOnlySpan<float> values)
    {
        int i = 0;
        if (Vector.IsHardwareAccelerated && values.Length >= Vector<float>.Count)
        {
            var acc = Vector<float>.Zero;
            int end = values.Length - values.Length % Vector<float>.Count;
            for (; i < end; i += Vector<float>.Count) acc += new Vector<float>(values.Slice(i)) * Vector<float>.Zero;
            if (!Vector.EqualsAll(acc, Vector<float>.Zero)) return false;
        }
        float s = 0;
        for (; i < values.Length; i++) s += values[i] * 0f;
        return s == 0;
    }

    /// <summary>The index of the first NaN or ±∞, or −1.</summary>
    public static int IndexOfNonFinite(ReadOnlySpan<float> values)
    {
        if (AllFinite(values)) return -1;
        for (int i = 0; i < values.Length; i++) if (!float.IsFinite(values[i])) return i;
        return -1;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the sample and element when <paramref name="inputs"/> holds NaN/∞
    /// (called by the generated <c>TrainStep</c> before anything changes).</summary>
    public static void ThrowIfInputNonFinite(ReadOnlySpan<float> inputs, int sampleSize, string where)
    {
        int at = IndexOfNonFinite(inputs);
        if (at < 0) return;
        throw new ArgumentException(
            $"{where}: inputs hold {inputs[at]} at sample {at / Math.Max(1, sampleSize)}, element {at % Math.Max(1, sampleSize)} (flat index {at}); " +
            "a non-finite input would poison every parameter and the batch-norm statistics, so the step was refused", "inputs");
    }

    /// <summary>Throws <see cref="NonFiniteException"/> when the loss or a parameter gradient of <paramref name="network"/> is
    /// non-finite (called by the generated <c>TrainStep</c> before the optimizer step, so the parameters stay as they were).</summary>
    public static void ThrowIfStepNonFinite(INetwork network, float loss, string where)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (float.IsFinite(loss) && AllFinite(network.Gradients) && AllFinite(network.Buffers)) return;
        var d = Diagnose(network, default, 0, null);
        throw new NonFiniteException($"{where}: {Describe(d, loss)}; the optimizer step was refused, the parameters are unchanged" +
            (AllFinite(network.Buffers) ? "" : " (the batch-norm running statistics of this forward pass are not: reload them)"),
            0, -1, d.OutputLayer, d.GradientLayer, d.InputSample, d.DataIndex);
    }

    /// <summary>Where the non-finite values of the last forward and backward pass start.</summary>
    public readonly record struct Diagnosis(string? OutputLayer, string OutputDetail, string? GradientLayer, string GradientDetail,
        int InputSample, int DataIndex, string InputDetail);

    /// <summary>Scans the input batch, each layer's output in forward order, then each layer's output gradient and parameter
    /// gradient in backward order. <paramref name="input"/> may be empty (not known).</summary>
    public static Diagnosis Diagnose(INetwork network, ReadOnlySpan<float> input, int batch, ReadOnlySpan<int> dataIndices)
    {
        ArgumentNullException.ThrowIfNull(network);
        var layers = network.Layers;
        int inputSample = -1, dataIndex = -1;
        string inputDetail = input.IsEmpty ? "" : "the input batch held no NaN/∞";
        int at = IndexOfNonFinite(input);
        if (at >= 0)
        {
            inputSample = at / network.InputSize;
            dataIndex = inputSample < dataIndices.Length ? dataIndices[inputSample] : -1;
            inputDetail = $"the input batch already held {input[at]} at sample {inputSample}" +
                (dataIndex >= 0 ? $" (training-set index {dataIndex})" : "") + $", element {at % network.InputSize}";
        }
        string? outputLayer = null, outputDetail = "every layer's output is finite";
        for (int i = 0; i < layers.Length && outputLayer is null; i++)
        {
            var o = network.LayerOutput(i);
            int k = IndexOfNonFinite(o);
            if (k < 0) continue;
            var l = layers[i];
            outputLayer = l.Name;
            outputDetail = $"first non-finite output: {l.Name} (layer {i}, {l.Kind}) = {o[k]} at sample {k / Math.Max(1, l.OutputSize)}, element {k % Math.Max(1, l.OutputSize)}";
        }
        string? gradientLayer = null, gradientDetail = "every gradient is finite";
        var grads = network.Gradients;
        for (int i = layers.Length - 1; i >= 0 && gradientLayer is null; i--)
        {
            var l = layers[i];
            ReadOnlySpan<float> g;
            try { g = network.LayerGradient(i); } catch (InvalidOperationException) { g = default; }
            int k = IndexOfNonFinite(g);
            if (k >= 0)
            {
                gradientLayer = l.Name;
                gradientDetail = $"first non-finite gradient (backward order): dL/d({l.Name} output) (layer {i}, {l.Kind}) = {g[k]} at sample {k / Math.Max(1, l.OutputSize)}";
                break;
            }
            if (l.ParameterCount > 0 && l.ParameterOffset >= 0 && (long)l.ParameterOffset + l.ParameterCount <= grads.Length)
            {
                k = IndexOfNonFinite(grads.Slice(l.ParameterOffset, l.ParameterCount));
                if (k >= 0)
                {
                    gradientLayer = l.Name;
                    gradientDetail = $"first non-finite gradient (backward order): {ParameterName(network, l.ParameterOffset + k)} of {l.Name} (layer {i}, {l.Kind})";
                }
            }
        }
        return new Diagnosis(outputLayer, outputDetail, gradientLayer, gradientDetail, inputSample, dataIndex, inputDetail);
    }

    /// <summary>"conv1.weight[17]" for a flat parameter index.</summary>
    public static string ParameterName(INetwork network, int flatIndex)
    {
        foreach (var t in network.ParameterTensors)
            if (flatIndex >= t.Offset && flatIndex < t.Offset + t.Length) return $"{t.Name}[{flatIndex - t.Offset}]";
        return $"parameter {flatIndex}";
    }

    internal static string Describe(Diagnosis d, float loss)
    {
        var s = new StringBuilder();
        s.Append("loss = ").Append(loss).Append("; ").Append(d.OutputDetail).Append("; ").Append(d.GradientDetail);
        if (d.InputDetail.Length > 0) s.Append("; ").Append(d.InputDetail);
        return s.ToString();
    }
}
