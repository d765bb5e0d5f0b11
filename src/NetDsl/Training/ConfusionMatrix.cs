using System;

namespace NetDsl.Training;

/// <summary>Counts (true class, predicted class) over pixels for dense prediction; the prediction at a pixel is the argmax
/// over the channels (the first maximum on ties) of an output laid out [N, C, H, W]. Gives pixel accuracy, per-class
/// intersection over union IoU_c = TP_c / (TP_c + FP_c + FN_c) and their mean.</summary>
public sealed class ConfusionMatrix
{
    readonly long[] _counts;

    public ConfusionMatrix(int classes)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classes);
        Classes = classes;
        _counts = new long[classes * classes];
    }

    public int Classes { get; }

    /// <summary>Pixels of true class <paramref name="truth"/> predicted as <paramref name="predicted"/>.</summary>
    public long this[int truth, int predicted] => _counts[truth * Classes + predicted];

    /// <summary>All pixels counted.</summary>
    public long Total { get; private set; }

    /// <summary>Adds <paramref name="batch"/> samples: <paramref name="output"/> batch·C·P floats, <paramref name="labels"/> batch·P classes (P = H·W).
    /// Returns how many of them were right.</summary>
    public long Add(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batch);
        if (labels.Length % batch != 0)
            throw new ArgumentException($"labels has length {labels.Length}, not a multiple of batch {batch}", nameof(labels));
        int pixels = labels.Length / batch, classes = Classes;
        if (output.Length != (long)batch * classes * pixels)
            throw new ArgumentException($"output has length {output.Length}, expected batch·C·H·W = {batch}·{classes}·{pixels} = {(long)batch * classes * pixels}", nameof(output));
        long right = 0;
        for (int n = 0; n < batch; n++)
        {
            var x = output.Slice(n * classes * pixels, classes * pixels);
            for (int p = 0; p < pixels; p++)
            {
                int truth = labels[n * pixels + p];
                if ((uint)truth >= (uint)classes)
                    throw new ArgumentOutOfRangeException(nameof(labels), truth, $"label {truth} of pixel {p} of sample {n} is out of range for {classes} classes");
                int best = 0;
                for (int c = 1; c < classes; c++)
                    if (x[c * pixels + p] > x[best * pixels + p]) best = c;
                _counts[truth * classes + best]++;
                if (best == truth) right++;
            }
        }
        Total += (long)batch * pixels;
        return right;
    }

    /// <summary>Correct pixels / all pixels (NaN when empty).</summary>
    public double PixelAccuracy
    {
        get
        {
            long right = 0;
            for (int c = 0; c < Classes; c++) right += this[c, c];
            return Total == 0 ? double.NaN : (double)right / Total;
        }
    }

    /// <summary>TP / (TP + FP + FN) of class <paramref name="c"/>; NaN when the class is neither present nor predicted.</summary>
    public double IoU(int c)
    {
        if ((uint)c >= (uint)Classes) throw new ArgumentOutOfRangeException(nameof(c), c, $"class must be in 0..{Classes - 1}");
        long tp = this[c, c], fp = 0, fn = 0;
        for (int k = 0; k < Classes; k++)
        {
            if (k == c) continue;
            fp += this[k, c];
            fn += this[c, k];
        }
        long union = tp + fp + fn;
        return union == 0 ? double.NaN : (double)tp / union;
    }

    /// <summary>Every class's <see cref="IoU"/>.</summary>
    public double[] ClassIoU()
    {
        var result = new double[Classes];
        for (int c = 0; c < Classes; c++) result[c] = IoU(c);
        return result;
    }

    /// <summary>The mean of the defined (non-NaN) class IoUs; NaN when none is.</summary>
    public double MeanIoU
    {
        get
        {
            double sum = 0;
            int n = 0;
            for (int c = 0; c < Classes; c++)
                if (IoU(c) is var v && !double.IsNaN(v)) { sum += v; n++; }
            return n == 0 ? double.NaN : sum / n;
        }
    }
}
