using System;
using System.Numerics;

namespace NetDsl.Training;

/// <summary>Shape and label checks shared by the losses.</summary>
internal static class LossChecks
{
    /// <summary>The divisor of a mean over labels: the batch size, or Σ w[label] with class weights (PyTorch).</summary>
    public static double WeightSum(float[]? weights, ReadOnlySpan<int> labels, int batch)
    {
        if (weights is null) return batch;
        double sum = 0;
        for (int n = 0; n < batch; n++) sum += weights[labels[n]];
        return sum;
    }

    public static void Shape(int batch, int features, int outputLength, int gradientLength)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be positive, got {batch}");
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, $"features must be positive, got {features}");
        long expected = (long)batch * features;
        if (outputLength != expected)
            throw new ArgumentException($"output has length {outputLength}, expected batch*features = {batch}*{features} = {expected}", "output");
        if (gradientLength != expected)
            throw new ArgumentException($"outputGradient has length {gradientLength}, expected batch*features = {batch}*{features} = {expected}", "outputGradient");
    }

    public static void Shape(int batch, int features, int outputLength, int gradientLength, ReadOnlySpan<int> labels)
    {
        Shape(batch, features, outputLength, gradientLength);
        if (labels.Length != batch)
            throw new ArgumentException($"labels has length {labels.Length}, expected batch = {batch}", nameof(labels));
        for (int n = 0; n < labels.Length; n++)
            if ((uint)labels[n] >= (uint)features)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[n], $"label {labels[n]} at index {n} is out of range for {features} classes");
    }

    public static void Shape(int batch, int features, int outputLength, int gradientLength, int targetsLength)
    {
        Shape(batch, features, outputLength, gradientLength);
        if (targetsLength != outputLength)
            throw new ArgumentException($"targets has length {targetsLength}, expected batch*features = {batch}*{features} = {outputLength}", "targets");
    }

    public static void ClassWeights(float[]? weights, int features)
    {
        if (weights is not null && weights.Length != features)
            throw new ArgumentException($"classWeights has length {weights.Length}, expected one weight per class = {features}", "classWeights");
    }

    public static float[]? CopyWeights(ReadOnlySpan<float> weights, string name)
    {
        if (weights.IsEmpty) return null;
        for (int i = 0; i < weights.Length; i++)
            if (!(weights[i] >= 0) || float.IsInfinity(weights[i]))
                throw new ArgumentOutOfRangeException(name, weights[i], $"{name}[{i}] must be finite and >= 0, got {weights[i]}");
        return weights.ToArray();
    }

    /// <summary>Max of a row (vectorized); NaN propagation is not needed since the exp/log that follows propagates it.</summary>
    public static float Max(ReadOnlySpan<float> row)
    {
        int i = 0;
        float max = float.NegativeInfinity;
        if (Vector.IsHardwareAccelerated && row.Length >= Vector<float>.Count)
        {
            var vmax = new Vector<float>(row);
            for (i = Vector<float>.Count; i <= row.Length - Vector<float>.Count; i += Vector<float>.Count)
                vmax = Vector.Max(vmax, new Vector<float>(row.Slice(i)));
            for (int k = 0; k < Vector<float>.Count; k++) max = MathF.Max(max, vmax[k]);
        }
        for (; i < row.Length; i++) max = MathF.Max(max, row[i]);
        return max;
    }

    /// <summary>log Σ exp(row), shifted by the max so logits around ±100 do not overflow.</summary>
    public static float LogSumExp(ReadOnlySpan<float> row)
    {
        float max = Max(row);
        if (float.IsNegativeInfinity(max) || float.IsPositiveInfinity(max)) return max;
        double sum = 0;
        for (int j = 0; j < row.Length; j++) sum += MathF.Exp(row[j] - max);
        return max + (float)Math.Log(sum);
    }

    /// <summary>grad = scale·(y − t) over whole spans; returns Σ(y − t)² in float64.</summary>
    public static double SquaredError(ReadOnlySpan<float> y, ReadOnlySpan<float> t, Span<float> grad, float scale)
    {
        int i = 0;
        double sum = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vs = new Vector<float>(scale);
            var acc = Vector<double>.Zero;
            for (; i <= y.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var d = new Vector<float>(y.Slice(i)) - new Vector<float>(t.Slice(i));
                (d * vs).CopyTo(grad.Slice(i));
                Vector.Widen(d, out Vector<double> lo, out Vector<double> hi);
                acc += lo * lo + hi * hi;
            }
            sum = Vector.Sum(acc);
        }
        for (; i < y.Length; i++)
        {
            float d = y[i] - t[i];
            grad[i] = scale * d;
            sum += (double)d * d;
        }
        return sum;
    }

    /// <summary>Same with a one-hot target per row.</summary>
    public static double SquaredError(ReadOnlySpan<float> y, ReadOnlySpan<int> labels, int features, Span<float> grad, float scale)
    {
        double sum = 0;
        for (int n = 0; n < labels.Length; n++)
        {
            int row = n * features, label = row + labels[n];
            for (int i = row; i < row + features; i++)
            {
                float d = i == label ? y[i] - 1f : y[i];
                grad[i] = scale * d;
                sum += (double)d * d;
            }
        }
        return sum;
    }
}

/// <summary>Softmax followed by cross-entropy (PyTorch's <c>F.cross_entropy</c> on logits), mean over the batch.</summary>
/// <remarks>With class weights the labels overload divides by Σ w[label] (as PyTorch does); the soft-target overload
/// divides by the batch size, also as PyTorch does for probability targets.</remarks>
public sealed class SoftmaxCrossEntropy : Loss
{
    readonly float[]? _weights;

    public SoftmaxCrossEntropy() { }

    /// <param name="classWeights">One non-negative weight per class; empty for none.</param>
    public SoftmaxCrossEntropy(ReadOnlySpan<float> classWeights) => _weights = LossChecks.CopyWeights(classWeights, "classWeights");

    public ReadOnlySpan<float> ClassWeights => _weights;

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, labels);
        LossChecks.ClassWeights(_weights, features);
        double weightSum = LossChecks.WeightSum(_weights, labels, batch);
        double loss = 0;
        for (int n = 0; n < batch; n++)
        {
            var x = output.Slice(n * features, features);
            var g = outputGradient.Slice(n * features, features);
            int y = labels[n];
            float w = _weights is null ? 1f : _weights[y];
            float lse = LossChecks.LogSumExp(x);
            loss += w * ((double)lse - x[y]);
            float scale = (float)(w / weightSum);
            for (int j = 0; j < features; j++) g[j] = MathF.Exp(x[j] - lse) * scale;
            g[y] -= scale;
        }
        return (float)(loss / weightSum);
    }

    /// <summary>Soft targets: each row of <paramref name="targets"/> is a probability distribution.</summary>
    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, targets.Length);
        LossChecks.ClassWeights(_weights, features);
        double loss = 0;
        float invBatch = 1f / batch;
        for (int n = 0; n < batch; n++)
        {
            var x = output.Slice(n * features, features);
            var t = targets.Slice(n * features, features);
            var g = outputGradient.Slice(n * features, features);
            float lse = LossChecks.LogSumExp(x);
            // L = Σ_k w_k t_k (lse − x_k) ⇒ dL/dx_j = p_j Σ_k w_k t_k − w_j t_j.
            double wt = 0;
            for (int k = 0; k < features; k++)
            {
                double wk = _weights is null ? t[k] : (double)_weights[k] * t[k];
                wt += wk;
                loss += wk * ((double)lse - x[k]);
            }
            float mass = (float)wt;
            for (int j = 0; j < features; j++)
            {
                float wj = _weights is null ? t[j] : _weights[j] * t[j];
                g[j] = (MathF.Exp(x[j] - lse) * mass - wj) * invBatch;
            }
        }
        return (float)(loss / batch);
    }
}

/// <summary>PyTorch's <c>MSELoss</c> ('mean'): Σ(y − t)² / (batch·features); the labels overload uses one-hot targets.</summary>
public sealed class MeanSquaredError : Loss
{
    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, labels);
        int count = batch * features;
        return (float)(LossChecks.SquaredError(output, labels, features, outputGradient, 2f / count) / count);
    }

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, targets.Length);
        int count = batch * features;
        return (float)(LossChecks.SquaredError(output, targets, outputGradient, 2f / count) / count);
    }
}

/// <summary>Σ(y − t)² with no averaging (PyTorch's <c>MSELoss(reduction='sum')</c>); gradient 2(y − t).</summary>
public sealed class SumSquaredError : Loss
{
    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, labels);
        return (float)LossChecks.SquaredError(output, labels, features, outputGradient, 2f);
    }

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, targets.Length);
        return (float)LossChecks.SquaredError(output, targets, outputGradient, 2f);
    }
}

/// <summary>Sigmoid + binary cross-entropy on logits (PyTorch's <c>binary_cross_entropy_with_logits</c>), mean over all
/// batch·features elements. Soft targets are allowed; the labels overload uses one-hot targets.</summary>
public sealed class BinaryCrossEntropyWithLogits : Loss
{
    readonly float[]? _posWeight;

    public BinaryCrossEntropyWithLogits() { }

    /// <param name="posWeight">One non-negative weight per feature for the positive term; empty for none.</param>
    public BinaryCrossEntropyWithLogits(ReadOnlySpan<float> posWeight) => _posWeight = LossChecks.CopyWeights(posWeight, "posWeight");

    public ReadOnlySpan<float> PosWeight => _posWeight;

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, labels);
        CheckPosWeight(features);
        int count = batch * features;
        double loss = 0;
        for (int n = 0; n < batch; n++)
            for (int j = 0; j < features; j++)
            {
                int i = n * features + j;
                loss += Element(output[i], j == labels[n] ? 1f : 0f, j, count, out outputGradient[i]);
            }
        return (float)(loss / count);
    }

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, targets.Length);
        CheckPosWeight(features);
        int count = batch * features;
        double loss = 0;
        for (int i = 0; i < count; i++)
            loss += Element(output[i], targets[i], i % features, count, out outputGradient[i]);
        return (float)(loss / count);
    }

    void CheckPosWeight(int features)
    {
        if (_posWeight is not null && _posWeight.Length != features)
            throw new ArgumentException($"posWeight has length {_posWeight.Length}, expected one weight per feature = {features}", "posWeight");
    }

    // loss = (1−t)x + lw·softplus(−x), lw = 1 + (pw−1)t; softplus(−x) = log1p(e^−|x|) + max(−x, 0) is stable.
    double Element(float x, float t, int feature, int count, out float grad)
    {
        float lw = _posWeight is null ? 1f : 1f + (_posWeight[feature] - 1f) * t;
        float e = MathF.Exp(-MathF.Abs(x));
        double softplusNeg = Math.Log(1.0 + e) + Math.Max(-x, 0f);
        float sigmaNeg = x >= 0 ? e / (1f + e) : 1f / (1f + e); // σ(−x)
        grad = ((1f - t) - lw * sigmaNeg) / count;
        return (1.0 - t) * x + lw * softplusNeg;
    }
}

/// <summary>Negative log-likelihood of log-probabilities (PyTorch's <c>NLLLoss</c>), mean over the batch, or over
/// Σ w[label] with class weights. Feed it <see cref="LogSoftmax"/> output to get cross-entropy.</summary>
public sealed class NegativeLogLikelihood : Loss
{
    readonly float[]? _weights;

    public NegativeLogLikelihood() { }

    public NegativeLogLikelihood(ReadOnlySpan<float> classWeights) => _weights = LossChecks.CopyWeights(classWeights, "classWeights");

    public ReadOnlySpan<float> ClassWeights => _weights;

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, labels);
        LossChecks.ClassWeights(_weights, features);
        double weightSum = LossChecks.WeightSum(_weights, labels, batch);
        outputGradient.Clear();
        double loss = 0;
        for (int n = 0; n < batch; n++)
        {
            int y = labels[n];
            float w = _weights is null ? 1f : _weights[y];
            loss -= w * (double)output[n * features + y];
            outputGradient[n * features + y] = (float)(-w / weightSum);
        }
        return (float)(loss / weightSum);
    }

    /// <summary>Soft targets: −Σ_k w_k t_k logp_k averaged over the batch (PyTorch's probability-target convention).</summary>
    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, targets.Length);
        LossChecks.ClassWeights(_weights, features);
        double loss = 0;
        float invBatch = 1f / batch;
        for (int i = 0; i < output.Length; i++)
        {
            float wt = _weights is null ? targets[i] : _weights[i % features] * targets[i];
            loss -= (double)wt * output[i];
            outputGradient[i] = -wt * invBatch;
        }
        return (float)(loss / batch);
    }

    /// <summary>Row-wise log-softmax: logp = x − logΣexp(x), stable for large logits.</summary>
    public static void LogSoftmax(ReadOnlySpan<float> input, int batch, int features, Span<float> logProbs)
    {
        LossChecks.Shape(batch, features, input.Length, logProbs.Length);
        for (int n = 0; n < batch; n++)
        {
            var x = input.Slice(n * features, features);
            var y = logProbs.Slice(n * features, features);
            float lse = LossChecks.LogSumExp(x);
            for (int j = 0; j < features; j++) y[j] = x[j] - lse;
        }
    }

    /// <summary>Backward of <see cref="LogSoftmax"/>: dx = g − softmax·Σg, per row.</summary>
    public static void LogSoftmaxBackward(ReadOnlySpan<float> logProbs, ReadOnlySpan<float> gradient, int batch, int features, Span<float> inputGradient)
    {
        LossChecks.Shape(batch, features, logProbs.Length, inputGradient.Length);
        if (gradient.Length != logProbs.Length)
            throw new ArgumentException($"gradient has length {gradient.Length}, expected batch*features = {logProbs.Length}", nameof(gradient));
        for (int n = 0; n < batch; n++)
        {
            var lp = logProbs.Slice(n * features, features);
            var g = gradient.Slice(n * features, features);
            var dx = inputGradient.Slice(n * features, features);
            double sum = 0;
            for (int j = 0; j < features; j++) sum += g[j];
            float s = (float)sum;
            for (int j = 0; j < features; j++) dx[j] = g[j] - MathF.Exp(lp[j]) * s;
        }
    }
}

/// <summary>PyTorch's <c>MultiMarginLoss</c>: (1/C) Σ_{j≠y} w_y·max(0, margin − x_y + x_j)^p, mean over the batch.
/// Only class labels make sense for it; the dense-target overload throws.</summary>
public sealed class MultiMarginLoss : Loss
{
    readonly float[]? _weights;

    public MultiMarginLoss(int p = 1, float margin = 1f) : this(p, margin, ReadOnlySpan<float>.Empty) { }

    public MultiMarginLoss(int p, float margin, ReadOnlySpan<float> classWeights)
    {
        if (p is not (1 or 2)) throw new ArgumentOutOfRangeException(nameof(p), p, $"p must be 1 or 2, got {p}");
        if (!float.IsFinite(margin)) throw new ArgumentOutOfRangeException(nameof(margin), margin, $"margin must be finite, got {margin}");
        P = p;
        Margin = margin;
        _weights = LossChecks.CopyWeights(classWeights, "classWeights");
    }

    public int P { get; }
    public float Margin { get; }
    public ReadOnlySpan<float> ClassWeights => _weights;

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features, Span<float> outputGradient)
    {
        LossChecks.Shape(batch, features, output.Length, outputGradient.Length, labels);
        LossChecks.ClassWeights(_weights, features);
        double loss = 0;
        float scale = 1f / ((float)features * batch);
        for (int n = 0; n < batch; n++)
        {
            var x = output.Slice(n * features, features);
            var g = outputGradient.Slice(n * features, features);
            int y = labels[n];
            float w = _weights is null ? 1f : _weights[y];
            float xy = x[y], gy = 0;
            for (int j = 0; j < features; j++)
            {
                float z = Margin - xy + x[j];
                // PyTorch uses a strict z > 0 in both passes, so z == 0 contributes no gradient.
                if (j == y || !(z > 0)) { g[j] = 0; continue; }
                loss += P == 1 ? (double)w * z : (double)w * z * z;
                float gj = (P == 1 ? w : 2f * w * z) * scale;
                g[j] = gj;
                gy -= gj;
            }
            g[y] = gy;
        }
        return (float)(loss / features / batch);
    }

    public override float Compute(ReadOnlySpan<float> output, ReadOnlySpan<float> targets, int batch, int features, Span<float> outputGradient) =>
        throw new NotSupportedException("MultiMarginLoss needs class labels; call the overload that takes ReadOnlySpan<int> labels");
}

/// <summary>Explicit L1/L2 penalty on a weight tensor, as the goldens define it.</summary>
public static class Regularization
{
    /// <summary>Adds l2·W + l1·sign(W) (sign(0) = 0) into <paramref name="gradients"/> and returns 0.5·l2·ΣW² + l1·Σ|W|.
    /// The 0.5 makes l2 equal an optimizer's weight decay.</summary>
    public static float Apply(ReadOnlySpan<float> weights, Span<float> gradients, float l1, float l2) =>
        Apply(weights, gradients, l1, l2, out _, out _);

    /// <summary>As <see cref="Apply(ReadOnlySpan{float}, Span{float}, float, float)"/>, also reporting the two terms separately.</summary>
    public static float Apply(ReadOnlySpan<float> weights, Span<float> gradients, float l1, float l2, out float l2Term, out float l1Term)
    {
        if (!(l1 >= 0) || float.IsInfinity(l1)) throw new ArgumentOutOfRangeException(nameof(l1), l1, $"l1 must be finite and >= 0, got {l1}");
        if (!(l2 >= 0) || float.IsInfinity(l2)) throw new ArgumentOutOfRangeException(nameof(l2), l2, $"l2 must be finite and >= 0, got {l2}");
        if (gradients.Length != weights.Length)
            throw new ArgumentException($"gradients has length {gradients.Length}, expected the weights' length {weights.Length}", nameof(gradients));
        double sq = 0, abs = 0;
        int i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            var vl1 = new Vector<float>(l1);
            var vl2 = new Vector<float>(l2);
            var sqAcc = Vector<double>.Zero;
            var absAcc = Vector<double>.Zero;
            for (; i <= weights.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                var w = new Vector<float>(weights.Slice(i));
                var sign = Vector.ConditionalSelect(Vector.GreaterThan(w, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero)
                         - Vector.ConditionalSelect(Vector.LessThan(w, Vector<float>.Zero), Vector<float>.One, Vector<float>.Zero);
                var g = new Vector<float>(gradients.Slice(i)) + vl2 * w + vl1 * sign;
                g.CopyTo(gradients.Slice(i));
                Vector.Widen(w, out Vector<double> lo, out Vector<double> hi);
                sqAcc += lo * lo + hi * hi;
                absAcc += Vector.Abs(lo) + Vector.Abs(hi);
            }
            sq = Vector.Sum(sqAcc);
            abs = Vector.Sum(absAcc);
        }
        for (; i < weights.Length; i++)
        {
            float w = weights[i];
            float sign = w > 0 ? 1f : w < 0 ? -1f : 0f;
            gradients[i] += l2 * w + l1 * sign;
            sq += (double)w * w;
            abs += Math.Abs(w);
        }
        l2Term = (float)(0.5 * l2 * sq);
        l1Term = (float)(l1 * abs);
        return (float)(0.5 * l2 * sq + l1 * abs);
    }
}

/// <summary>Batch metrics.</summary>
public static class Metrics
{
    /// <summary>Number of rows whose argmax (the first maximum on ties) equals the label.</summary>
    public static int CountCorrect(ReadOnlySpan<float> output, ReadOnlySpan<int> labels, int batch, int features)
    {
        if (batch <= 0) throw new ArgumentOutOfRangeException(nameof(batch), batch, $"batch must be positive, got {batch}");
        if (features <= 0) throw new ArgumentOutOfRangeException(nameof(features), features, $"features must be positive, got {features}");
        if (output.Length != (long)batch * features)
            throw new ArgumentException($"output has length {output.Length}, expected batch*features = {batch}*{features} = {(long)batch * features}", nameof(output));
        if (labels.Length != batch)
            throw new ArgumentException($"labels has length {labels.Length}, expected batch = {batch}", nameof(labels));
        for (int n = 0; n < batch; n++)
            if ((uint)labels[n] >= (uint)features)
                throw new ArgumentOutOfRangeException(nameof(labels), labels[n], $"label {labels[n]} at index {n} is out of range for {features} classes");
        int correct = 0;
        for (int n = 0; n < batch; n++)
        {
            var row = output.Slice(n * features, features);
            int best = 0;
            for (int j = 1; j < row.Length; j++)
                if (row[j] > row[best]) best = j;
            if (best == labels[n]) correct++;
        }
        return correct;
    }
}
