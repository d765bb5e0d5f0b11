using System;

namespace NetDsl.Training;

/// <summary>A loss over a batch of network outputs. Reductions follow PyTorch's default 'mean'.</summary>
public abstract class Loss
{
    /// <summary>Loss of <paramref name="batch"/> rows of <paramref name="features"/> outputs against class labels; writes dL/d(output) into <paramref name="outputGradient"/>.</summary>
    public abstract float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient);

    /// <summary>Loss against dense targets (same shape as the output); writes dL/d(output).</summary>
    public abstract float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient);
}
