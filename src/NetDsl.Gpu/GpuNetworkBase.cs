using System;
using System.Collections.Generic;
using System.Linq;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using ILGPU;
using ILGPU.Runtime;
using NetDsl.Training;

namespace NetDsl.Gpu;

/// <summary>The kernels of <see cref="DeviceKernels"/>, loaded and compiled once per accelerator (ILGPU#840/#192: loading per call is what costs).</summary>
internal sealed class LoadedKernels
{
    private static readonly ConditionalWeakTable<Accelerator, LoadedKernels> s_cache = new();

    public readonly Action<Index1D, ArrayView<double>, ArrayView<float>, int> BiasBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, float> Activation;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> ActivationBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ulong, float, float, int> Dropout;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int> MaxoutSelect;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> MaxoutScatter;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>> Copy;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> GatherSamples;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>> Multiply;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>> AddInto;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int> CopyToSlice;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int, int> CopyFromSlice;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossConfig> LossRows;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float> Adagrad;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float> Adadelta;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, float, int> RmsProp;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, int, int> Sgd;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, float, float, float, int> Adam;

    private LoadedKernels(Accelerator a)
    {
        Accelerator = a;
        // The large tile needs groups of 256 threads; ILGPU's default CPU accelerator has 16.
        Large = a.MaxNumThreadsPerGroup >= DeviceKernels.LargeThreads * DeviceKernels.LargeThreads;
        ReduceThreads = 1;
        while (ReduceThreads * 2 <= Math.Min(DeviceKernels.ReduceThreads, a.MaxNumThreadsPerGroup)) ReduceThreads *= 2;
        BiasBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<float>, int>(DeviceKernels.BiasBackward);
        Activation = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, float>(DeviceKernels.Activation);
        ActivationBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(DeviceKernels.ActivationBackward);
        Dropout = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ulong, float, float, int>(DeviceKernels.Dropout);
        MaxoutSelect = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int>(DeviceKernels.MaxoutSelect);
        MaxoutScatter = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(DeviceKernels.MaxoutScatter);
        Copy = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.Copy);
        GatherSamples = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(DeviceKernels.GatherSamples);
        Multiply = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>>(DeviceKernels.Multiply);
        AddInto = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.AddInto);
        CopyToSlice = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(DeviceKernels.CopyToSlice);
        CopyFromSlice = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int, int>(DeviceKernels.CopyFromSlice);
        LossRows = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, ArrayView<float>, ArrayView<float>, LossConfig>(DeviceKernels.LossRows);
        Adagrad = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float>(DeviceKernels.Adagrad);
        Adadelta = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float>(DeviceKernels.Adadelta);
        RmsProp = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, float, int>(DeviceKernels.RmsProp);
        Sgd = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, int, int>(DeviceKernels.Sgd);
        Adam = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, float, float, float, float, float, float, float, int>(DeviceKernels.Adam);
    }

    public readonly Accelerator Accelerator;
    /// <summary>Whether the 64 and 128 tiles run here: they need groups of 256 threads (ILGPU's default CPU accelerator has 16).</summary>
    public readonly bool Large;
    /// <summary>Threads of a per-channel reduction group: the largest power of two up to 256 that the accelerator allows.</summary>
    public readonly int ReduceThreads;

    public static LoadedKernels For(Accelerator accelerator)
    {
        lock (s_cache) return s_cache.GetValue(accelerator, a => new LoadedKernels(a));
    }
}

/// <summary>
/// What every generated GPU twin shares: device buffers for parameters, gradients, state, input and its gradient; the copies
/// to and from the host and the CPU network; the device losses and optimizers. The generated <c>&lt;Net&gt;.Gpu</c> adds the
/// layer buffers and the layer passes (<see cref="RunForward"/>, <see cref="RunBackward"/>) with every shape a constant.
/// Host transfers are plain copies: ILGPU's page-locked staging is not used yet (see docs/gpu.md).
/// </summary>
public abstract class GpuNetworkBase : IGpuNetwork
{
    private readonly ParameterTensor[] _tensors, _bufferTensors;
    private readonly List<MemoryBuffer1D<float, Stride1D.Dense>> _owned = new();
    /// <summary>Page-locked host memory for the per-call transfers (inputs and output gradients in, outputs and input gradients out).</summary>
    private readonly PinnedStaging<float> _staging;
    private readonly PinnedStaging<int> _indexStaging;
    private readonly MemoryBuffer1D<int, Stride1D.Dense> _sampleIndices;
    private readonly List<MemoryBuffer1D<int, Stride1D.Dense>> _ownedIndices = new();
    private readonly DeviceLoss _loss;
    private readonly DeviceOptimizer _optimizer;
    private bool _backwardReady;
    private int _batch;

    [RequiresDynamicCode("ILGPU compiles kernels at run time.")]
    [RequiresUnreferencedCode("ILGPU reads kernel IL through reflection.")]
    protected GpuNetworkBase(GpuDevice device, int maxBatch, int inputSize, int outputSize, int parameterCount, int bufferCount,
        ParameterTensor[] tensors, ParameterTensor[] bufferTensors)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (maxBatch < 1) throw new ArgumentOutOfRangeException(nameof(maxBatch), maxBatch, $"{GetType().FullName}: maxBatch must be at least 1");
        Device = device;
        Accelerator = device.Accelerator;
        K = LoadedKernels.For(Accelerator);
        L = new Launcher(Accelerator, K);
        MaxBatch = maxBatch;
        InputSize = inputSize;
        OutputSize = outputSize;
        ParameterCount = parameterCount;
        BufferCount = bufferCount;
        _tensors = tensors;
        _bufferTensors = bufferTensors;
        ParameterBuffer = Allocate(parameterCount);
        GradientBuffer = Allocate(parameterCount);
        StateBuffer = Allocate(bufferCount);
        InputActivation = Allocate((long)maxBatch * inputSize);
        InputGradientBuffer = Allocate((long)maxBatch * inputSize);
        _loss = new DeviceLoss(Accelerator, K, maxBatch, outputSize);
        _staging = new PinnedStaging<float>(Accelerator, (long)maxBatch * Math.Max(inputSize, outputSize));
        _indexStaging = new PinnedStaging<int>(Accelerator, maxBatch);
        _sampleIndices = Accelerator.Allocate1D<int>(maxBatch);
        _optimizer = new DeviceOptimizer(Accelerator, K);
    }

    public GpuDevice Device { get; }
    public Accelerator Accelerator { get; }
    internal LoadedKernels K { get; }
    internal Launcher L { get; }
    public int InputSize { get; }
    public int OutputSize { get; }
    public int ParameterCount { get; }
    public int BufferCount { get; }
    public int MaxBatch { get; }
    public ReadOnlySpan<ParameterTensor> ParameterTensors => _tensors;
    public ReadOnlySpan<ParameterTensor> BufferTensors => _bufferTensors;
    public bool ComputeInputGradient { get; set; }

    /// <summary>When set, training-mode forwards reuse the dropout masks of the previous one (as the CPU network's <c>HoldDropoutMasks</c>).</summary>
    public bool HoldDropoutMasks { get; set; }

    protected MemoryBuffer1D<float, Stride1D.Dense> ParameterBuffer { get; }
    protected MemoryBuffer1D<float, Stride1D.Dense> GradientBuffer { get; }
    protected MemoryBuffer1D<float, Stride1D.Dense> StateBuffer { get; }
    protected MemoryBuffer1D<float, Stride1D.Dense> InputActivation { get; }
    protected MemoryBuffer1D<float, Stride1D.Dense> InputGradientBuffer { get; }

    /// <summary>The last layer's output buffer.</summary>
    protected abstract MemoryBuffer1D<float, Stride1D.Dense> OutputActivation { get; }
    /// <summary>The last layer's gradient buffer.</summary>
    protected abstract MemoryBuffer1D<float, Stride1D.Dense> OutputGradientBuffer { get; }

    /// <summary>The layer passes, generated from the plan; the batch is on the device, the mode in <paramref name="training"/>.</summary>
    protected abstract void RunForward(int batch, bool training);
    /// <summary>The backward passes in reverse order, the gradients of multiply-read layers routed as the plan says.</summary>
    protected abstract void RunBackward(int batch, bool training);

    private bool _training;
    private ulong _dropoutKey, _dropoutStep;

    public DropoutState DropoutState
    {
        get => new(_dropoutKey, _dropoutStep);
        set { _dropoutKey = value.Key; _dropoutStep = value.Step; }
    }

    /// <summary>The device mask of dropout layer <paramref name="layer"/> (0 or 1/(1−p) per element), null for other layers.</summary>
    protected virtual MemoryBuffer1D<float, Stride1D.Dense>? DropoutMaskBuffer(int layer) => null;

    /// <summary>Sets dropout layer <paramref name="layer"/>'s mask (0 or 1/(1−p) per element of [batch, size]); with
    /// <see cref="HoldDropoutMasks"/> the next training forwards replay it (as the CPU network's <c>DropoutMask</c>).</summary>
    public void SetDropoutMask(int layer, ReadOnlySpan<float> mask)
    {
        var buffer = DropoutMaskBuffer(layer) ?? throw new ArgumentException($"{GetType().FullName}: layer {layer} is not a dropout layer", nameof(layer));
        if (mask.Length > buffer.Length)
            throw new ArgumentException($"{GetType().FullName}: the mask has {mask.Length} floats, the layer holds {buffer.Length}", nameof(mask));
        buffer.View.AsContiguous().SubView(0, mask.Length).CopyFromCPU(mask);
    }

    /// <summary>The key of layer <paramref name="layer"/>'s masks for the current step (the CPU network's formula).</summary>
    protected ulong DropoutKey(int layer) => _dropoutKey ^ ((ulong)(layer + 1) << 56) ^ _dropoutStep;

    protected MemoryBuffer1D<float, Stride1D.Dense> Allocate(long floats)
    {
        var b = Accelerator.Allocate1D<float>(Math.Max(floats, 1));
        b.MemSetToZero();
        _owned.Add(b);
        return b;
    }

    protected MemoryBuffer1D<int, Stride1D.Dense> AllocateIndices(long count)
    {
        var b = Accelerator.Allocate1D<int>(Math.Max(count, 1));
        _ownedIndices.Add(b);
        return b;
    }

    protected static ArrayView<float> V(MemoryBuffer1D<float, Stride1D.Dense> b) => b.View;
    protected static ArrayView<float> V(MemoryBuffer1D<float, Stride1D.Dense> b, long offset, long length) => b.View.AsContiguous().SubView(offset, Math.Max(length, 1));
    protected static ArrayView<int> V(MemoryBuffer1D<int, Stride1D.Dense> b) => b.View;

    // ------------------------------------------------------------------ launches the generated passes call

    // Each layer's shape is a generated struct of constants (IConvGeometry, IDenseGeometry, IPoolGeometry) passed as a type
    // argument: the kernels are compiled for it, and the host derives its launch sizes and GEMM shapes from the same struct.

    /// <summary>Compiles the kernels a convolution on the im2col + GEMM path launches (done in the twin's constructor, so
    /// the first step does not pay for it), with its bias gradient's per-channel sums when <paramref name="biasGradient"/>.</summary>
    protected void PrepareConvGemm<TConv>(bool biasGradient) where TConv : struct, IConvGeometry
    {
        if (biasGradient) MapKernels<ConvOutputMap<TConv>>.For(Accelerator).Prepare(MapKernel.BiasGradient);
        var k = ConvKernels<TConv>.For(Accelerator);
        _ = k.Im2Col;
        _ = k.Col2Im;
        L.Prepare<ConvForwardProduct<TConv>>(ConvForwardShape<TConv>(1), ConvForwardShape<TConv>(MaxBatch));
        L.Prepare<ConvWeightProduct<TConv>>(ConvWeightShape<TConv>(), ConvWeightShape<TConv>());
        L.Prepare<ConvDataProduct<TConv>>(ConvDataShape<TConv>(1), ConvDataShape<TConv>(MaxBatch));
    }

    /// <summary>Compiles a convolution's three direct kernels (transposed convolutions, maxout's dense part), and the sums of
    /// the bias gradient over its output when <paramref name="biasGradient"/>.</summary>
    protected void PrepareConvDirect<TConv>(bool biasGradient) where TConv : struct, IConvGeometry
    {
        if (biasGradient) MapKernels<ConvOutputMap<TConv>>.For(Accelerator).Prepare(MapKernel.BiasGradient);
        var k = ConvKernels<TConv>.For(Accelerator);
        _ = k.Forward;
        _ = k.BackwardData;
        _ = k.BackwardWeight;
    }

    /// <summary>Compiles a dense layer's three products (at batch 1 and MaxBatch, whose tiles may differ), and its bias
    /// gradient's sums when <paramref name="biasGradient"/>.</summary>
    protected void PrepareDense<TDense>(bool biasGradient) where TDense : struct, IDenseGeometry
    {
        if (biasGradient) MapKernels<DenseOutputMap<TDense>>.For(Accelerator).Prepare(MapKernel.BiasGradient);
        L.Prepare<DenseForwardProduct<TDense>>(DenseForwardShape<TDense>(1), DenseForwardShape<TDense>(MaxBatch));
        L.Prepare<DenseWeightProduct<TDense>>(DenseWeightShape<TDense>(1), DenseWeightShape<TDense>(MaxBatch));
        L.Prepare<DenseDataProduct<TDense>>(DenseDataShape<TDense>(1), DenseDataShape<TDense>(MaxBatch));
    }

    /// <summary>Compiles a pooling layer's two kernels.</summary>
    protected void PreparePool<TPool>() where TPool : struct, IPoolGeometry
    {
        var k = PoolKernels<TPool>.For(Accelerator);
        _ = k.Forward;
        _ = k.Backward;
    }

    protected void ConvForward<TConv>(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y, int batch)
        where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        ConvKernels<TConv>.For(Accelerator).Forward(batch * s.OC * s.OH * s.OW, x, w, b, y, hasBias ? 1 : 0);
    }

    protected void ConvBackwardData<TConv>(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, int batch) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        ConvKernels<TConv>.For(Accelerator).BackwardData(batch * s.C * s.H * s.W, dy, w, dx);
    }

    protected void ConvBackwardWeight<TConv>(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, int batch) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        ConvKernels<TConv>.For(Accelerator).BackwardWeight(s.OC * (s.C / s.Groups) * s.KH * s.KW, x, dy, dw, batch);
    }

    /// <summary>C (+)= A·B over the shape's slices (see <see cref="Launcher.Gemm{TProduct}"/>: the tile, split-K), on the kernels
    /// compiled for <typeparamref name="TProduct"/>, or on cuBLAS when the device has it on and the product is one large plain or
    /// transposed one. The shape's epilogue (bias, activation into <paramref name="d"/>) runs in the GEMM's stores, or after
    /// cuBLAS as one pass.</summary>
    protected void Gemm<TProduct>(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, ArrayView<float> bias = default, ArrayView<float> d = default)
        where TProduct : struct, IGemmGeometry
    {
        if (Device.Blas is { } blas && CuBlasGemm.Handles(s) && (!s.HasEpilogue || s.Ldc == s.N) && (long)s.M * s.N * s.K >= CuBlasMinimumWork)
        {
            blas.Gemm(a, b, c, s);
            if (s.HasEpilogue) GemmKernels<TProduct>.For(Accelerator).Epilogue(s.M * s.N, c, Launcher.Or(bias, c), Launcher.Or(d, c), s);
        }
        else L.Gemm<TProduct>(a, b, c, s, bias, d);
    }

    /// <summary>Multiply-adds below which a GEMM stays on the generated kernel even with cuBLAS on (its launch costs more).</summary>
    public const long CuBlasMinimumWork = 1L << 22;

    // The products' shapes: the launch's part (the batch) set here, the rest from the geometry.
    /// <summary>One product of <typeparamref name="TProduct"/> (one item, one slice), its known fields from the geometry.</summary>
    private static GemmShape Single<TProduct>() where TProduct : struct, IGemmGeometry => default(TProduct).Fix(default) with { Items = 1, Inner = 1 };

    private static GemmShape ConvForwardShape<TConv>(int batch) where TConv : struct, IConvGeometry
    {
        var c = default(TConv).Shape;
        return Single<ConvForwardProduct<TConv>>().Batched(batch, 0, (long)c.Rows * c.Plane, (long)c.OC * c.Plane);
    }

    private static GemmShape ConvWeightShape<TConv>() where TConv : struct, IConvGeometry => Single<ConvWeightProduct<TConv>>() with { Accumulate = 1 };

    private static GemmShape ConvDataShape<TConv>(int batch) where TConv : struct, IConvGeometry
    {
        var c = default(TConv).Shape;
        return Single<ConvDataProduct<TConv>>().Batched(batch, 0, (long)c.OC * c.Plane, (long)c.Rows * c.Plane);
    }

    private static GemmShape DenseForwardShape<TDense>(int batch) where TDense : struct, IDenseGeometry => Single<DenseForwardProduct<TDense>>() with { M = batch };

    private static GemmShape DenseWeightShape<TDense>(int batch) where TDense : struct, IDenseGeometry
        => Single<DenseWeightProduct<TDense>>() with { K = batch, Accumulate = 1 };

    private static GemmShape DenseDataShape<TDense>(int batch) where TDense : struct, IDenseGeometry => Single<DenseDataProduct<TDense>>() with { M = batch };

    /// <summary>Convolution forward as device im2col + the tiled GEMM: per group one launch over the batch,
    /// y_g[n][opg, P] = W_g[opg, Kg]·col_g[n][Kg, P] (Kg = C/G·KH·KW, P = OH·OW), the bias (and <paramref name="fused"/>'s
    /// activation, when set) added in the GEMM's stores.</summary>
    protected void ConvForwardGemm<TConv>(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y, ArrayView<float> cols, int batch,
        in FusedActivation fused = default) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        int plane = s.Plane, rows = s.Rows, opg = s.OutPerGroup, kg = s.RowsPerGroup;
        ConvKernels<TConv>.For(Accelerator).Im2Col(batch * rows * plane, x, cols);
        var product = ConvForwardShape<TConv>(batch).WithEpilogue(hasBias ? 1 : 0, fused.Kind, fused.Slope);
        for (int g = 0; g < s.Groups; g++)
            Gemm<ConvForwardProduct<TConv>>(w.SubView((long)g * opg * kg, (long)opg * kg), cols.SubView((long)g * kg * plane), y.SubView((long)g * opg * plane), product,
                hasBias ? b.SubView((long)g * opg, opg) : default, fused.IsSet ? fused.Output.SubView((long)g * opg * plane) : default);
    }

    /// <summary>Per group: dW_g += Σ_n dy_g[n]·cols_g[n]ᵀ (one summed launch, split over the batch when there are few tiles:
    /// <see cref="Launcher.GemmSummed{TProduct}"/>), db += Σ dy, dcol_g[n] = W_gᵀ·dy_g[n] over the batch in one launch, then col2im (a gather)
    /// into dx.</summary>
    protected void ConvBackwardGemm<TConv>(ArrayView<float> w, ArrayView<float> dy, ArrayView<float> dw, ArrayView<float> db, bool hasBias, ArrayView<float> cols,
        ArrayView<float> dcols, ArrayView<float> dx, bool parameters, bool inputGradient, int batch) where TConv : struct, IConvGeometry
    {
        var s = default(TConv).Shape;
        int plane = s.Plane, rows = s.Rows, opg = s.OutPerGroup, kg = s.RowsPerGroup;
        long yStride = (long)s.OC * plane, colStride = (long)rows * plane;
        var weightProduct = ConvWeightShape<TConv>();
        var dataProduct = ConvDataShape<TConv>(batch);
        for (int g = 0; g < s.Groups; g++)
        {
            var dyg = dy.SubView((long)g * opg * plane);
            var wg = w.SubView((long)g * opg * kg, (long)opg * kg);
            if (parameters)
                L.GemmSummed<ConvWeightProduct<TConv>>(dyg, cols.SubView((long)g * kg * plane), dw.SubView((long)g * opg * kg, (long)opg * kg),
                    weightProduct, batch, yStride, colStride);
            if (inputGradient)
                Gemm<ConvDataProduct<TConv>>(wg, dyg, dcols.SubView((long)g * kg * plane), dataProduct);
        }
        if (parameters && hasBias) BiasBackward<ConvOutputMap<TConv>>(dy, db, batch);
        if (inputGradient) ConvKernels<TConv>.For(Accelerator).Col2Im(batch * s.C * s.H * s.W, dcols, dx);
    }

    /// <summary>y = x·Wᵀ (+ b, and a fused activation, in the stores).</summary>
    protected void DenseForward<TDense>(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y, int batch,
        in FusedActivation fused = default) where TDense : struct, IDenseGeometry
        => Gemm<DenseForwardProduct<TDense>>(x, w, y, DenseForwardShape<TDense>(batch).WithEpilogue(hasBias ? 2 : 0, fused.Kind, fused.Slope),
            hasBias ? b : default, fused.IsSet ? fused.Output : default);

    /// <summary>dW += dyᵀ·x, db += Σ dy, dx = dy·W.</summary>
    protected void DenseBackward<TDense>(ArrayView<float> x, ArrayView<float> w, ArrayView<float> dy, ArrayView<float> dw, ArrayView<float> db, bool hasBias,
        ArrayView<float> dx, bool parameters, bool inputGradient, int batch) where TDense : struct, IDenseGeometry
    {
        if (parameters)
        {
            Gemm<DenseWeightProduct<TDense>>(dy, x, dw, DenseWeightShape<TDense>(batch));
            if (hasBias) BiasBackward<DenseOutputMap<TDense>>(dy, db, batch);
        }
        if (inputGradient) Gemm<DenseDataProduct<TDense>>(dy, w, dx, DenseDataShape<TDense>(batch));
    }

    protected void BiasBackward<TMap>(ArrayView<float> dy, ArrayView<float> db, int batch) where TMap : struct, IMapGeometry
    {
        var partial = L.ChannelSums<TMap>(dy, dy, batch, DeviceKernels.SumOnly, out int parts);
        K.BiasBackward(default(TMap).Shape.Channels, partial, db, parts);
    }
    /// <summary>Compiles the per-channel kernels <paramref name="uses"/> names for the map <typeparamref name="TMap"/>.</summary>
    protected void PrepareMap<TMap>(MapKernel uses) where TMap : struct, IMapGeometry => MapKernels<TMap>.For(Accelerator).Prepare(uses);

    /// <summary>Elements of <paramref name="batch"/> maps of <typeparamref name="TMap"/>.</summary>
    private static int Elements<TMap>(int batch) where TMap : struct, IMapGeometry => batch * default(TMap).Shape.Channels * default(TMap).Shape.Plane;

    private MapKernels<TMap> Map<TMap>() where TMap : struct, IMapGeometry => MapKernels<TMap>.For(Accelerator);

    protected void BiasAdd<TMap>(ArrayView<float> y, ArrayView<float> b, int batch) where TMap : struct, IMapGeometry => Map<TMap>().BiasAdd(Elements<TMap>(batch), y, b);
    protected void Activation(ArrayView<float> x, ArrayView<float> y, int kind, float a, int count) => K.Activation(count, x, y, kind, a);
    protected void ActivationBackward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int kind, float a, int count)
        => K.ActivationBackward(count, x, y, dy, dx, kind, a);
    protected void Softmax<TMap>(ArrayView<float> x, ArrayView<float> y, int batch) where TMap : struct, IMapGeometry => Map<TMap>().Softmax(batch * default(TMap).Shape.Plane, x, y);
    protected void SoftmaxBackward<TMap>(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().SoftmaxBackward(batch * default(TMap).Shape.Plane, y, dy, dx);
    protected void PoolForward<TPool>(ArrayView<float> x, ArrayView<float> y, ArrayView<int> arg, int batch) where TPool : struct, IPoolGeometry
    {
        var s = default(TPool).Shape;
        PoolKernels<TPool>.For(Accelerator).Forward(batch * s.C * s.OH * s.OW, x, y, arg);
    }

    protected void PoolBackward<TPool>(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<int> arg, ArrayView<float> dx, int batch)
        where TPool : struct, IPoolGeometry
    {
        var s = default(TPool).Shape;
        PoolKernels<TPool>.For(Accelerator).Backward(batch * s.C * s.H * s.W, x, y, dy, arg, dx);
    }
    protected void GlobalAvgForward<TMap>(ArrayView<float> x, ArrayView<float> y, int batch) where TMap : struct, IMapGeometry => Map<TMap>().GlobalAvgForward(batch * default(TMap).Shape.Channels, x, y);
    protected void GlobalAvgBackward<TMap>(ArrayView<float> dy, ArrayView<float> dx, int batch) where TMap : struct, IMapGeometry => Map<TMap>().GlobalAvgBackward(Elements<TMap>(batch), dy, dx);
    protected void Dropout(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int layer, float p, float scale, int count)
        => K.Dropout(count, x, y, mask, DropoutKey(layer), p, scale, HoldDropoutMasks ? 0 : 1);
    protected void PRelu<TMap>(ArrayView<float> x, ArrayView<float> y, ArrayView<float> slope, bool perChannel, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().PRelu(Elements<TMap>(batch), x, y, slope, perChannel ? 1 : 0);
    protected void PReluBackwardData<TMap>(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> slope, ArrayView<float> dx, bool perChannel, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().PReluBackwardData(Elements<TMap>(batch), x, dy, slope, dx, perChannel ? 1 : 0);
    protected void PReluBackwardSlope<TMap>(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dSlope, bool perChannel, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().PReluBackwardSlope(perChannel ? default(TMap).Shape.Channels : 1, x, dy, dSlope, batch, perChannel ? 1 : 0);
    protected void MaxoutSelect(ArrayView<float> z, ArrayView<float> y, ArrayView<int> winner, int units, int pieces, int batch) => K.MaxoutSelect(batch * units, z, y, winner, pieces);
    protected void MaxoutScatter(ArrayView<float> dy, ArrayView<int> winner, ArrayView<float> dz, int units, int pieces, int batch) => K.MaxoutScatter(batch * units * pieces, dy, winner, dz, pieces);
    /// <summary>Channel maxout over groups of <c>Pieces</c> input channels; <typeparamref name="TMap"/> is the output map.</summary>
    protected void ChannelMaxoutForward<TMap>(ArrayView<float> x, ArrayView<float> y, ArrayView<int> winner, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().ChannelMaxoutForward(Elements<TMap>(batch), x, y, winner);
    protected void ChannelMaxoutBackward<TMap>(ArrayView<float> dy, ArrayView<int> winner, ArrayView<float> dx, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().ChannelMaxoutBackward(Elements<TMap>(batch) * default(TMap).Shape.Pieces, dy, winner, dx);

    /// <summary>Batch norm forward: statistics (training: batch, running ones updated; eval: running), then the normalization.</summary>
    protected void BatchNormForward<TMap>(ArrayView<float> x, ArrayView<float> y, ArrayView<float> xhat, ArrayView<float> stats, ArrayView<float> state,
        ArrayView<float> gamma, ArrayView<float> beta, float momentum, float epsilon, bool training, int batch) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        if (training && (long)batch * plane < 2)
            throw new InvalidOperationException($"{GetType().FullName}: batch normalization in training mode needs more than one value per channel; got {batch} sample(s) of {plane} value(s).");
        int parts = 0;
        var partial = training ? L.ChannelSums<TMap>(x, x, batch, DeviceKernels.SumAndSquares, out parts) : L.NoPartials;
        Map<TMap>().BatchNormStatistics(channels, partial, stats, state, parts, batch * plane, momentum, epsilon, training ? 1 : 0);
        Map<TMap>().BatchNormForward(batch * channels * plane, x, y, xhat, stats, gamma, beta);
    }

    /// <summary>Batch norm backward: the per-channel sums (and dγ, dβ unless frozen), then dx when <paramref name="inputGradient"/>.</summary>
    protected void BatchNormBackward<TMap>(ArrayView<float> dy, ArrayView<float> xhat, ArrayView<float> stats, ArrayView<float> gamma, ArrayView<float> dGamma,
        ArrayView<float> dBeta, ArrayView<float> dx, bool training, bool addParameters, bool inputGradient, int batch) where TMap : struct, IMapGeometry
    {
        int channels = default(TMap).Shape.Channels, plane = default(TMap).Shape.Plane;
        var partial = L.ChannelSums<TMap>(dy, xhat, batch, DeviceKernels.SumAndProducts, out int parts);
        Map<TMap>().BatchNormBackwardReduce(channels, partial, stats, dGamma, dBeta, parts, addParameters ? 1 : 0);
        if (inputGradient) Map<TMap>().BatchNormBackward(batch * channels * plane, dy, xhat, gamma, stats, dx, (float)batch * plane, training ? 1 : 0);
    }

    protected void LrnForward<TMap>(ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, int size, double alpha, double beta, double k, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().LrnForward(Elements<TMap>(batch), x, y, scale, size, (float)(alpha / size), (float)-beta, (float)k);
    protected void LrnBackward<TMap>(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> scale, ArrayView<float> dx, int size, double alpha, double beta, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().LrnBackward(Elements<TMap>(batch), x, dy, scale, dx, size, (float)-beta, (float)(-beta - 1), (float)(2.0 * alpha * beta / size));

    protected void LrnWithinForward<TMap>(ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, int size, double alpha, double beta, double k, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().LrnWithinForward(Elements<TMap>(batch), x, y, scale, size, (float)(alpha / ((double)size * size)), (float)-beta, (float)k);
    protected void LrnWithinBackward<TMap>(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> scale, ArrayView<float> dx, int size, double alpha, double beta, int batch) where TMap : struct, IMapGeometry
        => Map<TMap>().LrnWithinBackward(Elements<TMap>(batch), x, dy, scale, dx, size, (float)-beta, (float)(-beta - 1), (float)(2.0 * alpha * beta / ((double)size * size)));
    /// <summary>Sets every element of a device buffer to zero.</summary>
    protected static void Zero(MemoryBuffer1D<float, Stride1D.Dense> buffer) => buffer.MemSetToZero();
    protected void Copy(ArrayView<float> src, ArrayView<float> dst, int count) => K.Copy(count, src, dst);
    protected void Multiply(ArrayView<float> a, ArrayView<float> b, ArrayView<float> dst, int count) => K.Multiply(count, a, b, dst);
    protected void AddInto(ArrayView<float> src, ArrayView<float> dst, int count) => K.AddInto(count, src, dst);
    protected void CopyToSlice(ArrayView<float> src, ArrayView<float> dst, int part, int total, int offset, int batch) => K.CopyToSlice(batch * part, src, dst, part, total, offset);
    protected void CopyFromSlice(ArrayView<float> src, ArrayView<float> dst, int part, int total, int offset, int batch) => K.CopyFromSlice(batch * part, src, dst, part, total, offset);

    // ------------------------------------------------------------------ the public surface

    private void CheckBatch(int batch, string what)
    {
        if (batch < 1 || batch > MaxBatch)
            throw new ArgumentOutOfRangeException(nameof(batch), batch, $"{GetType().FullName}.{what}: batch must be between 1 and MaxBatch = {MaxBatch}");
    }

    private GpuProfile? _profile;
    private readonly List<(string Name, string Pass, ProfilingMarker Marker)> _laps = new();
    private ProfilingMarker? _lapStart;

    /// <summary>When set, every call records the device time of each layer's forward and backward, the upload, the loss, the
    /// optimizer step and the download into this profile (<see cref="GpuProfile"/>). Needs a device created with profiling on
    /// (<see cref="GpuDevice.Best(bool)"/>); null (the default) records nothing and costs nothing.</summary>
    public GpuProfile? Profile
    {
        get => _profile;
        set
        {
            if (value is not null && !Device.Profiling)
                throw new InvalidOperationException($"{GetType().FullName}.Profile: the device was created without profiling; create it with GpuDevice.Best(profiling: true).");
            _profile = value;
        }
    }

    /// <summary>Starts a call's laps: a marker before its first piece of work (when profiling).</summary>
    private void BeginLaps()
    {
        if (_profile is null) return;
        DropLaps();
        _lapStart = Accelerator.AddProfilingMarker();
    }

    /// <summary>Marks the end of one piece of the call (generated code calls it after each layer's launches): the device time
    /// since the previous marker is charged to <paramref name="name"/> <paramref name="pass"/>. Nothing unless profiling.</summary>
    protected void Lap(string name, string pass = "forward")
    {
        if (_profile is null || _lapStart is null) return;
        _laps.Add((name, pass, Accelerator.AddProfilingMarker()));
    }

    /// <summary>Charges the laps of a finished call to the profile (the markers have passed: the call synchronized).</summary>
    private void EndLaps()
    {
        if (_profile is null || _lapStart is null) return;
        var previous = _lapStart;
        foreach (var (name, pass, marker) in _laps)
        {
            _profile.Add(name, pass, marker - previous);
            previous = marker;
        }
        DropLaps();
    }

    private void DropLaps()
    {
        _lapStart?.Dispose();
        foreach (var lap in _laps) lap.Marker.Dispose();
        _laps.Clear();
        _lapStart = null;
    }

    private void Upload(ReadOnlySpan<float> input, int batch, string what)
    {
        CheckBatch(batch, what);
        if (input.Length != batch * InputSize)
            throw new ArgumentException($"{GetType().FullName}.{what}: input has {input.Length} floats, expected batch {batch} × {InputSize} = {batch * InputSize}.", nameof(input));
        _staging.Upload(input, InputActivation.View);
    }

    private void RunForwardOnDevice(int batch, bool training)
    {
        _batch = batch;
        _training = training;
        _backwardReady = true;
        if (training) _dropoutStep++;
        RunForward(batch, training);
    }

    public float[] Forward(ReadOnlySpan<float> input, int batch, bool training = false)
    {
        BeginLaps();
        Upload(input, batch, nameof(Forward));
        Lap("input", "upload");
        RunForwardOnDevice(batch, training);
        var output = new float[batch * OutputSize];
        _staging.Download(OutputActivation.View, output);
        Lap("output", "download");
        EndLaps();
        return output;
    }

    public void Backward(ReadOnlySpan<float> outputGradient, int batch)
    {
        if (!_backwardReady || batch != _batch)
            throw new InvalidOperationException($"{GetType().FullName}.Backward: call Forward with the same batch ({batch}) first; the last Forward had batch {_batch}.");
        if (outputGradient.Length != batch * OutputSize)
            throw new ArgumentException($"{GetType().FullName}.Backward: outputGradient has {outputGradient.Length} floats, expected batch {batch} × {OutputSize} = {batch * OutputSize}.", nameof(outputGradient));
        BeginLaps();
        _staging.Upload(outputGradient, OutputGradientBuffer.View);
        Lap("output gradient", "upload");
        RunBackward(batch, _training);
        Accelerator.Synchronize();
        EndLaps();
    }

    private void BackwardOnDevice(int batch)
    {
        Copy(_loss.Gradient, V(OutputGradientBuffer), batch * OutputSize);
        RunBackward(batch, _training);
    }

    public float[] InputGradient()
    {
        if (!ComputeInputGradient) throw new InvalidOperationException($"{GetType().FullName}.InputGradient: set ComputeInputGradient before Backward.");
        var dx = new float[_batch * InputSize];
        _staging.Download(InputGradientBuffer.View, dx);
        return dx;
    }

    public float[] Gradients() => Download(GradientBuffer, ParameterCount);
    public float[] Parameters() => Download(ParameterBuffer, ParameterCount);
    public float[] Buffers() => Download(StateBuffer, BufferCount);

    private static float[] Download(MemoryBuffer1D<float, Stride1D.Dense> buffer, int count)
    {
        var host = new float[count];
        if (count > 0) buffer.View.AsContiguous().SubView(0, count).CopyToCPU(host);
        return host;
    }
    public void ZeroGradients() => GradientBuffer.MemSetToZero();

    private void CheckSameNetwork(INetwork network, string what)
    {
        ArgumentNullException.ThrowIfNull(network);
        var tensors = network.ParameterTensors;
        bool same = network.ParameterCount == ParameterCount && network.Buffers.Length == BufferCount && tensors.Length == _tensors.Length
            && network.InputSize == InputSize && network.OutputSize == OutputSize;
        for (int i = 0; same && i < tensors.Length; i++) same = tensors[i].Name == _tensors[i].Name && tensors[i].Offset == _tensors[i].Offset;
        if (!same)
            throw new ArgumentException($"{GetType().FullName}.{what}: {network.GetType().FullName} ({network.ParameterCount} parameters, {network.Buffers.Length} buffer floats) is not the network this twin was generated for ({ParameterCount} parameters, {BufferCount} buffer floats).", nameof(network));
    }

    public void CopyParametersFrom(INetwork network)
    {
        CheckSameNetwork(network, nameof(CopyParametersFrom));
        ParameterBuffer.View.AsContiguous().SubView(0, ParameterCount).CopyFromCPU(network.Parameters);
        if (BufferCount > 0) StateBuffer.View.AsContiguous().SubView(0, BufferCount).CopyFromCPU(network.Buffers);
        DropoutState = network.DropoutState;
    }

    public void CopyParametersTo(INetwork network)
    {
        CheckSameNetwork(network, nameof(CopyParametersTo));
        ParameterBuffer.View.AsContiguous().SubView(0, ParameterCount).CopyToCPU(network.Parameters);
        if (BufferCount > 0) StateBuffer.View.AsContiguous().SubView(0, BufferCount).CopyToCPU(network.Buffers);
        network.DropoutState = DropoutState;
    }

    public float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<int> labels, Loss loss, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        int batch = loss is PixelwiseSoftmaxCrossEntropy px && OutputSize % px.Classes == 0 ? labels.Length / Math.Max(OutputSize / px.Classes, 1) : labels.Length;
        BeginLaps();
        Upload(inputs, batch, nameof(TrainStep));
        Lap("input", "upload");
        return Step(batch, loss, labels, default, useLabels: true, optimizer);
    }

    /// <summary>One step on the samples <paramref name="indices"/> of <paramref name="samples"/> (kept on this twin's device),
    /// with their <paramref name="labels"/>: only the indices go over the bus, and the inputs are gathered on the device. The
    /// same step, bit for bit, as <see cref="TrainStep(ReadOnlySpan{float}, ReadOnlySpan{int}, Loss, Optimizer)"/> on those
    /// samples' inputs.</summary>
    public float TrainStep(DeviceSamples samples, ReadOnlySpan<int> indices, ReadOnlySpan<int> labels, Loss loss, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(samples);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (!ReferenceEquals(samples.Device, Device))
            throw new ArgumentException($"{GetType().FullName}.TrainStep: the samples live on another device ({samples.Device.Description}) than this twin ({Device.Description}).", nameof(samples));
        if (samples.SampleSize != InputSize)
            throw new ArgumentException($"{GetType().FullName}.TrainStep: the samples have {samples.SampleSize} floats each, expected InputSize = {InputSize}.", nameof(samples));
        if (labels.Length != indices.Length)
            throw new ArgumentException($"{GetType().FullName}.TrainStep: {indices.Length} indices but {labels.Length} labels.", nameof(labels));
        int batch = indices.Length;
        CheckBatch(batch, nameof(TrainStep));
        for (int i = 0; i < batch; i++)
            if ((uint)indices[i] >= (uint)samples.Count)
                throw new ArgumentOutOfRangeException(nameof(indices), indices[i], $"{GetType().FullName}.TrainStep: index {i} is {indices[i]}, expected 0 to {samples.Count - 1}.");
        BeginLaps();
        _indexStaging.Upload(indices, _sampleIndices.View);
        K.GatherSamples(batch * InputSize, samples.View, _sampleIndices.View, InputActivation.View, InputSize);
        Lap("input", "gather");
        return Step(batch, loss, labels, default, useLabels: true, optimizer);
    }

    public float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int batch, Loss loss, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (targets.Length != batch * OutputSize)
            throw new ArgumentException($"{GetType().FullName}.TrainStep: targets have {targets.Length} floats, expected batch {batch} × {OutputSize} = {batch * OutputSize}.", nameof(targets));
        BeginLaps();
        Upload(inputs, batch, nameof(TrainStep));
        Lap("input", "upload");
        return Step(batch, loss, default, targets, useLabels: false, optimizer);
    }

    /// <summary>The rest of a training step once its inputs are on the device: forward, loss (against labels or targets), and
    /// <see cref="Finish"/>.</summary>
    private float Step(int batch, Loss loss, ReadOnlySpan<int> labels, ReadOnlySpan<float> targets, bool useLabels, Optimizer optimizer)
    {
        RunForwardOnDevice(batch, training: true);
        float value = _loss.Compute(loss, V(OutputActivation), labels, targets, batch, useLabels);
        Lap("loss", "forward");
        return Finish(value, batch, optimizer);
    }

    private float Finish(float value, int batch, Optimizer optimizer)
    {
        if (!float.IsFinite(value))
        {
            DropLaps();
            throw new InvalidOperationException($"{GetType().FullName}.TrainStep: the loss is {value}; the parameters were not changed.");
        }
        ZeroGradients();
        Lap("gradients", "zero");
        BackwardOnDevice(batch);
        _optimizer.Step(optimizer, V(ParameterBuffer, 0, ParameterCount), V(GradientBuffer, 0, ParameterCount), ParameterCount);
        Lap("optimizer", "step");
        Accelerator.Synchronize();
        EndLaps();
        return value;
    }

    public void Dispose()
    {
        DropLaps();
        foreach (var b in _owned) b.Dispose();
        foreach (var b in _ownedIndices) b.Dispose();
        L.Dispose();
        _ownedIndices.Clear();
        _loss.Dispose();
        _staging.Dispose();
        _indexStaging.Dispose();
        _sampleIndices.Dispose();
        _optimizer.Dispose();
        _owned.Clear();
        GC.SuppressFinalize(this);
    }
}
