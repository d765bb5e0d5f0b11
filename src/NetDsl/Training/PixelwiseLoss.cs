using System;

namespace NetDsl.Training;

/// <summary>
/// Cross-entropy at every pixel of a dense prediction (the notes' loss layer Σᵢⱼ over pixels; segmentation): logits
/// [N, C, H, W], softmax over the C classes at each pixel, one label per pixel ([N, H, W], row-major), the mean over the
/// N·H·W pixels (with class weights: divided by the sum of the pixels' label weights), as PyTorch's
/// <c>F.cross_entropy</c> on a 4-D input. <c>features</c> is C·H·W, the network's output size.
/// </summary>
public sealed class PixelwiseSoftmaxCrossEntropy : Loss
{
    private readonly float[]? _weights;

    /// <param name="classes">C, the number of classes (the output's channels).</param>
    public PixelwiseSoftmaxCrossEntropy(int classes) : this(classes, ReadOnlySpan<float>.Empty) { }

    /// <param name="classes">C, the number of classes (the output's channels).</param>
    /// <param name="classWeights">One non-negative weight per class; empty for none.</param>
    public PixelwiseSoftmaxCrossEntropy(int classes, ReadOnlySpan<float> classWeights)
    {
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, $"classes must be at least 2, got {classes}");
        Classes = classes;
        _weights = LossChecks.CopyWeights(classWeights, nameof(classWeights));
        LossChecks.ClassWeights(_weights, classes);
    }

    public int Classes { get; }

    public ReadOnlySpan<float> ClassWeights => _weights;

    /// <summary>H·W for outputs of <paramref name="features"/> floats per sample.</summary>
    private int Pixels(int features)
    {
        if (features % Classes != 0)
            throw new ArgumentException($"features {features} (the output's C·H·W) is not a multiple of the {Classes} classes", nameof(features));
        return features / Classes;
    }

    /// <summary>Hard labels: one class per pixel, batch·H·W of them, sample by sample, rows top to bottom. Returns the mean
    /// loss and writes its gradient into <paramref name="outputGradient"/> (output, gradient: [batch, features]).</summary>
    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length);
        int pixels = Pixels(features), classes = Classes;
        if (labels.Length != (long)batch * pixels)
            throw new ArgumentException($"labels has length {labels.Length}, expected one per pixel: batch·H·W = {batch}·{pixels} = {(long)batch * pixels}", nameof(labels));
        double weightSum = 0;
        for (int i = 0; i < labels.Length; i++)
        {
            if ((uint)labels[i] >= (uint)classes)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"label {labels[i]} of pixel {i % pixels} of sample {i / pixels} is out of range for {classes} classes");
            weightSum += _weights is null ? 1 : _weights[labels[i]];
        }
        double loss = 0;
        Span<float> column = classes <= 256 ? stackalloc float[classes] : new float[classes];
        for (int n = 0; n < batch; n++)
        {
            var x = output.Slice(n * features, features);
            var g = outputGradient.Slice(n * features, features);
            for (int p = 0; p < pixels; p++)
            {
                for (int c = 0; c < classes; c++) column[c] = x[c * pixels + p];
                int y = labels[n * pixels + p];
                float w = _weights is null ? 1f : _weights[y];
                float lse = LossChecks.LogSumExp(column);
                loss += w * ((double)lse - column[y]);
                float scale = (float)(w / weightSum);
                for (int c = 0; c < classes; c++) g[c * pixels + p] = MathF.Exp(column[c] - lse) * scale;
                g[y * pixels + p] -= scale;
            }
        }
        return (float)(loss / weightSum);
    }

    /// <summary>Soft targets [N, C, H, W]: at each pixel a distribution over the classes; the mean over the N·H·W pixels.</summary>
    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, targets.Length);
        int pixels = Pixels(features), classes = Classes;
        double count = (double)batch * pixels, loss = 0;
        Span<float> column = classes <= 256 ? stackalloc float[classes] : new float[classes];
        for (int n = 0; n < batch; n++)
        {
            var x = output.Slice(n * features, features);
            var t = targets.Slice(n * features, features);
            var g = outputGradient.Slice(n * features, features);
            for (int p = 0; p < pixels; p++)
            {
                for (int c = 0; c < classes; c++) column[c] = x[c * pixels + p];
                float lse = LossChecks.LogSumExp(column);
                // L = Σ_k w_k t_k (lse − x_k) ⇒ dL/dx_j = p_j Σ_k w_k t_k − w_j t_j.
                double mass = 0;
                for (int k = 0; k < classes; k++)
                {
                    double wk = (_weights is null ? 1.0 : _weights[k]) * t[k * pixels + p];
                    mass += wk;
                    loss += wk * ((double)lse - column[k]);
                }
                for (int j = 0; j < classes; j++)
                {
                    double wj = (_weights is null ? 1.0 : _weights[j]) * t[j * pixels + p];
                    g[j * pixels + p] = (float)((MathF.Exp(column[j] - lse) * mass - wj) / count);
                }
            }
        }
        return (float)(loss / count);
    }
}
