using System;
using System.Runtime.CompilerServices;
using System.Threading;
using ILGPU;
using ILGPU.Runtime;

namespace NetDsl.Gpu;

// The kernels compiled for one geometry type (a generated struct of constants, see Geometry.cs) on one accelerator. Each is
// compiled the first time it is asked for (a twin asks for all of its own in its constructor, see GpuNetworkBase.Prepare*)
// and kept as long as the accelerator lives, so twins of the same network, or layers of the same shape, share them.

/// <summary>A per-accelerator cache of the kernels of one geometry type.</summary>
internal static class ShapedKernelCount
{
    private static readonly ConditionalWeakTable<Accelerator, StrongBox<int>> s_compiled = new();

    /// <summary>How many shape-specialized kernels have been compiled on <paramref name="accelerator"/> (tests check that a
    /// twin's steps compile none after its constructor).</summary>
    public static int CompiledOn(Accelerator accelerator) => s_compiled.TryGetValue(accelerator, out var n) ? Volatile.Read(ref n.Value) : 0;

    public static void Add(Accelerator accelerator) => Interlocked.Increment(ref s_compiled.GetValue(accelerator, _ => new StrongBox<int>()).Value);
}

internal abstract class ShapedKernels<TSelf> where TSelf : ShapedKernels<TSelf>
{
    private static readonly ConditionalWeakTable<Accelerator, TSelf> s_cache = new();
    // The set asked for last, read without the lock: every launch asks, and a process nearly always has one accelerator.
    // (It keeps that one accelerator object reachable until another takes its place.)
    private static TSelf? s_last;

    protected ShapedKernels(Accelerator accelerator) => Accelerator = accelerator;

    protected Accelerator Accelerator { get; }

    protected static TSelf For(Accelerator accelerator, Func<Accelerator, TSelf> create)
    {
        if (Volatile.Read(ref s_last) is { } last && ReferenceEquals(last.Accelerator, accelerator)) return last;
        TSelf found;
        lock (s_cache) found = s_cache.GetValue(accelerator, a => create(a));
        Volatile.Write(ref s_last, found);
        return found;
    }

    /// <summary>The kernel in <paramref name="slot"/>, compiled by <paramref name="load"/> on first use.</summary>
    protected T Load<T>(ref T? slot, Func<Accelerator, T> load) where T : class
    {
        if (slot is { } loaded) return loaded;
        lock (this)
        {
            if (slot is null)
            {
                slot = load(Accelerator);
                ShapedKernelCount.Add(Accelerator);
            }
            return slot;
        }
    }
}

/// <summary>A convolution's kernels for one <see cref="IConvGeometry"/>: im2col and col2im (the GEMM path) and the three
/// direct kernels (transposed convolutions, maxout's dense part).</summary>
internal sealed class ConvKernels<TConv> : ShapedKernels<ConvKernels<TConv>> where TConv : struct, IConvGeometry
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>>? _im2Col, _col2Im;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _forward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _backwardData;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _backwardWeight;

    private ConvKernels(Accelerator accelerator) : base(accelerator) { }

    public static ConvKernels<TConv> For(Accelerator accelerator) => For(accelerator, a => new ConvKernels<TConv>(a));

    public Action<Index1D, ArrayView<float>, ArrayView<float>> Im2Col
        => Load(ref _im2Col, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.Im2Col<TConv>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>> Col2Im
        => Load(ref _col2Im, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.Col2Im<TConv>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> Forward
        => Load(ref _forward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(DeviceKernels.ConvForward<TConv>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> BackwardData
        => Load(ref _backwardData, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DeviceKernels.ConvBackwardData<TConv>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> BackwardWeight
        => Load(ref _backwardWeight, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(DeviceKernels.ConvBackwardWeight<TConv>));
}

/// <summary>A pooling layer's two kernels for one <see cref="IPoolGeometry"/>.</summary>
internal sealed class PoolKernels<TPool> : ShapedKernels<PoolKernels<TPool>> where TPool : struct, IPoolGeometry
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>? _forward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>>? _backward;

    private PoolKernels(Accelerator accelerator) : base(accelerator) { }

    public static PoolKernels<TPool> For(Accelerator accelerator) => For(accelerator, a => new PoolKernels<TPool>(a));

    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>> Forward
        => Load(ref _forward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>(DeviceKernels.PoolForward<TPool>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>> Backward
        => Load(ref _backward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>>(DeviceKernels.PoolBackward<TPool>));
}

/// <summary>A product's kernels for one <see cref="IGemmGeometry"/>: each GEMM tile (only the ones the launcher picks get
/// compiled), the in-order sum of split-K slices, and the epilogue after cuBLAS.</summary>
internal sealed class GemmKernels<TProduct> : ShapedKernels<GemmKernels<TProduct>> where TProduct : struct, IGemmGeometry
{
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _small, _large, _wide, _narrow32, _narrow16;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, GemmShape>? _sumSlices;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>? _epilogue;

    private GemmKernels(Accelerator accelerator) : base(accelerator) { }

    public static GemmKernels<TProduct> For(Accelerator accelerator) => For(accelerator, a => new GemmKernels<TProduct>(a));

    /// <summary>The GEMM with output tile <paramref name="tile"/> (8, 64 or 128: squares; 32 and 16: the narrow tiles of 32 × 128
    /// and 16 × 256, named by their rows).</summary>
    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> Tile(int tile) => tile switch
    {
        DeviceKernels.WideTile => Load(ref _wide, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmWide<TProduct>)),
        DeviceKernels.LargeTile => Load(ref _large, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmLarge<TProduct>)),
        DeviceKernels.Narrow32Rows => Load(ref _narrow32, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmNarrow32<TProduct>)),
        DeviceKernels.Narrow16Rows => Load(ref _narrow16, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmNarrow16<TProduct>)),
        DeviceKernels.GemmTile => Load(ref _small, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.Gemm<TProduct>)),
        _ => throw new ArgumentOutOfRangeException(nameof(tile), tile, "the GEMM tiles are 8, 64 and 128 (squares) and 32 and 16 (narrow)"),
    };

    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, GemmShape> SumSlices
        => Load(ref _sumSlices, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, GemmShape>(DeviceKernels.SumSlices<TProduct>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> Epilogue
        => Load(ref _epilogue, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmEpilogue<TProduct>));
}

/// <summary>The per-channel and per-plane kernels for one <see cref="IMapGeometry"/>: each loaded on first use (a map gets
/// the few its layer launches; <see cref="GpuNetworkBase"/>'s <c>PrepareMap</c> compiles them in the constructor).</summary>
internal sealed class MapKernels<TMap> : ShapedKernels<MapKernels<TMap>> where TMap : struct, IMapGeometry
{
    private Action<Index1D, ArrayView<float>, ArrayView<float>>? _biasAdd, _softmax, _globalAvgForward, _globalAvgBackward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _softmaxBackward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _prelu;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>? _preluBackwardData;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _preluBackwardSlope;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>? _channelMaxoutForward;
    private Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>>? _channelMaxoutBackward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>? _batchNormForward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, int>? _batchNormBackward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>? _lrnForward, _lrnWithinForward;
    private Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>? _lrnBackward, _lrnWithinBackward;
    private Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int, int>? _channelPartialSums;
    private Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, int, int, float, float, int>? _batchNormStatistics;
    private Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>? _batchNormBackwardReduce;

    private MapKernels(Accelerator accelerator) : base(accelerator) { }

    public static MapKernels<TMap> For(Accelerator accelerator) => For(accelerator, a => new MapKernels<TMap>(a));

    /// <summary>Compiles the kernels <paramref name="uses"/> names.</summary>
    public void Prepare(MapKernel uses)
    {
        if ((uses & MapKernel.Bias) != 0) _ = BiasAdd;
        if ((uses & (MapKernel.BiasGradient | MapKernel.BatchNorm)) != 0) _ = ChannelPartialSums;
        if ((uses & MapKernel.Softmax) != 0) { _ = Softmax; _ = SoftmaxBackward; }
        if ((uses & MapKernel.GlobalAverage) != 0) { _ = GlobalAvgForward; _ = GlobalAvgBackward; }
        if ((uses & MapKernel.PRelu) != 0) { _ = PRelu; _ = PReluBackwardData; _ = PReluBackwardSlope; }
        if ((uses & MapKernel.ChannelMaxout) != 0) { _ = ChannelMaxoutForward; _ = ChannelMaxoutBackward; }
        if ((uses & MapKernel.BatchNorm) != 0) { _ = BatchNormStatistics; _ = BatchNormForward; _ = BatchNormBackwardReduce; _ = BatchNormBackward; }
        if ((uses & MapKernel.Lrn) != 0) { _ = LrnForward; _ = LrnBackward; }
        if ((uses & MapKernel.LrnWithinChannel) != 0) { _ = LrnWithinForward; _ = LrnWithinBackward; }
    }

    public Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int, int> ChannelPartialSums
        => Load(ref _channelPartialSums, a => a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int, int>(DeviceKernels.ChannelPartialSums<TMap>));
    public Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, int, int, float, float, int> BatchNormStatistics
        => Load(ref _batchNormStatistics, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, int, int, float, float, int>(DeviceKernels.BatchNormStatistics<TMap>));
    public Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> BatchNormBackwardReduce
        => Load(ref _batchNormBackwardReduce, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(DeviceKernels.BatchNormBackwardReduce<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>> BiasAdd
        => Load(ref _biasAdd, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.BiasAdd<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>> Softmax
        => Load(ref _softmax, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.Softmax<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> SoftmaxBackward
        => Load(ref _softmaxBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DeviceKernels.SoftmaxBackward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>> GlobalAvgForward
        => Load(ref _globalAvgForward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.GlobalAvgForward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>> GlobalAvgBackward
        => Load(ref _globalAvgBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.GlobalAvgBackward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> PRelu
        => Load(ref _prelu, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(DeviceKernels.PRelu<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int> PReluBackwardData
        => Load(ref _preluBackwardData, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int>(DeviceKernels.PReluBackwardData<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> PReluBackwardSlope
        => Load(ref _preluBackwardSlope, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(DeviceKernels.PReluBackwardSlope<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>> ChannelMaxoutForward
        => Load(ref _channelMaxoutForward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>>(DeviceKernels.ChannelMaxoutForward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>> ChannelMaxoutBackward
        => Load(ref _channelMaxoutBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>>(DeviceKernels.ChannelMaxoutBackward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>> BatchNormForward
        => Load(ref _batchNormForward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DeviceKernels.BatchNormForward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, int> BatchNormBackward
        => Load(ref _batchNormBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, int>(DeviceKernels.BatchNormBackward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float> LrnForward
        => Load(ref _lrnForward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>(DeviceKernels.LrnForward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float> LrnBackward
        => Load(ref _lrnBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>(DeviceKernels.LrnBackward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float> LrnWithinForward
        => Load(ref _lrnWithinForward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>(DeviceKernels.LrnWithinForward<TMap>));
    public Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float> LrnWithinBackward
        => Load(ref _lrnWithinBackward, a => a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float, float, float>(DeviceKernels.LrnWithinBackward<TMap>));
}

/// <summary>Which of a map's kernels a layer launches (what <c>PrepareMap</c> compiles in the twin's constructor).</summary>
[Flags]
public enum MapKernel
{
    None = 0,
    /// <summary>A transposed convolution's bias (added after its direct kernel) and its gradient.</summary>
    Bias = 1 | BiasGradient,
    Softmax = 2,
    GlobalAverage = 4,
    PRelu = 8,
    ChannelMaxout = 16,
    BatchNorm = 32,
    Lrn = 64,
    LrnWithinChannel = 128,
    /// <summary>The per-channel sums of a bias gradient.</summary>
    BiasGradient = 256,
}
