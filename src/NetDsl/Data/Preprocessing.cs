using System;
using System.Collections.Generic;
using System.Globalization;
using NetDsl.IO;

namespace NetDsl.Data;

/// <summary>What <see cref="Preprocessing"/> does per channel before any whitening.</summary>
public enum ChannelNormalization
{
    /// <summary>Nothing.</summary>
    None = 0,
    /// <summary>Subtracts each channel's mean over the training set.</summary>
    SubtractMean = 1,
    /// <summary>Subtracts each channel's mean and divides by its standard deviation (population, over the training set).</summary>
    Standardize = 2,
}

/// <summary>Whitening of the flattened C·H·W sample vector, fitted on the training set.</summary>
public enum Whitening
{
    /// <summary>No whitening.</summary>
    None = 0,
    /// <summary>PCA whitening: x' = Λ^(−1/2)·Uᵀ·(x − μ), the coordinates along the covariance's eigenvectors scaled to unit variance.</summary>
    Pca = 1,
    /// <summary>ZCA whitening: x' = U·Λ^(−1/2)·Uᵀ·(x − μ): unit covariance, and of all whitenings the closest to the input.</summary>
    Zca = 2,
}

/// <summary>
/// Input preprocessing fitted on the training set (the notes: "the mean must be computed only over the training data and then
/// subtracted equally from all splits"): per-channel mean subtraction or standardization, then optionally PCA or ZCA whitening
/// with eigenvalues regularized by <see cref="Epsilon"/> (Λ + εI). Apply it to every split; save it next to the model with
/// <see cref="Save"/> (a safetensors file, written atomically) and <see cref="Load"/> it with the model.
/// Whitening keeps a D×D matrix (D = C·H·W) and fits by Jacobi eigendecomposition in O(D³): meant for small inputs
/// (32×32×3 = 3,072 is about the limit; use channel standardization for larger ones).
/// </summary>
public sealed class Preprocessing
{
    private Preprocessing(int channels, int height, int width, ChannelNormalization channel, Whitening whitening, double epsilon,
        float[] channelMean, float[] channelScale, float[] featureMean, float[] matrix)
    {
        Channels = channels; Height = height; Width = width; Normalization = channel; Kind = whitening; Epsilon = epsilon;
        ChannelMean = channelMean; ChannelScale = channelScale; FeatureMean = featureMean; Matrix = matrix;
    }

    /// <summary>Sample shape.</summary>
    public int Channels { get; }
    /// <inheritdoc cref="Channels"/>
    public int Height { get; }
    /// <inheritdoc cref="Channels"/>
    public int Width { get; }
    /// <summary>C·H·W.</summary>
    public int SampleSize => Channels * Height * Width;
    /// <summary>The per-channel step.</summary>
    public ChannelNormalization Normalization { get; }
    /// <summary>The whitening.</summary>
    public Whitening Kind { get; }
    /// <summary>Added to every eigenvalue before the inverse square root.</summary>
    public double Epsilon { get; }
    /// <summary>[C] subtracted per channel (zeros for <see cref="ChannelNormalization.None"/>).</summary>
    public float[] ChannelMean { get; }
    /// <summary>[C] the per-channel multiplier after the subtraction: 1/std for <see cref="ChannelNormalization.Standardize"/>, else 1.</summary>
    public float[] ChannelScale { get; }
    /// <summary>[D] mean of the channel-normalized training vectors, subtracted before whitening (empty without whitening).</summary>
    public float[] FeatureMean { get; }
    /// <summary>[D, D] row-major whitening matrix W: x' = W·(x − <see cref="FeatureMean"/>) (empty without whitening).</summary>
    public float[] Matrix { get; }

    /// <summary>Fits on <paramref name="train"/>'s pixels.</summary>
    public static Preprocessing Fit(LabeledImages train, ChannelNormalization channels, Whitening whitening = Whitening.None, double epsilon = 1e-5)
    {
        ArgumentNullException.ThrowIfNull(train);
        return Fit(train.Pixels, train.Count, train.Channels, train.Height, train.Width, channels, whitening, epsilon);
    }

    /// <summary>Fits on <paramref name="count"/> samples of C×H×W in <paramref name="pixels"/> (NCHW).</summary>
    public static Preprocessing Fit(ReadOnlySpan<float> pixels, int count, int channels, int height, int width,
        ChannelNormalization normalization, Whitening whitening = Whitening.None, double epsilon = 1e-5)
    {
        if (channels < 1 || height < 1 || width < 1) throw new ArgumentOutOfRangeException(nameof(channels), $"sample shape must be positive, got {channels}×{height}×{width}");
        if (count < 2) throw new ArgumentOutOfRangeException(nameof(count), count, "fitting needs at least 2 samples");
        int plane = height * width, d = channels * plane;
        if (pixels.Length < (long)count * d) throw new ArgumentException($"pixels holds {pixels.Length} floats, {count} samples of {channels}×{height}×{width} need {(long)count * d}", nameof(pixels));
        if (!(epsilon >= 0) || double.IsInfinity(epsilon)) throw new ArgumentOutOfRangeException(nameof(epsilon), epsilon, "epsilon must be finite and >= 0");
        if (!Enum.IsDefined(normalization)) throw new ArgumentOutOfRangeException(nameof(normalization), normalization, "not a ChannelNormalization value");
        if (!Enum.IsDefined(whitening)) throw new ArgumentOutOfRangeException(nameof(whitening), whitening, "not a Whitening value");

        var mean = new float[channels];
        var scale = new float[channels];
        Array.Fill(scale, 1f);
        if (normalization != ChannelNormalization.None)
            for (int c = 0; c < channels; c++)
            {
                double sum = 0, sq = 0;
                for (int n = 0; n < count; n++)
                    foreach (float v in pixels.Slice(n * d + c * plane, plane)) { sum += v; sq += (double)v * v; }
                double m = sum / ((double)count * plane);
                mean[c] = (float)m;
                if (normalization == ChannelNormalization.Standardize)
                {
                    double variance = Math.Max(0, sq / ((double)count * plane) - m * m);
                    if (variance == 0) throw new ArgumentException($"channel {c} is constant over the training set: it cannot be standardized", nameof(pixels));
                    scale[c] = (float)(1 / Math.Sqrt(variance));
                }
            }
        var result = new Preprocessing(channels, height, width, normalization, whitening, epsilon, mean, scale, [], []);
        if (whitening == Whitening.None) return result;

        // The channel step first, then the covariance of what it gives (biased: divided by the count).
        var x = new float[(long)count * d];
        pixels.Slice(0, count * d).CopyTo(x);
        result.ApplyChannels(x, count);
        var mu = new double[d];
        for (int n = 0; n < count; n++) for (int i = 0; i < d; i++) mu[i] += x[n * d + i];
        for (int i = 0; i < d; i++) mu[i] /= count;
        var cov = new double[d * d];
        var row = new double[d];
        for (int n = 0; n < count; n++)
        {
            for (int i = 0; i < d; i++) row[i] = x[n * d + i] - mu[i];
            for (int i = 0; i < d; i++)
            {
                double ri = row[i];
                for (int j = i; j < d; j++) cov[i * d + j] += ri * row[j];
            }
        }
        for (int i = 0; i < d; i++)
            for (int j = i; j < d; j++) { cov[i * d + j] /= count; cov[j * d + i] = cov[i * d + j]; }
        var (values, vectors) = SymmetricEigen(cov, d);
        var w = new float[d * d];
        for (int k = 0; k < d; k++)
        {
            double s = 1 / Math.Sqrt(Math.Max(values[k], 0) + epsilon);
            if (double.IsInfinity(s)) throw new ArgumentException($"the training covariance is singular (eigenvalue {values[k]:G3}) and epsilon is 0: give epsilon > 0", nameof(epsilon));
            if (whitening == Whitening.Pca)
                for (int j = 0; j < d; j++) w[k * d + j] = (float)(s * vectors[j * d + k]); // row k: s_k·u_kᵀ
        }
        if (whitening == Whitening.Zca)
            for (int i = 0; i < d; i++)
                for (int j = i; j < d; j++)
                {
                    double sum = 0;
                    for (int k = 0; k < d; k++) sum += vectors[i * d + k] / Math.Sqrt(Math.Max(values[k], 0) + epsilon) * vectors[j * d + k];
                    w[i * d + j] = w[j * d + i] = (float)sum;
                }
        var featureMean = new float[d];
        for (int i = 0; i < d; i++) featureMean[i] = (float)mu[i];
        return new Preprocessing(channels, height, width, normalization, whitening, epsilon, mean, scale, featureMean, w);
    }

    /// <summary>Transforms <paramref name="count"/> samples (NCHW) in place.</summary>
    public void Apply(Span<float> samples, int count)
    {
        int d = SampleSize;
        if (count < 0 || samples.Length < (long)count * d) throw new ArgumentException($"samples holds {samples.Length} floats, {count} samples of {Channels}×{Height}×{Width} need {(long)count * d}", nameof(samples));
        ApplyChannels(samples, count);
        if (Kind == Whitening.None) return;
        var centred = new float[d];
        for (int n = 0; n < count; n++)
        {
            var s = samples.Slice(n * d, d);
            for (int i = 0; i < d; i++) centred[i] = s[i] - FeatureMean[i];
            for (int i = 0; i < d; i++)
            {
                double sum = 0;
                var wi = Matrix.AsSpan(i * d, d);
                for (int j = 0; j < d; j++) sum += (double)wi[j] * centred[j];
                s[i] = (float)sum;
            }
        }
    }

    /// <summary>A transformed copy of <paramref name="data"/> (labels shared).</summary>
    public LabeledImages Apply(LabeledImages data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Channels != Channels || data.Height != Height || data.Width != Width)
            throw new ArgumentException($"data samples are {data.Channels}×{data.Height}×{data.Width}; this preprocessing was fitted on {Channels}×{Height}×{Width}", nameof(data));
        var pixels = (float[])data.Pixels.Clone();
        Apply(pixels, data.Count);
        return new LabeledImages(pixels, data.Labels, data.Channels, data.Height, data.Width, data.ClassCount);
    }

    private void ApplyChannels(Span<float> samples, int count)
    {
        if (Normalization == ChannelNormalization.None) return;
        int plane = Height * Width, d = SampleSize;
        for (int n = 0; n < count; n++)
            for (int c = 0; c < Channels; c++)
            {
                float m = ChannelMean[c], s = ChannelScale[c];
                var p = samples.Slice(n * d + c * plane, plane);
                for (int i = 0; i < plane; i++) p[i] = (p[i] - m) * s;
            }
    }

    private const string Format = "netdsl.preprocessing";

    /// <summary>Writes the fitted values to a safetensors file (tensors <c>preprocessing.channel_mean</c>, <c>.channel_scale</c>,
    /// <c>.feature_mean</c>, <c>.whitening</c>; the settings in its metadata), to a temporary name then renamed. Keep it next to
    /// the model's weights, e.g. <c>model.safetensors</c> and <c>model.preprocessing.safetensors</c>.</summary>
    public void Save(string path)
    {
        int d = SampleSize;
        var tensors = new List<(string, int[], ReadOnlyMemory<float>)>
        {
            ("preprocessing.channel_mean", [Channels], ChannelMean),
            ("preprocessing.channel_scale", [Channels], ChannelScale),
        };
        if (Kind != Whitening.None)
        {
            tensors.Add(("preprocessing.feature_mean", [d], FeatureMean));
            tensors.Add(("preprocessing.whitening", [d, d], Matrix));
        }
        var metadata = new Dictionary<string, string>
        {
            ["format"] = Format,
            ["shape"] = string.Create(CultureInfo.InvariantCulture, $"{Channels},{Height},{Width}"),
            ["channels"] = Normalization.ToString(),
            ["whitening"] = Kind.ToString(),
            ["epsilon"] = Epsilon.ToString("R", CultureInfo.InvariantCulture),
        };
        SafeTensors.Write(path, tensors, metadata);
    }

    /// <summary>Reads what <see cref="Save"/> wrote; refuses a file without its metadata or with tensors of the wrong shape.</summary>
    public static Preprocessing Load(string path)
    {
        var tensors = SafeTensors.Read(path, out var metadata);
        string Meta(string key) => metadata.TryGetValue(key, out var v) ? v
            : throw new System.IO.InvalidDataException($"{path}: no '{key}' in the metadata; not a file Preprocessing.Save wrote");
        if (Meta("format") != Format) throw new System.IO.InvalidDataException($"{path}: metadata format is '{metadata["format"]}', expected '{Format}'");
        var shape = Meta("shape").Split(',');
        if (shape.Length != 3 || !int.TryParse(shape[0], CultureInfo.InvariantCulture, out int c) || !int.TryParse(shape[1], CultureInfo.InvariantCulture, out int h)
            || !int.TryParse(shape[2], CultureInfo.InvariantCulture, out int w) || c < 1 || h < 1 || w < 1)
            throw new System.IO.InvalidDataException($"{path}: shape '{Meta("shape")}' is not three positive integers C,H,W");
        if (!Enum.TryParse<ChannelNormalization>(Meta("channels"), out var normalization) || !Enum.IsDefined(normalization))
            throw new System.IO.InvalidDataException($"{path}: channels '{Meta("channels")}' is not a ChannelNormalization");
        if (!Enum.TryParse<Whitening>(Meta("whitening"), out var whitening) || !Enum.IsDefined(whitening))
            throw new System.IO.InvalidDataException($"{path}: whitening '{Meta("whitening")}' is not a Whitening");
        double epsilon = double.Parse(Meta("epsilon"), CultureInfo.InvariantCulture);
        int d = c * h * w;
        float[] Tensor(string name, params int[] expected)
        {
            if (!tensors.TryGetValue(name, out var t)) throw new System.IO.InvalidDataException($"{path}: no tensor '{name}'");
            if (!t.Shape.AsSpan().SequenceEqual(expected))
                throw new System.IO.InvalidDataException($"{path}: tensor '{name}' is [{string.Join(", ", t.Shape)}], expected [{string.Join(", ", expected)}]");
            return t.Data;
        }
        bool white = whitening != Whitening.None;
        return new Preprocessing(c, h, w, normalization, whitening, epsilon,
            Tensor("preprocessing.channel_mean", c), Tensor("preprocessing.channel_scale", c),
            white ? Tensor("preprocessing.feature_mean", d) : [], white ? Tensor("preprocessing.whitening", d, d) : []);
    }

    /// <summary>Eigenvalues and eigenvectors (columns of the row-major n×n result) of a symmetric matrix, by cyclic Jacobi
    /// rotations until the off-diagonal part is negligible.</summary>
    public static (double[] Values, double[] Vectors) SymmetricEigen(double[] matrix, int n)
    {
        var a = (double[])matrix.Clone();
        var v = new double[n * n];
        for (int i = 0; i < n; i++) v[i * n + i] = 1;
        double total = 0;
        foreach (double x in a) total += x * x;
        for (int sweep = 0; sweep < 100; sweep++)
        {
            double off = 0;
            for (int p = 0; p < n; p++) for (int q = p + 1; q < n; q++) off += a[p * n + q] * a[p * n + q];
            if (off <= 1e-26 * total || off == 0) break;
            for (int p = 0; p < n; p++)
                for (int q = p + 1; q < n; q++)
                {
                    double apq = a[p * n + q];
                    if (Math.Abs(apq) < 1e-300) continue;
                    double theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
                    double t = (theta >= 0 ? 1 : -1) / (Math.Abs(theta) + Math.Sqrt(theta * theta + 1));
                    double cos = 1 / Math.Sqrt(t * t + 1), sin = t * cos;
                    for (int k = 0; k < n; k++)
                    {
                        double akp = a[k * n + p], akq = a[k * n + q];
                        a[k * n + p] = cos * akp - sin * akq;
                        a[k * n + q] = sin * akp + cos * akq;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double apk = a[p * n + k], aqk = a[q * n + k];
                        a[p * n + k] = cos * apk - sin * aqk;
                        a[q * n + k] = sin * apk + cos * aqk;
                    }
                    for (int k = 0; k < n; k++)
                    {
                        double vkp = v[k * n + p], vkq = v[k * n + q];
                        v[k * n + p] = cos * vkp - sin * vkq;
                        v[k * n + q] = sin * vkp + cos * vkq;
                    }
                }
        }
        var values = new double[n];
        for (int i = 0; i < n; i++) values[i] = a[i * n + i];
        return (values, v);
    }
}
