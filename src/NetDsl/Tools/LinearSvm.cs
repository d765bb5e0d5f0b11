using System;

namespace NetDsl.Tools;

/// <summary>Settings of <see cref="LinearSvm.Train"/>.</summary>
public sealed record LinearSvmOptions
{
    /// <summary>C, the weight of the hinge losses against ½‖w‖² (larger: fewer margin violations, less regularization).</summary>
    public double C { get; init; } = 1.0;
    /// <summary>The most passes of dual coordinate descent over the data, per class.</summary>
    public int MaxPasses { get; init; } = 50;
    /// <summary>Stop a class when the projected gradients of a pass span less than this (LIBLINEAR's criterion).</summary>
    public double Tolerance { get; init; } = 0.1;
    /// <summary>Standardize each feature with the training set's mean and standard deviation (kept in the model).</summary>
    public bool Standardize { get; init; } = true;
    /// <summary>Seed of the order in which the samples are visited.</summary>
    public int Seed { get; init; } = 1;
}

/// <summary>
/// A multiclass linear SVM, one-vs-rest (the notes' "CNN codes + linear SVM"): for each class k, with y = +1 on class k and
/// −1 elsewhere, it minimizes ½(‖w_k‖² + b_k²) + C·Σᵢ max(0, 1 − yᵢ(w_k·xᵢ + b_k)) (the hinge loss; the bias is regularized as
/// in LIBLINEAR) by dual coordinate descent (Hsieh et al. 2008), and predicts the class with the largest score.
/// </summary>
public sealed class LinearSvm
{
    private readonly double[] _weights; // [classes, features], on standardized features
    private readonly double[] _bias;
    private readonly float[] _mean, _scale;

    private LinearSvm(int classes, int features, double[] weights, double[] bias, float[] mean, float[] scale)
    {
        Classes = classes; Features = features; _weights = weights; _bias = bias; _mean = mean; _scale = scale;
    }

    /// <summary>Number of classes.</summary>
    public int Classes { get; }
    /// <summary>Floats per sample.</summary>
    public int Features { get; }
    /// <summary>The weights [Classes, Features], for standardized features when the model standardizes.</summary>
    public ReadOnlySpan<double> Weights => _weights;
    /// <summary>The biases [Classes].</summary>
    public ReadOnlySpan<double> Bias => _bias;

    /// <summary>Trains on the samples of <paramref name="x"/> (labels.Length samples of <paramref name="features"/> floats each), labels in 0..classes−1.</summary>
    public static LinearSvm Train(ReadOnlySpan<float> x, ReadOnlySpan<int> labels, int features, int classes, LinearSvmOptions? options = null)
    {
        options ??= new LinearSvmOptions();
        if (features < 1) throw new ArgumentOutOfRangeException(nameof(features), features, "features must be at least 1");
        if (classes < 2) throw new ArgumentOutOfRangeException(nameof(classes), classes, "classes must be at least 2");
        if (!(options.C > 0) || !double.IsFinite(options.C)) throw new ArgumentOutOfRangeException(nameof(options), options.C, "C must be a positive finite number");
        if (options.MaxPasses < 1) throw new ArgumentOutOfRangeException(nameof(options), options.MaxPasses, "MaxPasses must be at least 1");
        int count = labels.Length;
        if ((long)count * features != x.Length) throw new ArgumentException($"x has {x.Length} floats, expected {count} labels × {features} features", nameof(x));
        for (int i = 0; i < count; i++)
            if ((uint)labels[i] >= (uint)classes) throw new ArgumentOutOfRangeException(nameof(labels), labels[i], $"label {i} is {labels[i]}, expected 0..{classes - 1}");

        var mean = new float[features];
        var scale = new float[features];
        scale.AsSpan().Fill(1);
        if (options.Standardize && count > 0)
        {
            var sum = new double[features];
            var squares = new double[features];
            for (int i = 0; i < count; i++)
                for (int f = 0; f < features; f++) { double v = x[i * features + f]; sum[f] += v; squares[f] += v * v; }
            for (int f = 0; f < features; f++)
            {
                double m = sum[f] / count, variance = Math.Max(0, squares[f] / count - m * m);
                mean[f] = (float)m;
                scale[f] = variance > 1e-12 ? (float)(1 / Math.Sqrt(variance)) : 1f; // a constant feature stays as it is, centred
            }
        }
        var z = new float[x.Length];
        for (int i = 0; i < count; i++)
            for (int f = 0; f < features; f++) z[i * features + f] = (x[i * features + f] - mean[f]) * scale[f];

        var weights = new double[classes * features];
        var bias = new double[classes];
        var q = new double[count];
        for (int i = 0; i < count; i++)
        {
            double s = 1; // the bias's constant feature
            for (int f = 0; f < features; f++) s += (double)z[i * features + f] * z[i * features + f];
            q[i] = s;
        }
        var order = new int[count];
        var alpha = new double[count];
        for (int k = 0; k < classes; k++)
        {
            var w = weights.AsSpan(k * features, features);
            double b = 0;
            Array.Clear(alpha);
            for (int i = 0; i < count; i++) order[i] = i;
            var rng = new Random(options.Seed + k);
            for (int pass = 0; pass < options.MaxPasses; pass++)
            {
                rng.Shuffle(order);
                double maxPg = double.NegativeInfinity, minPg = double.PositiveInfinity;
                foreach (int i in order)
                {
                    double y = labels[i] == k ? 1 : -1;
                    var xi = z.AsSpan(i * features, features);
                    double score = b;
                    for (int f = 0; f < features; f++) score += w[f] * xi[f];
                    double g = y * score - 1;
                    double pg = alpha[i] == 0 ? Math.Min(g, 0) : alpha[i] == options.C ? Math.Max(g, 0) : g;
                    maxPg = Math.Max(maxPg, pg);
                    minPg = Math.Min(minPg, pg);
                    if (Math.Abs(pg) < 1e-12) continue;
                    double old = alpha[i];
                    alpha[i] = Math.Min(Math.Max(old - g / q[i], 0), options.C);
                    double step = (alpha[i] - old) * y;
                    for (int f = 0; f < features; f++) w[f] += step * xi[f];
                    b += step;
                }
                if (maxPg - minPg < options.Tolerance) break;
            }
            bias[k] = b;
        }
        return new LinearSvm(classes, features, weights, bias, mean, scale);
    }

    /// <summary>The class with the largest score w_k·x + b_k (x standardized as in training).</summary>
    public int Predict(ReadOnlySpan<float> x)
    {
        if (x.Length != Features) throw new ArgumentException($"x has {x.Length} floats, expected {Features}", nameof(x));
        int best = 0;
        double bestScore = double.NegativeInfinity;
        for (int k = 0; k < Classes; k++)
        {
            double s = _bias[k];
            for (int f = 0; f < Features; f++) s += _weights[k * Features + f] * ((x[f] - _mean[f]) * _scale[f]);
            if (s > bestScore) { bestScore = s; best = k; }
        }
        return best;
    }

    /// <summary>The share of samples whose predicted class is their label.</summary>
    public double Accuracy(ReadOnlySpan<float> x, ReadOnlySpan<int> labels)
    {
        if ((long)labels.Length * Features != x.Length) throw new ArgumentException($"x has {x.Length} floats, expected {labels.Length} labels × {Features} features", nameof(x));
        if (labels.Length == 0) return 0;
        int right = 0;
        for (int i = 0; i < labels.Length; i++)
            if (Predict(x.Slice(i * Features, Features)) == labels[i]) right++;
        return (double)right / labels.Length;
    }

    /// <summary>
    /// The one-vs-rest primal objective Σ_k [½(‖w_k‖² + b_k²) + C·Σᵢ max(0, 1 − y_ik(w_k·xᵢ + b_k))] of
    /// <paramref name="weights"/> [classes, features] and <paramref name="bias"/> [classes] on raw (not standardized)
    /// <paramref name="x"/>, and its gradient (where the hinge is differentiable: no margin exactly 1) into
    /// <paramref name="weightGradient"/> and <paramref name="biasGradient"/>.
    /// </summary>
    public static double Objective(ReadOnlySpan<double> weights, ReadOnlySpan<double> bias, ReadOnlySpan<float> x, ReadOnlySpan<int> labels,
        int features, int classes, double c, Span<double> weightGradient, Span<double> biasGradient)
    {
        if (weights.Length != classes * features || bias.Length != classes || weightGradient.Length != weights.Length || biasGradient.Length != classes)
            throw new ArgumentException($"weights and their gradient must have {classes}×{features} values, bias and its gradient {classes}");
        if ((long)labels.Length * features != x.Length) throw new ArgumentException($"x has {x.Length} floats, expected {labels.Length} labels × {features} features", nameof(x));
        double total = 0;
        for (int k = 0; k < classes; k++)
        {
            var w = weights.Slice(k * features, features);
            var dw = weightGradient.Slice(k * features, features);
            double norm = bias[k] * bias[k];
            for (int f = 0; f < features; f++) { norm += w[f] * w[f]; dw[f] = w[f]; }
            biasGradient[k] = bias[k];
            total += 0.5 * norm;
            for (int i = 0; i < labels.Length; i++)
            {
                double y = labels[i] == k ? 1 : -1;
                var xi = x.Slice(i * features, features);
                double score = bias[k];
                for (int f = 0; f < features; f++) score += w[f] * xi[f];
                double margin = 1 - y * score;
                if (margin <= 0) continue;
                total += c * margin;
                for (int f = 0; f < features; f++) dw[f] -= c * y * xi[f];
                biasGradient[k] -= c * y;
            }
        }
        return total;
    }
}
