using System;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace NetDsl.Kernels;

/// <summary>
/// Batch normalization and local response normalization, forward and backward, with PyTorch 1.13's semantics.
/// Tensors are [samples, channels, planeSize] with planeSize = H·W (1 after a dense layer).
/// <para>Batch normalization runs in phases, because its statistics span the whole batch while the rest splits into
/// worker shares: <see cref="BatchNormTrainingStatistics"/> (or <see cref="BatchNormEvalStatistics"/>) once per batch,
/// <see cref="BatchNormForward"/> per share; backward <see cref="BatchNormBackwardReduce"/> once per batch, then
/// <see cref="BatchNormBackward"/> per share.</para>
/// Backward methods overwrite dx (<c>accumulate: false</c>) or add to it (<c>accumulate: true</c>); parameter
/// gradients are always added to.
/// </summary>
public static class Normalization
{
    // ------------------------------------------------------------------ batch normalization

    /// <summary>Training-mode statistics over the whole batch x [samples, channels, planeSize]: per channel the mean and the
    /// biased variance of its samples·planeSize values (sums in double, sample by sample in memory order; the variance
    /// E[x²] − E[x]², floored at 0), then mean[c] and invStd[c] = 1/√(variance + epsilon); the running statistics
    /// become (1 − momentum)·running + momentum·batch (PyTorch's convention), the running variance from the unbiased
    /// variance (× n/(n − 1)). mean, invStd, runningMean, runningVar: [channels].</summary>
    /// <exception cref="InvalidOperationException">samples·planeSize is below 2: the unbiased variance is undefined.</exception>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormTrainingStatistics(ReadOnlySpan<float> x, int samples, int channels, int planeSize, float momentum, float epsilon,
        Span<float> mean, Span<float> invStd, Span<float> runningMean, Span<float> runningVar)
    {
        CheckBatchNorm("BatchNormTrainingStatistics", x.Length, x.Length, samples, channels, planeSize);
        CheckChannels("BatchNormTrainingStatistics", channels, mean.Length, invStd.Length, runningMean.Length, runningVar.Length);
        long count = (long)samples * planeSize;
        if (count < 2)
            throw new InvalidOperationException($"Normalization.BatchNormTrainingStatistics: batch normalization in training mode needs more than one value per channel; got {samples} sample(s) of {planeSize} value(s).");
        int sampleSize = channels * planeSize;
        for (int c = 0; c < channels; c++)
        {
            double sum = 0, sumSq = 0;
            for (int n = 0; n < samples; n++)
                foreach (float v in x.Slice(n * sampleSize + c * planeSize, planeSize)) { sum += v; sumSq += (double)v * v; }
            double m = sum / count, variance = Math.Max(sumSq / count - m * m, 0.0);
            mean[c] = (float)m;
            invStd[c] = (float)(1.0 / Math.Sqrt(variance + epsilon));
            runningMean[c] = (1f - momentum) * runningMean[c] + momentum * (float)m;
            runningVar[c] = (1f - momentum) * runningVar[c] + momentum * (float)(variance * count / (count - 1));
        }
    }

    /// <summary>Inference-mode statistics: mean[c] = runningMean[c], invStd[c] = 1/√(runningVar[c] + epsilon) in float.
    /// All spans [channels].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormEvalStatistics(ReadOnlySpan<float> runningMean, ReadOnlySpan<float> runningVar, float epsilon, Span<float> mean, Span<float> invStd)
    {
        CheckChannels("BatchNormEvalStatistics", runningMean.Length, runningVar.Length, mean.Length, invStd.Length, runningMean.Length);
        for (int c = 0; c < runningMean.Length; c++)
        {
            mean[c] = runningMean[c];
            invStd[c] = 1f / MathF.Sqrt(runningVar[c] + epsilon);
        }
    }

    /// <summary>x̂ = (x − mean[c])·invStd[c], y = gamma[c]·x̂ + beta[c], with the statistics of either phase. x, y and xhat
    /// (kept for the backward pass) [samples, channels, planeSize]; mean, invStd, gamma, beta [channels].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormForward(ReadOnlySpan<float> x, Span<float> y, Span<float> xhat, ReadOnlySpan<float> mean, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> gamma, ReadOnlySpan<float> beta, int samples, int channels, int planeSize)
    {
        CheckBatchNorm("BatchNormForward", x.Length, Math.Min(y.Length, xhat.Length), samples, channels, planeSize);
        CheckChannels("BatchNormForward", channels, mean.Length, invStd.Length, gamma.Length, beta.Length);
        for (int n = 0; n < samples; n++)
            for (int c = 0; c < channels; c++)
            {
                int at = (n * channels + c) * planeSize;
                ReadOnlySpan<float> xs = x.Slice(at, planeSize);
                Span<float> hs = xhat.Slice(at, planeSize), ys = y.Slice(at, planeSize);
                float m = mean[c], s = invStd[c], g = gamma[c], b = beta[c];
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    Vector256<float> vm = Vector256.Create(m), vs = Vector256.Create(s), vg = Vector256.Create(g), vb = Vector256.Create(b);
                    for (; i + 8 <= planeSize; i += 8)
                    {
                        var h = (Vector256.Create(xs.Slice(i, 8)) - vm) * vs;
                        h.CopyTo(hs.Slice(i, 8));
                        (vg * h + vb).CopyTo(ys.Slice(i, 8));
                    }
                }
                for (; i < planeSize; i++) { float h = (xs[i] - m) * s; hs[i] = h; ys[i] = g * h + b; }
            }
    }

    /// <summary>The backward pass's batch sums, once per batch: per channel Σdy and Σdy·x̂ over the whole batch (in double,
    /// sample by sample in memory order), written to sumDy and sumDyXhat [channels] and added to dBeta and dGamma
    /// [channels], of which they are the gradients. dy and xhat [samples, channels, planeSize].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBackwardReduce(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, int samples, int channels, int planeSize,
        Span<float> sumDy, Span<float> sumDyXhat, Span<float> dGamma, Span<float> dBeta)
    {
        CheckBatchNorm("BatchNormBackwardReduce", dy.Length, xhat.Length, samples, channels, planeSize);
        CheckChannels("BatchNormBackwardReduce", channels, sumDy.Length, sumDyXhat.Length, dGamma.Length, dBeta.Length);
        int sampleSize = channels * planeSize;
        for (int c = 0; c < channels; c++)
        {
            double sDy = 0, sDyXhat = 0;
            for (int n = 0; n < samples; n++)
            {
                int at = n * sampleSize + c * planeSize;
                ReadOnlySpan<float> g = dy.Slice(at, planeSize), h = xhat.Slice(at, planeSize);
                for (int i = 0; i < planeSize; i++) { sDy += g[i]; sDyXhat += (double)g[i] * h[i]; }
            }
            sumDy[c] = (float)sDy;
            sumDyXhat[c] = (float)sDyXhat;
            dGamma[c] += (float)sDyXhat;
            dBeta[c] += (float)sDy;
        }
    }

    /// <summary>dx for a share of the batch. Training (through the batch statistics):
    /// dx = gamma·invStd·(dy − Σdy/M − x̂·Σdy·x̂/M), M = batchSamples·planeSize (a float) with batchSamples the whole
    /// batch's size; inference: dx = gamma·invStd·dy. dy, xhat, dx [samples, channels, planeSize]; gamma, invStd, sumDy,
    /// sumDyXhat [channels] (the sums from <see cref="BatchNormBackwardReduce"/>, unused in inference).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void BatchNormBackward(ReadOnlySpan<float> dy, ReadOnlySpan<float> xhat, ReadOnlySpan<float> gamma, ReadOnlySpan<float> invStd,
        ReadOnlySpan<float> sumDy, ReadOnlySpan<float> sumDyXhat, Span<float> dx, int samples, int channels, int planeSize, int batchSamples,
        bool training, bool accumulate)
    {
        CheckBatchNorm("BatchNormBackward", Math.Min(dy.Length, xhat.Length), dx.Length, samples, channels, planeSize);
        CheckChannels("BatchNormBackward", channels, gamma.Length, invStd.Length, sumDy.Length, sumDyXhat.Length);
        if (training && batchSamples < samples)
            throw new ArgumentException($"Normalization.BatchNormBackward: batchSamples {batchSamples} (the whole batch) is smaller than this share's samples {samples}.");
        float count = batchSamples * planeSize;
        for (int n = 0; n < samples; n++)
            for (int c = 0; c < channels; c++)
            {
                int at = (n * channels + c) * planeSize;
                ReadOnlySpan<float> g = dy.Slice(at, planeSize), h = xhat.Slice(at, planeSize);
                Span<float> d = dx.Slice(at, planeSize);
                float scale = gamma[c] * invStd[c];
                float meanDy = training ? sumDy[c] / count : 0f, meanDyXhat = training ? sumDyXhat[c] / count : 0f;
                int i = 0;
                if (Vector256.IsHardwareAccelerated)
                {
                    Vector256<float> vs = Vector256.Create(scale), vm = Vector256.Create(meanDy), vmh = Vector256.Create(meanDyXhat);
                    for (; i + 8 <= planeSize; i += 8)
                    {
                        var gv = Vector256.Create(g.Slice(i, 8));
                        var v = training ? vs * (gv - vm - Vector256.Create(h.Slice(i, 8)) * vmh) : vs * gv;
                        if (accumulate) v = Vector256.Create(d.Slice(i, 8)) + v;
                        v.CopyTo(d.Slice(i, 8));
                    }
                }
                for (; i < planeSize; i++)
                {
                    float v = training ? scale * (g[i] - meanDy - h[i] * meanDyXhat) : scale * g[i];
                    d[i] = accumulate ? d[i] + v : v;
                }
            }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckBatchNorm(string method, int aLength, int bLength, int samples, int channels, int planeSize)
    {
        if (samples < 0 || channels < 1 || planeSize < 1)
            throw new ArgumentException($"Normalization.{method}: samples {samples} must be at least 0, channels {channels} and planeSize {planeSize} at least 1.");
        int size = samples * channels * planeSize;
        if (aLength < size || bLength < size)
            throw new ArgumentException($"Normalization.{method}: the [samples, channels, planeSize] buffers hold {Math.Min(aLength, bLength)} values, need {samples}·{channels}·{planeSize} = {size}.");
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckChannels(string method, int channels, int a, int b, int c, int d)
    {
        if (a < channels || b < channels || c < channels || d < channels)
            throw new ArgumentException($"Normalization.{method}: the per-channel buffers hold {a}, {b}, {c} and {d} values; each needs channels = {channels}.");
    }

    // ------------------------------------------------------------------ local response normalization

    /// <summary>Local response normalization across channels, PyTorch's formula:
    /// y_c = x_c · s_c^(−beta), s_c = k + (alpha/size)·Σ_{c' = c−⌊size/2⌋ … c+⌊(size−1)/2⌋} x_c'², channels outside
    /// [0, channels) counting as zero (the divisor stays size). The squares are summed in channel order; alpha/size, −beta
    /// and k are rounded to float once from the double hyperparameters. x, y and scale (s, kept for the backward pass)
    /// [samples, channels, planeSize].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LrnForward(ReadOnlySpan<float> x, Span<float> y, Span<float> scale, int samples, int channels, int planeSize,
        int size, double alpha, double beta, double k)
    {
        CheckLrn("LrnForward", x.Length, Math.Min(y.Length, scale.Length), samples, channels, planeSize, size);
        int before = size / 2, after = (size - 1) / 2, sampleSize = channels * planeSize;
        float alphaOverSize = (float)(alpha / size), negBeta = (float)-beta, kf = (float)k;
        for (int n = 0; n < samples; n++)
        {
            ReadOnlySpan<float> xs = x.Slice(n * sampleSize, sampleSize);
            Span<float> ys = y.Slice(n * sampleSize, sampleSize), ss = scale.Slice(n * sampleSize, sampleSize);
            for (int c = 0; c < channels; c++)
            {
                int lo = Math.Max(0, c - before), hi = Math.Min(channels - 1, c + after);
                for (int p = 0; p < planeSize; p++)
                {
                    float sum = 0f;
                    for (int j = lo; j <= hi; j++) { float v = xs[j * planeSize + p]; sum += v * v; }
                    float s = kf + alphaOverSize * sum;
                    ss[c * planeSize + p] = s;
                    ys[c * planeSize + p] = xs[c * planeSize + p] * MathF.Pow(s, negBeta);
                }
            }
        }
    }

    /// <summary>Backward of <see cref="LrnForward"/>: dx_j = dy_j·s_j^(−beta) − (2·alpha·beta/size)·x_j·Σ_{c: j in window(c)}
    /// dy_c·x_c·s_c^(−beta−1), the sum in channel order; constants rounded to float once from the doubles. x, dy, scale
    /// (from the forward pass), dx [samples, channels, planeSize].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LrnBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> scale, Span<float> dx, int samples, int channels, int planeSize,
        int size, double alpha, double beta, bool accumulate)
    {
        CheckLrn("LrnBackward", Math.Min(x.Length, dy.Length), Math.Min(scale.Length, dx.Length), samples, channels, planeSize, size);
        int before = size / 2, after = (size - 1) / 2, sampleSize = channels * planeSize;
        float negBeta = (float)-beta, negBetaMinusOne = (float)(-beta - 1), coeff = (float)(2.0 * alpha * beta / size);
        // dy_c·x_c·s_c^(−beta−1) of one position for every channel, computed once instead of once per window that holds c
        // (the same products, summed in the same order: the result is unchanged, with a fifth of the Pow calls for size 5).
        Span<float> term = channels <= 1024 ? stackalloc float[channels] : new float[channels];
        for (int n = 0; n < samples; n++)
        {
            ReadOnlySpan<float> xs = x.Slice(n * sampleSize, sampleSize), gs = dy.Slice(n * sampleSize, sampleSize), ss = scale.Slice(n * sampleSize, sampleSize);
            Span<float> ds = dx.Slice(n * sampleSize, sampleSize);
            for (int p = 0; p < planeSize; p++)
            {
                for (int c = 0; c < channels; c++) { int i = c * planeSize + p; term[c] = gs[i] * xs[i] * MathF.Pow(ss[i], negBetaMinusOne); }
                for (int j = 0; j < channels; j++)
                {
                    // channel c's window reaches j when c − before ≤ j ≤ c + after
                    int lo = Math.Max(0, j - after), hi = Math.Min(channels - 1, j + before);
                    float sum = 0f;
                    for (int c = lo; c <= hi; c++) sum += term[c];
                    int i = j * planeSize + p;
                    float d = gs[i] * MathF.Pow(ss[i], negBeta) - coeff * xs[i] * sum;
                    ds[i] = accumulate ? ds[i] + d : d;
                }
            }
        }
    }

    /// <summary>Local response normalization within each channel (Caffe's <c>norm_region: WITHIN_CHANNEL</c>): over a
    /// size×size spatial neighbourhood of the same channel, rows r − ⌊size/2⌋ … r + ⌊(size−1)/2⌋ (columns alike), positions
    /// outside the map counting as zero: scale = k + (α/size²)·Σ a², b = a·scale^−β. x, y, scale [samples, channels, h, w].</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LrnWithinForward(ReadOnlySpan<float> x, Span<float> y, Span<float> scale, int samples, int channels, int height, int width,
        int size, double alpha, double beta, double k)
    {
        CheckLrn("LrnWithinForward", x.Length, Math.Min(y.Length, scale.Length), samples, channels, height * width, size);
        int before = size / 2, after = (size - 1) / 2, plane = height * width, planes = samples * channels;
        float alphaOverArea = (float)(alpha / ((double)size * size)), negBeta = (float)-beta, kf = (float)k;
        for (int q = 0; q < planes; q++)
        {
            ReadOnlySpan<float> xp = x.Slice(q * plane, plane);
            Span<float> yp = y.Slice(q * plane, plane), sp = scale.Slice(q * plane, plane);
            for (int r = 0; r < height; r++)
            {
                int r0 = Math.Max(0, r - before), r1 = Math.Min(height - 1, r + after);
                for (int c = 0; c < width; c++)
                {
                    int c0 = Math.Max(0, c - before), c1 = Math.Min(width - 1, c + after);
                    float sum = 0f;
                    for (int i = r0; i <= r1; i++)
                        for (int j = c0; j <= c1; j++) { float v = xp[i * width + j]; sum += v * v; }
                    float s = kf + alphaOverArea * sum;
                    sp[r * width + c] = s;
                    yp[r * width + c] = xp[r * width + c] * MathF.Pow(s, negBeta);
                }
            }
        }
    }

    /// <summary>Backward of <see cref="LrnWithinForward"/>: dx_p = dy_p·s_p^−β − (2αβ/size²)·a_p·Σ_{q: p in q's window} dy_q·a_q·s_q^(−β−1).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public static void LrnWithinBackward(ReadOnlySpan<float> x, ReadOnlySpan<float> dy, ReadOnlySpan<float> scale, Span<float> dx, int samples, int channels,
        int height, int width, int size, double alpha, double beta, bool accumulate)
    {
        CheckLrn("LrnWithinBackward", Math.Min(x.Length, dy.Length), Math.Min(scale.Length, dx.Length), samples, channels, height * width, size);
        int before = size / 2, after = (size - 1) / 2, plane = height * width, planes = samples * channels;
        float negBeta = (float)-beta, negBetaMinusOne = (float)(-beta - 1), coeff = (float)(2.0 * alpha * beta / ((double)size * size));
        for (int q = 0; q < planes; q++)
        {
            ReadOnlySpan<float> xp = x.Slice(q * plane, plane), gp = dy.Slice(q * plane, plane), sp = scale.Slice(q * plane, plane);
            Span<float> dp = dx.Slice(q * plane, plane);
            for (int r = 0; r < height; r++)
            {
                // row i's window reaches r when i − before ≤ r ≤ i + after
                int r0 = Math.Max(0, r - after), r1 = Math.Min(height - 1, r + before);
                for (int c = 0; c < width; c++)
                {
                    int c0 = Math.Max(0, c - after), c1 = Math.Min(width - 1, c + before);
                    float sum = 0f;
                    for (int i = r0; i <= r1; i++)
                        for (int j = c0; j <= c1; j++) { int o = i * width + j; sum += gp[o] * xp[o] * MathF.Pow(sp[o], negBetaMinusOne); }
                    int p = r * width + c;
                    float d = gp[p] * MathF.Pow(sp[p], negBeta) - coeff * xp[p] * sum;
                    dp[p] = accumulate ? dp[p] + d : d;
                }
            }
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void CheckLrn(string method, int aLength, int bLength, int samples, int channels, int planeSize, int size)
    {
        if (samples < 0 || channels < 1 || planeSize < 1 || size < 1)
            throw new ArgumentException($"Normalization.{method}: samples {samples} must be at least 0, channels {channels}, planeSize {planeSize} and size {size} at least 1.");
        int total = samples * channels * planeSize;
        if (aLength < total || bLength < total)
            throw new ArgumentException($"Normalization.{method}: the [samples, channels, planeSize] buffers hold {Math.Min(aLength, bLength)} values, need {samples}·{channels}·{planeSize} = {total}.");
    }
}
