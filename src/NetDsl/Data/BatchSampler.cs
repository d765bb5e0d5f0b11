using System;
using NetDsl.Kernels;

namespace NetDsl.Data;

/// <summary>Splits <c>count</c> samples into mini-batches, in a fresh seeded permutation each epoch, copying into caller buffers
/// (no allocation per batch). The constructor prepares epoch 0; <see cref="NewEpoch"/> moves to the next.
/// The order depends only on (seed, epoch), so runs are reproducible.</summary>
public sealed class BatchSampler
{
    readonly int[] order;
    readonly int seed;

    public BatchSampler(int count, int batchSize, int seed, bool shuffle = true, bool dropLast = false)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(batchSize);
        Count = count; BatchSize = batchSize; Shuffle = shuffle; DropLast = dropLast;
        this.seed = seed;
        order = new int[count];
        BatchCount = dropLast ? count / batchSize : (count + batchSize - 1) / batchSize;
        Epoch = -1;
        NewEpoch();
    }

    public int Count { get; }
    public int BatchSize { get; }
    public bool Shuffle { get; }
    public bool DropLast { get; }
    public int BatchCount { get; }
    public int Epoch { get; private set; }
    /// <summary>This epoch's sample order.</summary>
    public ReadOnlySpan<int> Order => order;

    /// <summary>Advances to the next epoch and reshuffles (Fisher–Yates seeded from seed and epoch).</summary>
    public void NewEpoch()
    {
        Epoch++;
        for (int i = 0; i < order.Length; i++) order[i] = i;
        if (!Shuffle) return;
        // SplitMix64 rather than System.Random: its sequence is fixed by this code, not by the runtime version.
        var rng = new Rng(((ulong)(uint)seed << 32 | (uint)Epoch) ^ 0x9E3779B97F4A7C15UL);
        for (int i = order.Length - 1; i > 0; i--)
        {
            int j = (int)(rng.NextUInt64() % (ulong)(i + 1));
            (order[i], order[j]) = (order[j], order[i]);
        }
    }

    /// <summary>Samples in batch <paramref name="batchIndex"/> (the last one may be smaller unless dropLast).</summary>
    public int SizeOf(int batchIndex)
    {
        if ((uint)batchIndex >= (uint)BatchCount) throw new ArgumentOutOfRangeException(nameof(batchIndex), batchIndex, $"expected 0 to {BatchCount - 1}");
        return Math.Min(BatchSize, Count - batchIndex * BatchSize);
    }

    /// <summary>Copies batch <paramref name="batchIndex"/> into <paramref name="x"/> (size·C·H·W floats) and <paramref name="y"/> (size labels); returns the size.</summary>
    public int CopyBatch(int batchIndex, LabeledImages data, Span<float> x, Span<int> y)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (data.Count != Count) throw new ArgumentException($"the sampler was built for {Count} samples, the data set has {data.Count}", nameof(data));
        int size = SizeOf(batchIndex);
        int sample = data.SampleSize;
        if (x.Length < size * sample) throw new ArgumentException($"x holds {x.Length} floats, batch {batchIndex} needs {size}x{sample} = {size * sample}", nameof(x));
        if (y.Length < size) throw new ArgumentException($"y holds {y.Length} labels, batch {batchIndex} needs {size}", nameof(y));
        ReadOnlySpan<float> pixels = data.Pixels;
        int start = batchIndex * BatchSize;
        for (int k = 0; k < size; k++)
        {
            int s = order[start + k];
            pixels.Slice(s * sample, sample).CopyTo(x.Slice(k * sample, sample));
            y[k] = data.Labels[s];
        }
        return size;
    }
}
