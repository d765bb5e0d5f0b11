using System;

namespace NetDsl.Data;

/// <summary>Images with one class label per output pixel, for dense prediction (segmentation): <see cref="Pixels"/> is
/// N·C·H·W floats, <see cref="Labels"/> N·LH·LW class indices (sample by sample, rows top to bottom), where LH×LW is the
/// network's output map (often the image size).</summary>
public sealed class PixelLabeledImages
{
    /// <param name="pixels">N·C·H·W floats.</param>
    /// <param name="labels">N·LH·LW class indices in [0, <paramref name="classCount"/>).</param>
    /// <param name="channels">C.</param>
    /// <param name="height">H.</param>
    /// <param name="width">W.</param>
    /// <param name="classCount">The number of classes.</param>
    /// <param name="labelHeight">Rows of the label map; 0: the image height.</param>
    /// <param name="labelWidth">Columns of the label map; 0: the image width.</param>
    public PixelLabeledImages(float[] pixels, int[] labels, int channels, int height, int width, int classCount, int labelHeight = 0, int labelWidth = 0)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(classCount);
        ArgumentOutOfRangeException.ThrowIfNegative(labelHeight);
        ArgumentOutOfRangeException.ThrowIfNegative(labelWidth);
        labelHeight = labelHeight == 0 ? height : labelHeight;
        labelWidth = labelWidth == 0 ? width : labelWidth;
        long sample = (long)channels * height * width, map = (long)labelHeight * labelWidth;
        if (pixels.Length % sample != 0)
            throw new ArgumentException($"pixels has length {pixels.Length}, not a multiple of one {channels}×{height}×{width} sample ({sample})", nameof(pixels));
        long count = pixels.Length / sample;
        if (labels.Length != count * map)
            throw new ArgumentException($"{count} samples need {count}·{labelHeight}·{labelWidth} = {count * map} pixel labels, got {labels.Length}", nameof(labels));
        for (int i = 0; i < labels.Length; i++)
            if ((uint)labels[i] >= (uint)classCount)
                throw new ArgumentException($"label {labels[i]} of pixel {i % map} of sample {i / map} is outside 0..{classCount - 1}", nameof(labels));
        if (NetDsl.Training.NonFiniteGuard.IndexOfNonFinite(pixels) is var at and >= 0)
            throw new ArgumentException($"pixels hold {pixels[at]} at sample {at / sample}, element {at % sample}", nameof(pixels));
        Pixels = pixels; Labels = labels; Channels = channels; Height = height; Width = width; ClassCount = classCount;
        LabelHeight = labelHeight; LabelWidth = labelWidth; Count = (int)count;
    }

    public float[] Pixels { get; }
    /// <summary>N·LH·LW class indices.</summary>
    public int[] Labels { get; }
    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    public int ClassCount { get; }
    public int LabelHeight { get; }
    public int LabelWidth { get; }
    public int SampleSize => Channels * Height * Width;
    /// <summary>Labels per sample: LH·LW.</summary>
    public int LabelsPerSample => LabelHeight * LabelWidth;
}

/// <summary>Images with a vector of real-valued targets each (regression: keypoint coordinates, boxes, ...):
/// <see cref="Pixels"/> is N·C·H·W floats, <see cref="Targets"/> N·<see cref="TargetSize"/> floats.</summary>
public sealed class RegressionImages
{
    public RegressionImages(float[] pixels, float[] targets, int channels, int height, int width, int targetSize)
    {
        ArgumentNullException.ThrowIfNull(pixels);
        ArgumentNullException.ThrowIfNull(targets);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(channels);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(height);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(width);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(targetSize);
        long sample = (long)channels * height * width;
        if (pixels.Length % sample != 0)
            throw new ArgumentException($"pixels has length {pixels.Length}, not a multiple of one {channels}×{height}×{width} sample ({sample})", nameof(pixels));
        long count = pixels.Length / sample;
        if (targets.Length != count * targetSize)
            throw new ArgumentException($"{count} samples need {count}·{targetSize} = {count * targetSize} targets, got {targets.Length}", nameof(targets));
        if (NetDsl.Training.NonFiniteGuard.IndexOfNonFinite(pixels) is var at and >= 0)
            throw new ArgumentException($"pixels hold {pixels[at]} at sample {at / sample}, element {at % sample}", nameof(pixels));
        if (NetDsl.Training.NonFiniteGuard.IndexOfNonFinite(targets) is var t and >= 0)
            throw new ArgumentException($"targets hold {targets[t]} at sample {t / targetSize}, element {t % targetSize}", nameof(targets));
        Pixels = pixels; Targets = targets; Channels = channels; Height = height; Width = width; TargetSize = targetSize; Count = (int)count;
    }

    public float[] Pixels { get; }
    public float[] Targets { get; }
    public int Count { get; }
    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }
    /// <summary>Targets per sample.</summary>
    public int TargetSize { get; }
    public int SampleSize => Channels * Height * Width;
}
