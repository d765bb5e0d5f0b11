using System;
using System.Collections.Generic;
using System.Globalization;
using System.Text;
using NetDsl.Data;

namespace NetDsl.Training;

/// <summary>A classifier's evaluation on a labelled set: loss, top-1 and top-k accuracy and the confusion matrix
/// (rows: true class, columns: predicted class, argmax with the first maximum on ties, as <see cref="Metrics.CountCorrect"/>).</summary>
public sealed class EvaluationReport
{
    private readonly int[] _confusion;

    private EvaluationReport(int classes, int topK, double loss, long correct, long topKCorrect, int count, int[] confusion)
    {
        (ClassCount, TopK, Loss, Count, _confusion) = (classes, topK, loss, count, confusion);
        Accuracy = (double)correct / count;
        TopKAccuracy = (double)topKCorrect / count;
    }

    public int ClassCount { get; }
    /// <summary>The k of <see cref="TopKAccuracy"/> (5 unless asked otherwise, at most the number of outputs).</summary>
    public int TopK { get; }
    public int Count { get; }
    public double Loss { get; }
    public double Accuracy { get; }
    /// <summary>Fraction of samples whose label is among the k highest outputs (ties ranked by class index, so k = 1 is <see cref="Accuracy"/>).</summary>
    public double TopKAccuracy { get; }

    /// <summary>Samples of class <paramref name="actual"/> predicted as <paramref name="predicted"/>.</summary>
    public int this[int actual, int predicted] => _confusion[actual * ClassCount + predicted];

    /// <summary>Fraction of class <paramref name="c"/>'s samples predicted as c (NaN when the set has none).</summary>
    public double Recall(int c)
    {
        long row = 0;
        for (int j = 0; j < ClassCount; j++) row += this[c, j];
        return row == 0 ? double.NaN : (double)this[c, c] / row;
    }

    /// <summary>Runs <paramref name="network"/> in inference mode over <paramref name="data"/> in batches of its MaxBatch.</summary>
    public static EvaluationReport Compute(INetwork network, LabeledImages data, Loss loss, int topK = 5)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(data);
        ArgumentNullException.ThrowIfNull(loss);
        if (topK < 1) throw new ArgumentOutOfRangeException(nameof(topK), topK, "topK must be at least 1");
        if (data.Count == 0) throw new ArgumentException("data has no samples", nameof(data));
        if (data.SampleSize != network.InputSize)
            throw new ArgumentException($"data: samples are {data.Channels}×{data.Height}×{data.Width} = {data.SampleSize} floats, the network takes {network.InputSize}", nameof(data));
        int classes = network.OutputSize;
        if (data.ClassCount > classes)
            throw new ArgumentException($"data: {data.ClassCount} classes, but the network has only {classes} outputs", nameof(data));
        int k = Math.Min(topK, classes);
        int batch = network.MaxBatch;
        var grad = new float[batch * classes];
        var confusion = new int[classes * classes];
        double lossSum = 0;
        long correct = 0, topKCorrect = 0;
        for (int start = 0; start < data.Count; start += batch)
        {
            int n = Math.Min(batch, data.Count - start);
            var output = network.Forward(data.Pixels.AsSpan(start * network.InputSize, n * network.InputSize), n);
            var labels = data.Labels.AsSpan(start, n);
            lossSum += (double)loss.Compute(output, labels, n, classes, grad.AsSpan(0, n * classes)) * n;
            for (int s = 0; s < n; s++)
            {
                var row = output.Slice(s * classes, classes);
                int label = labels[s], best = 0, rank = 0;
                for (int j = 0; j < classes; j++)
                {
                    if (row[j] > row[best]) best = j;
                    // Classes ranked before the label: higher outputs, and equal ones of a lower index.
                    if (row[j] > row[label] || (row[j] == row[label] && j < label)) rank++;
                }
                confusion[label * classes + best]++;
                if (best == label) correct++;
                if (rank < k) topKCorrect++;
            }
        }
        return new EvaluationReport(classes, k, lossSum / data.Count, correct, topKCorrect, data.Count, confusion);
    }

    /// <summary>The confusion matrix as aligned text with per-class recall, then loss and accuracies.</summary>
    public string ToText(IReadOnlyList<string>? classNames = null)
    {
        string Name(int c) => classNames is not null && c < classNames.Count ? classNames[c] : c.ToString(CultureInfo.InvariantCulture);
        int nameWidth = 6, cell = 5;
        for (int c = 0; c < ClassCount; c++) nameWidth = Math.Max(nameWidth, Name(c).Length);
        foreach (int v in _confusion) cell = Math.Max(cell, v.ToString(CultureInfo.InvariantCulture).Length + 1);
        var sb = new StringBuilder();
        sb.Append("confusion matrix (rows: true class, columns: predicted)\n");
        sb.Append("".PadRight(nameWidth));
        for (int j = 0; j < ClassCount; j++) sb.Append(j.ToString(CultureInfo.InvariantCulture).PadLeft(cell));
        sb.Append("  recall\n");
        for (int c = 0; c < ClassCount; c++)
        {
            sb.Append(Name(c).PadRight(nameWidth));
            for (int j = 0; j < ClassCount; j++) sb.Append(this[c, j].ToString(CultureInfo.InvariantCulture).PadLeft(cell));
            double r = Recall(c);
            sb.Append(double.IsNaN(r) ? "       -" : string.Create(CultureInfo.InvariantCulture, $"  {r * 100,5:F1} %")).Append('\n');
        }
        sb.Append(string.Create(CultureInfo.InvariantCulture,
            $"{Count} samples: loss {Loss:F4}, accuracy {Accuracy * 100:F2} %, top-{TopK} accuracy {TopKAccuracy * 100:F2} %\n"));
        return sb.ToString();
    }
}
