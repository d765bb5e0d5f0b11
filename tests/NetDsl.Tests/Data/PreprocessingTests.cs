using System;
using System.Linq;
using NetDsl.Data;
using NetDsl.Kernels;
using NetDsl.Tests.IO;
using Xunit;

namespace NetDsl.Tests.Data;

/// <summary>Preprocessing fitted on a training set: whitened data has identity covariance, standardized channels have mean 0
/// and variance 1, and the saved file gives back exactly the same transform.</summary>
public class PreprocessingTests
{
    const int C = 2, H = 3, W = 3, D = C * H * W, N = 400;

    /// <summary>Correlated samples: x = A·z + b with z standard normal and a fixed random A (so the covariance is A·Aᵀ, far from I).</summary>
    static float[] Correlated(int seed)
    {
        var rng = new Rng(1234);
        var a = Enumerable.Range(0, D * D).Select(_ => rng.NextNormal()).ToArray();
        var data = new Rng((ulong)seed);
        var x = new float[N * D];
        var z = new double[D];
        for (int n = 0; n < N; n++)
        {
            for (int j = 0; j < D; j++) z[j] = data.NextNormal();
            for (int i = 0; i < D; i++)
            {
                double s = 3 + i * 0.5;
                for (int j = 0; j < D; j++) s += a[i * D + j] * z[j];
                x[n * D + i] = (float)s;
            }
        }
        return x;
    }

    static double[] Covariance(float[] x)
    {
        var mu = new double[D];
        for (int n = 0; n < N; n++) for (int i = 0; i < D; i++) mu[i] += x[n * D + i] / (double)N;
        var cov = new double[D * D];
        for (int n = 0; n < N; n++)
            for (int i = 0; i < D; i++)
                for (int j = 0; j < D; j++) cov[i * D + j] += (x[n * D + i] - mu[i]) * (x[n * D + j] - mu[j]) / N;
        return cov;
    }

    [Theory]
    [InlineData(Whitening.Zca, ChannelNormalization.None)]
    [InlineData(Whitening.Zca, ChannelNormalization.Standardize)]
    [InlineData(Whitening.Pca, ChannelNormalization.SubtractMean)]
    public void WhitenedTrainingDataHasIdentityCovariance(Whitening kind, ChannelNormalization channels)
    {
        var x = Correlated(7);
        Assert.True(Math.Abs(Covariance(x)[1] ) > 1, "the raw data must be correlated for the test to mean anything");
        var p = Preprocessing.Fit(x, N, C, H, W, channels, kind, epsilon: 1e-9);
        p.Apply(x, N);
        var cov = Covariance(x);
        for (int i = 0; i < D; i++)
            for (int j = 0; j < D; j++)
                Assert.True(Math.Abs(cov[i * D + j] - (i == j ? 1 : 0)) < 2e-3, $"{kind}: covariance[{i}, {j}] = {cov[i * D + j]:G5}");
        if (kind == Whitening.Zca)
            for (int i = 0; i < D; i++)
                for (int j = 0; j < D; j++) Assert.Equal(p.Matrix[i * D + j], p.Matrix[j * D + i]); // ZCA's W = U·Λ^(−1/2)·Uᵀ is symmetric
    }

    [Fact]
    public void JacobiEigenvectorsReconstructTheMatrix()
    {
        double[] m = [4, 1, 2, 1, 3, 0.5, 2, 0.5, 5];
        var (values, vectors) = Preprocessing.SymmetricEigen(m, 3);
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 3; j++)
            {
                double s = 0;
                for (int k = 0; k < 3; k++) s += vectors[i * 3 + k] * values[k] * vectors[j * 3 + k];
                Assert.True(Math.Abs(s - m[i * 3 + j]) < 1e-12, $"U·Λ·Uᵀ[{i}, {j}] = {s}, expected {m[i * 3 + j]}");
            }
        Assert.True(Math.Abs(values.Sum() - 12) < 1e-12); // the trace
    }

    [Fact]
    public void StandardizationGivesEachChannelMeanZeroAndVarianceOne()
    {
        var x = Correlated(3);
        var p = Preprocessing.Fit(x, N, C, H, W, ChannelNormalization.Standardize);
        p.Apply(x, N);
        for (int c = 0; c < C; c++)
        {
            var values = Enumerable.Range(0, N).SelectMany(n => x.Skip(n * D + c * H * W).Take(H * W)).Select(v => (double)v).ToArray();
            double mean = values.Average(), variance = values.Select(v => (v - mean) * (v - mean)).Average();
            Assert.True(Math.Abs(mean) < 1e-4, $"channel {c} mean {mean}");
            Assert.True(Math.Abs(variance - 1) < 1e-3, $"channel {c} variance {variance}");
        }
    }

    [Fact]
    public void SaveAndLoadGiveExactlyTheSameTransform()
    {
        using var dir = new TempDir();
        var train = Correlated(11);
        var p = Preprocessing.Fit(train, N, C, H, W, ChannelNormalization.Standardize, Whitening.Zca, epsilon: 1e-3);
        string path = dir.File("model.preprocessing.safetensors");
        p.Save(path);
        Assert.Equal(["model.preprocessing.safetensors"], dir.Names()); // written to a temp name, then renamed
        var q = Preprocessing.Load(path);
        Assert.Equal((p.Channels, p.Height, p.Width, p.Normalization, p.Kind, p.Epsilon), (q.Channels, q.Height, q.Width, q.Normalization, q.Kind, q.Epsilon));
        Assert.Equal(p.ChannelMean, q.ChannelMean);
        Assert.Equal(p.ChannelScale, q.ChannelScale);
        Assert.Equal(p.FeatureMean, q.FeatureMean);
        Assert.Equal(p.Matrix, q.Matrix);
        var test = Correlated(12);
        var a = (float[])test.Clone();
        var b = (float[])test.Clone();
        p.Apply(a, N);
        q.Apply(b, N);
        Assert.Equal(a, b);
    }

    [Fact]
    public void AConstantChannelCannotBeStandardized()
    {
        var x = new float[10 * 4];
        var e = Assert.Throws<ArgumentException>(() => Preprocessing.Fit(x, 10, 1, 2, 2, ChannelNormalization.Standardize));
        Assert.Contains("channel 0 is constant", e.Message);
    }
}
