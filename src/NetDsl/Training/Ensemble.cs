using System;
using System.Collections.Generic;
using NetDsl.Data;

namespace NetDsl.Training;

/// <summary>How an <see cref="Ensemble"/> combines its members.</summary>
public enum EnsembleAveraging
{
    /// <summary>Mean of the members' softmax probabilities (the output is a probability row).</summary>
    Probabilities,
    /// <summary>Mean of the members' raw outputs (logits).</summary>
    Logits,
}

/// <summary>Several networks with the same input and output sizes, predicting together by averaging (inference mode).</summary>
public sealed class Ensemble
{
    readonly INetwork[] _members;
    readonly double[] _sum;

    public Ensemble(IReadOnlyList<INetwork> members, EnsembleAveraging averaging = EnsembleAveraging.Probabilities)
    {
        ArgumentNullException.ThrowIfNull(members);
        if (members.Count == 0) throw new ArgumentException("an ensemble needs at least one network", nameof(members));
        if (averaging is not (EnsembleAveraging.Probabilities or EnsembleAveraging.Logits))
            throw new ArgumentOutOfRangeException(nameof(averaging), averaging, "averaging must be Probabilities or Logits");
        _members = new INetwork[members.Count];
        for (int i = 0; i < members.Count; i++)
        {
            var m = members[i] ?? throw new ArgumentException($"member {i} is null", nameof(members));
            if (m.InputSize != members[0].InputSize || m.OutputSize != members[0].OutputSize)
                throw new ArgumentException($"member {i} maps {m.InputSize} → {m.OutputSize} floats, member 0 maps {members[0].InputSize} → {members[0].OutputSize}; all members need the same sizes", nameof(members));
            _members[i] = m;
        }
        Averaging = averaging;
        InputSize = _members[0].InputSize;
        OutputSize = _members[0].OutputSize;
        int maxBatch = int.MaxValue;
        foreach (var m in _members) maxBatch = Math.Min(maxBatch, m.MaxBatch);
        MaxBatch = maxBatch;
        _sum = new double[(long)maxBatch * OutputSize];
    }

    public EnsembleAveraging Averaging { get; }
    public int Count => _members.Length;
    public int InputSize { get; }
    public int OutputSize { get; }
    /// <summary>The smallest member's MaxBatch.</summary>
    public int MaxBatch { get; }

    /// <summary>Writes the averaged prediction of <paramref name="batch"/> samples into <paramref name="output"/> (batch·OutputSize floats).</summary>
    public void Predict(ReadOnlySpan<float> input, int batch, Span<float> output)
    {
        if (batch < 1 || batch > MaxBatch) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be between 1 and the ensemble's MaxBatch {MaxBatch}");
        if (input.Length != (long)batch * InputSize) throw new ArgumentException($"input has {input.Length} floats, expected batch {batch} × {InputSize}", nameof(input));
        if (output.Length != (long)batch * OutputSize) throw new ArgumentException($"output has {output.Length} floats, expected batch {batch} × {OutputSize}", nameof(output));
        var sum = _sum.AsSpan(0, batch * OutputSize);
        sum.Clear();
        foreach (var m in _members)
        {
            var y = m.Forward(input, batch);
            for (int n = 0; n < batch; n++)
            {
                var row = y.Slice(n * OutputSize, OutputSize);
                var acc = sum.Slice(n * OutputSize, OutputSize);
                if (Averaging == EnsembleAveraging.Logits) { for (int j = 0; j < row.Length; j++) acc[j] += row[j]; continue; }
                double max = double.NegativeInfinity;
                foreach (float v in row) max = Math.Max(max, v);
                double z = 0;
                foreach (float v in row) z += Math.Exp(v - max);
                for (int j = 0; j < row.Length; j++) acc[j] += Math.Exp(row[j] - max) / z;
            }
        }
        for (int i = 0; i < sum.Length; i++) output[i] = (float)(sum[i] / _members.Length);
    }

    /// <summary>Fraction of <paramref name="data"/> whose averaged prediction's argmax (first maximum on ties) is the label.</summary>
    public double Accuracy(LabeledImages data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.SampleSize != InputSize) throw new ArgumentException($"data samples are {data.SampleSize} floats, the ensemble takes {InputSize}", nameof(data));
        if (data.Count == 0) throw new ArgumentException("data has no samples", nameof(data));
        var output = new float[MaxBatch * OutputSize];
        long correct = 0;
        for (int start = 0; start < data.Count; start += MaxBatch)
        {
            int n = Math.Min(MaxBatch, data.Count - start);
            var o = output.AsSpan(0, n * OutputSize);
            Predict(data.Pixels.AsSpan(start * InputSize, n * InputSize), n, o);
            correct += Metrics.CountCorrect(o, data.Labels.AsSpan(start, n), n, OutputSize);
        }
        return (double)correct / data.Count;
    }
}
