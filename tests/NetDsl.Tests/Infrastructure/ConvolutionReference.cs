using System;
using Xunit;

namespace NetDsl.Tests.Infrastructure;

/// <summary>A stride-1 convolution by its definition in double precision, the truth the convolution kernels and the
/// generated networks' convolution algorithms are checked against.</summary>
internal static class ConvolutionReference
{
    /// <summary>Definition of a stride-1 convolution: y[s, o, i, j] = b[o] + Σ w[o, c, u, v] · x[s, c, i + u − pt, j + v − pl],
    /// and its gradients for dL/dy = dy.</summary>
    public static (double[] Y, double[] Dx, double[] Dw, double[] Db) Stride1(float[] x, float[] w, float[]? b, float[] dy,
        int samples, int inC, int h, int wd, int outC, int k, int oh, int ow, int pt, int pl)
    {
        var y = new double[samples * outC * oh * ow];
        var dx = new double[samples * inC * h * wd];
        var dw = new double[outC * inC * k * k];
        var db = new double[outC];
        for (int s = 0; s < samples; s++)
            for (int o = 0; o < outC; o++)
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++)
                    {
                        int at = ((s * outC + o) * oh + i) * ow + j;
                        double sum = b == null ? 0 : b[o], g = dy[at];
                        db[o] += g;
                        for (int c = 0; c < inC; c++)
                            for (int u = 0; u < k; u++)
                                for (int v = 0; v < k; v++)
                                {
                                    int ih = i + u - pt, iw = j + v - pl;
                                    if (ih < 0 || ih >= h || iw < 0 || iw >= wd) continue;
                                    int wi = ((o * inC + c) * k + u) * k + v, xi = ((s * inC + c) * h + ih) * wd + iw;
                                    sum += (double)w[wi] * x[xi];
                                    dx[xi] += w[wi] * g;
                                    dw[wi] += x[xi] * g;
                                }
                        y[at] = sum;
                    }
        return (y, dx, dw, db);
    }

    /// <summary>Every element within <paramref name="tolerance"/> (1e-5 unless given) of the tensor's largest magnitude
    /// (plus the same) of the definition.</summary>
    public static void Close(double[] expected, ReadOnlySpan<float> actual, string what, double tolerance = 1e-5)
    {
        Assert.Equal(expected.Length, actual.Length);
        double scale = 0;
        foreach (double e in expected) scale = Math.Max(scale, Math.Abs(e));
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(actual[i] - expected[i]) <= tolerance * (1 + scale), $"{what}: element {i} is {actual[i]}, expected {expected[i]}");
    }
}
