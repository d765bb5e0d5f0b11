using System;

namespace NetDsl.Kernels;

/// <summary>SplitMix64: small, fast, and the same sequence on every platform and .NET version.</summary>
public struct Rng
{
    private ulong _state;

    public Rng(ulong seed) => _state = seed;

    public ulong NextUInt64()
    {
        ulong z = _state += 0x9E3779B97F4A7C15UL;
        return Mix(z);
    }

    private static ulong Mix(ulong z)
    {
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 24 random bits.</summary>
    public float NextFloat() => (NextUInt64() >> 40) * (1f / (1 << 24));

    /// <summary>Uniform in [0, 1) with 53 random bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));

    /// <summary>Standard normal (Box–Muller).</summary>
    public double NextNormal()
    {
        double u1 = 1.0 - NextDouble(), u2 = NextDouble();
        return Math.Sqrt(-2.0 * Math.Log(u1)) * Math.Cos(2.0 * Math.PI * u2);
    }

    /// <summary>A uniform [0, 1) value that depends only on (key, index): counter-based, so any thread can draw any element.</summary>
    public static float Uniform(ulong key, ulong index) => (Mix(key ^ Mix(index + 0x632BE59BD9B4E019UL)) >> 40) * (1f / (1 << 24));
}

/// <summary>Weight initialization, deterministic for a seed.</summary>
public static class WeightInit
{
    /// <summary>Fills <paramref name="weights"/> by <paramref name="scheme"/> (a NetDsl.Init value).</summary>
    public static void Fill(Span<float> weights, Init scheme, int fanIn, int fanOut, ref Rng rng)
    {
        switch (scheme)
        {
            case Init.He: Normal(weights, Math.Sqrt(2.0 / fanIn), ref rng); break;
            case Init.LeCun: Normal(weights, Math.Sqrt(1.0 / fanIn), ref rng); break;
            case Init.StandardNormal: Normal(weights, 1.0, ref rng); break;
            case Init.Glorot:
            case Init.Auto:
                double limit = Math.Sqrt(6.0 / (fanIn + fanOut));
                for (int i = 0; i < weights.Length; i++) weights[i] = (float)((2 * rng.NextDouble() - 1) * limit);
                break;
            default: throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "unknown initialization scheme");
        }
    }

    private static void Normal(Span<float> weights, double std, ref Rng rng)
    {
        for (int i = 0; i < weights.Length; i++) weights[i] = (float)(rng.NextNormal() * std);
    }
}
