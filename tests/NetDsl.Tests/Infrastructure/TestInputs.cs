using System;

namespace NetDsl.Tests.Infrastructure;

/// <summary>Reproducible test inputs.</summary>
internal static class TestInputs
{
    /// <summary><paramref name="n"/> floats uniform in [−1, 1) from <c>System.Random(seed)</c>.</summary>
    public static float[] Uniform(int n, int seed)
    {
        var rng = new Random(seed);
        var v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float)(rng.NextDouble() * 2 - 1);
        return v;
    }
}
