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

    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int> ConvForward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape> ConvBackwardData;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int> ConvBackwardWeight;
    public readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int, int, int, int> ChannelPartialSums;
    public readonly Action<Index1D, ArrayView<double>, ArrayView<float>, int> BiasBackward;
    public readonly Action<KernelConfig, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> Gemm, GemmLarge, GemmWide;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, GemmShape> SumSlices;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape> GemmEpilogue;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ConvShape> Im2Col, Col2Im;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> BiasAdd;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, float> Activation;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float> ActivationBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int, int> Softmax;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> SoftmaxBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolShape> PoolForward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolShape> PoolBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> GlobalAvgForward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, int> GlobalAvgBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ulong, float, float, int> Dropout;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> PRelu;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> PReluBackwardData;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int> PReluBackwardSlope;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int> MaxoutSelect;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int> MaxoutScatter;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int> ChannelMaxoutForward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int> ChannelMaxoutBackward;
    public readonly Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, int> BatchNormStatistics;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int> BatchNormForward;
    public readonly Action<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int> BatchNormBackwardReduce;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int> BatchNormBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float> LrnForward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float> LrnBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float> LrnWithinForward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float> LrnWithinBackward;
    public readonly Action<Index1D, ArrayView<float>, ArrayView<float>> Copy;
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
        ConvForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int>(DeviceKernels.ConvForward);
        ConvBackwardData = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape>(DeviceKernels.ConvBackwardData);
        ConvBackwardWeight = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ConvShape, int>(DeviceKernels.ConvBackwardWeight);
        Im2Col = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvShape>(DeviceKernels.Im2Col);
        Col2Im = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ConvShape>(DeviceKernels.Col2Im);
        Gemm = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.Gemm);
        // The large tile needs groups of 256 threads; ILGPU's default CPU accelerator has 16.
        Large = a.MaxNumThreadsPerGroup >= DeviceKernels.LargeThreads * DeviceKernels.LargeThreads;
        GemmLarge = Large ? a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmLarge) : Gemm;
        GemmWide = Large ? a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmWide) : Gemm;
        SumSlices = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, GemmShape>(DeviceKernels.SumSlices);
        GemmEpilogue = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, GemmShape>(DeviceKernels.GemmEpilogue);
        ReduceThreads = 1;
        while (ReduceThreads * 2 <= Math.Min(DeviceKernels.ReduceThreads, a.MaxNumThreadsPerGroup)) ReduceThreads *= 2;
        ChannelPartialSums = a.LoadStreamKernel<ArrayView<float>, ArrayView<float>, ArrayView<double>, int, int, int, int, int>(DeviceKernels.ChannelPartialSums);
        BiasBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<float>, int>(DeviceKernels.BiasBackward);
        BiasAdd = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(DeviceKernels.BiasAdd);
        Activation = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, float>(DeviceKernels.Activation);
        ActivationBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, float>(DeviceKernels.ActivationBackward);
        Softmax = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int, int>(DeviceKernels.Softmax);
        SoftmaxBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(DeviceKernels.SoftmaxBackward);
        PoolForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, PoolShape>(DeviceKernels.PoolForward);
        PoolBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<int>, ArrayView<float>, PoolShape>(DeviceKernels.PoolBackward);
        GlobalAvgForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(DeviceKernels.GlobalAvgForward);
        GlobalAvgBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, int>(DeviceKernels.GlobalAvgBackward);
        Dropout = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ulong, float, float, int>(DeviceKernels.Dropout);
        PRelu = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(DeviceKernels.PRelu);
        PReluBackwardData = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(DeviceKernels.PReluBackwardData);
        PReluBackwardSlope = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, int>(DeviceKernels.PReluBackwardSlope);
        MaxoutSelect = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int>(DeviceKernels.MaxoutSelect);
        MaxoutScatter = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int>(DeviceKernels.MaxoutScatter);
        ChannelMaxoutForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<int>, int, int, int>(DeviceKernels.ChannelMaxoutForward);
        ChannelMaxoutBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<int>, ArrayView<float>, int, int, int>(DeviceKernels.ChannelMaxoutBackward);
        BatchNormStatistics = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, int>(DeviceKernels.BatchNormStatistics);
        BatchNormForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int>(DeviceKernels.BatchNormForward);
        BatchNormBackwardReduce = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<double>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int>(DeviceKernels.BatchNormBackwardReduce);
        BatchNormBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, float, int>(DeviceKernels.BatchNormBackward);
        LrnForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float>(DeviceKernels.LrnForward);
        LrnBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float>(DeviceKernels.LrnBackward);
        LrnWithinForward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float>(DeviceKernels.LrnWithinForward);
        LrnWithinBackward = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>, ArrayView<float>, ArrayView<float>, int, int, int, float, float, float>(DeviceKernels.LrnWithinBackward);
        Copy = a.LoadAutoGroupedStreamKernel<Index1D, ArrayView<float>, ArrayView<float>>(DeviceKernels.Copy);
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

    /// <summary>Whether <see cref="GemmLarge"/> and <see cref="GemmWide"/> are the 64- and 128-tile kernels (groups of 256
    /// threads fit) rather than the small one.</summary>
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

    protected void ConvForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y, in ConvShape s, int batch)
        => K.ConvForward(batch * s.OC * s.OH * s.OW, x, w, b, y, s, hasBias ? 1 : 0);
    protected void ConvBackwardData(ArrayView<float> dy, ArrayView<float> w, ArrayView<float> dx, in ConvShape s, int batch)
        => K.ConvBackwardData(batch * s.C * s.H * s.W, dy, w, dx, s);
    protected void ConvBackwardWeight(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dw, in ConvShape s, int batch)
        => K.ConvBackwardWeight(s.OC * (s.C / s.Groups) * s.KH * s.KW, x, dy, dw, s, batch);
    /// <summary>C (+)= A·B over the shape's slices (see <see cref="Launcher.Gemm"/>: the tile, split-K), or on cuBLAS when the
    /// device has it on and the product is one large plain or transposed one.
    /// The shape's epilogue (bias, activation into <paramref name="d"/>) runs in the GEMM's stores, or after cuBLAS as one pass.</summary>
    protected void Gemm(ArrayView<float> a, ArrayView<float> b, ArrayView<float> c, in GemmShape s, ArrayView<float> bias = default, ArrayView<float> d = default)
    {
        if (Device.Blas is { } blas && CuBlasGemm.Handles(s) && (!s.HasEpilogue || s.Ldc == s.N) && (long)s.M * s.N * s.K >= CuBlasMinimumWork)
        {
            blas.Gemm(a, b, c, s);
            if (s.HasEpilogue) K.GemmEpilogue(s.M * s.N, c, Launcher.Or(bias, c), Launcher.Or(d, c), s);
        }
        else L.Gemm(a, b, c, s, bias, d);
    }

    /// <summary>Multiply-adds below which a GEMM stays on the generated kernel even with cuBLAS on (its launch costs more).</summary>
    public const long CuBlasMinimumWork = 1L << 22;

    /// <summary>Convolution forward as device im2col + the tiled GEMM: per group one launch over the batch,
    /// y_g[n][opg, P] = W_g[opg, Kg]·col_g[n][Kg, P] (Kg = C/G·KH·KW, P = OH·OW), the bias (and <paramref name="fused"/>'s
    /// activation, when set) added in the GEMM's stores.</summary>
    protected void ConvForwardGemm(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y, ArrayView<float> cols, in ConvShape s, int batch,
        in FusedActivation fused = default)
    {
        int plane = s.OH * s.OW, rows = s.C * s.KH * s.KW, opg = s.OC / s.Groups, kg = rows / s.Groups;
        K.Im2Col(batch * rows * plane, x, cols, s);
        for (int g = 0; g < s.Groups; g++)
            Gemm(w.SubView((long)g * opg * kg, (long)opg * kg), cols.SubView((long)g * kg * plane), y.SubView((long)g * opg * plane),
                new GemmShape(opg, plane, kg, kg, 1, plane, 1, plane, accumulate: false).Batched(batch, 0, (long)rows * plane, (long)s.OC * plane)
                    .WithEpilogue(hasBias ? 1 : 0, fused.Kind, fused.Slope),
                hasBias ? b.SubView((long)g * opg, opg) : default, fused.IsSet ? fused.Output.SubView((long)g * opg * plane) : default);
    }

    /// <summary>Convolution backward on the GEMM, per group: dW_g += Σ_n dy_g[n]·col_g[n]ᵀ (split over the batch, see
    /// <see cref="Launcher.GemmSummed"/>), db += Σ dy, dcol_g[n] = W_gᵀ·dy_g[n] over the batch in one launch, then col2im (a gather)
    /// into dx. Reads the columns the forward left in <paramref name="cols"/>.</summary>
    protected void ConvBackwardGemm(ArrayView<float> w, ArrayView<float> dy, ArrayView<float> dw, ArrayView<float> db, bool hasBias, ArrayView<float> cols,
        ArrayView<float> dcols, ArrayView<float> dx, in ConvShape s, bool parameters, bool inputGradient, int batch)
    {
        int plane = s.OH * s.OW, rows = s.C * s.KH * s.KW, opg = s.OC / s.Groups, kg = rows / s.Groups;
        long yStride = (long)s.OC * plane, colStride = (long)rows * plane;
        for (int g = 0; g < s.Groups; g++)
        {
            var dyg = dy.SubView((long)g * opg * plane);
            var wg = w.SubView((long)g * opg * kg, (long)opg * kg);
            if (parameters)
                L.GemmSummed(dyg, cols.SubView((long)g * kg * plane), dw.SubView((long)g * opg * kg, (long)opg * kg),
                    new GemmShape(opg, kg, plane, plane, 1, 1, plane, kg, accumulate: true), batch, yStride, colStride);
            if (inputGradient)
                Gemm(wg, dyg, dcols.SubView((long)g * kg * plane),
                    new GemmShape(kg, plane, opg, 1, kg, plane, 1, plane, accumulate: false).Batched(batch, 0, yStride, colStride));
        }
        if (parameters && hasBias) BiasBackward(dy, db, s.OC, plane, batch);
        if (inputGradient) K.Col2Im(batch * s.C * s.H * s.W, dcols, dx, s);
    }

    /// <summary>Dense forward y[N, O] = x[N, I]·Wᵀ (+ bias, then <paramref name="fused"/>'s activation when set, both in the
    /// GEMM's stores) on the tiled GEMM.</summary>
    protected void DenseForward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> b, bool hasBias, ArrayView<float> y, int inputs, int outputs, int batch,
        in FusedActivation fused = default)
        => Gemm(x, w, y, new GemmShape(batch, outputs, inputs, inputs, 1, 1, inputs, outputs, accumulate: false).WithEpilogue(hasBias ? 2 : 0, fused.Kind, fused.Slope),
            hasBias ? b : default, fused.IsSet ? fused.Output : default);

    /// <summary>Dense backward: dW[O, I] += dyᵀ·x; db += Σ dy; dx[N, I] = dy·W (when <paramref name="inputGradient"/>).</summary>
    protected void DenseBackward(ArrayView<float> x, ArrayView<float> w, ArrayView<float> dy, ArrayView<float> dw, ArrayView<float> db, bool hasBias,
        ArrayView<float> dx, int inputs, int outputs, bool parameters, bool inputGradient, int batch)
    {
        if (parameters)
        {
            Gemm(dy, x, dw, new GemmShape(outputs, inputs, batch, 1, outputs, inputs, 1, inputs, accumulate: true));
            if (hasBias) BiasBackward(dy, db, outputs, 1, batch);
        }
        if (inputGradient) Gemm(dy, w, dx, new GemmShape(batch, inputs, outputs, outputs, 1, inputs, 1, inputs, accumulate: false));
    }

    /// <summary>db[c] += Σ dy over the batch and the plane: partial sums per part of each channel, then one thread per channel.</summary>
    protected void BiasBackward(ArrayView<float> dy, ArrayView<float> db, int channels, int plane, int batch)
    {
        var partial = L.ChannelSums(dy, dy, channels, plane, batch, DeviceKernels.SumOnly, out int parts);
        K.BiasBackward(channels, partial, db, parts);
    }
    protected void BiasAdd(ArrayView<float> y, ArrayView<float> b, int channels, int plane, int batch) => K.BiasAdd(batch * channels * plane, y, b, channels, plane);
    protected void Activation(ArrayView<float> x, ArrayView<float> y, int kind, float a, int count) => K.Activation(count, x, y, kind, a);
    protected void ActivationBackward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int kind, float a, int count)
        => K.ActivationBackward(count, x, y, dy, dx, kind, a);
    protected void Softmax(ArrayView<float> x, ArrayView<float> y, int channels, int plane, int batch) => K.Softmax(batch * plane, x, y, channels, plane);
    protected void SoftmaxBackward(ArrayView<float> y, ArrayView<float> dy, ArrayView<float> dx, int channels, int plane, int batch)
        => K.SoftmaxBackward(batch * plane, y, dy, dx, channels, plane);
    protected void PoolForward(ArrayView<float> x, ArrayView<float> y, ArrayView<int> arg, in PoolShape s, int batch) => K.PoolForward(batch * s.C * s.OH * s.OW, x, y, arg, s);
    protected void PoolBackward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> dy, ArrayView<int> arg, ArrayView<float> dx, in PoolShape s, int batch)
        => K.PoolBackward(batch * s.C * s.H * s.W, x, y, dy, arg, dx, s);
    protected void GlobalAvgForward(ArrayView<float> x, ArrayView<float> y, int channels, int plane, int batch) => K.GlobalAvgForward(batch * channels, x, y, plane);
    protected void GlobalAvgBackward(ArrayView<float> dy, ArrayView<float> dx, int channels, int plane, int batch) => K.GlobalAvgBackward(batch * channels * plane, dy, dx, plane);
    protected void Dropout(ArrayView<float> x, ArrayView<float> y, ArrayView<float> mask, int layer, float p, float scale, int count)
        => K.Dropout(count, x, y, mask, DropoutKey(layer), p, scale, HoldDropoutMasks ? 0 : 1);
    protected void PRelu(ArrayView<float> x, ArrayView<float> y, ArrayView<float> slope, int channels, int plane, bool perChannel, int batch)
        => K.PRelu(batch * channels * plane, x, y, slope, channels, plane, perChannel ? 1 : 0);
    protected void PReluBackwardData(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> slope, ArrayView<float> dx, int channels, int plane, bool perChannel, int batch)
        => K.PReluBackwardData(batch * channels * plane, x, dy, slope, dx, channels, plane, perChannel ? 1 : 0);
    protected void PReluBackwardSlope(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> dSlope, int channels, int plane, bool perChannel, int batch)
        => K.PReluBackwardSlope(perChannel ? channels : 1, x, dy, dSlope, channels, plane, batch, perChannel ? 1 : 0);
    protected void MaxoutSelect(ArrayView<float> z, ArrayView<float> y, ArrayView<int> winner, int units, int pieces, int batch) => K.MaxoutSelect(batch * units, z, y, winner, pieces);
    protected void MaxoutScatter(ArrayView<float> dy, ArrayView<int> winner, ArrayView<float> dz, int units, int pieces, int batch) => K.MaxoutScatter(batch * units * pieces, dy, winner, dz, pieces);
    protected void ChannelMaxoutForward(ArrayView<float> x, ArrayView<float> y, ArrayView<int> winner, int groups, int pieces, int plane, int batch)
        => K.ChannelMaxoutForward(batch * groups * plane, x, y, winner, groups, pieces, plane);
    protected void ChannelMaxoutBackward(ArrayView<float> dy, ArrayView<int> winner, ArrayView<float> dx, int groups, int pieces, int plane, int batch)
        => K.ChannelMaxoutBackward(batch * groups * pieces * plane, dy, winner, dx, groups, pieces, plane);

    /// <summary>Batch norm forward: statistics (training: batch, running ones updated; eval: running), then the normalization.</summary>
    protected void BatchNormForward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> xhat, ArrayView<float> stats, ArrayView<float> state,
        ArrayView<float> gamma, ArrayView<float> beta, int channels, int plane, float momentum, float epsilon, bool training, int batch)
    {
        if (training && (long)batch * plane < 2)
            throw new InvalidOperationException($"{GetType().FullName}: batch normalization in training mode needs more than one value per channel; got {batch} sample(s) of {plane} value(s).");
        int parts = 0;
        var partial = training ? L.ChannelSums(x, x, channels, plane, batch, DeviceKernels.SumAndSquares, out parts) : L.NoPartials;
        K.BatchNormStatistics(channels, partial, stats, state, channels, parts, batch * plane, momentum, epsilon, training ? 1 : 0);
        K.BatchNormForward(batch * channels * plane, x, y, xhat, stats, gamma, beta, channels, plane);
    }

    /// <summary>Batch norm backward: the per-channel sums (and dγ, dβ unless frozen), then dx when <paramref name="inputGradient"/>.</summary>
    protected void BatchNormBackward(ArrayView<float> dy, ArrayView<float> xhat, ArrayView<float> stats, ArrayView<float> gamma, ArrayView<float> dGamma,
        ArrayView<float> dBeta, ArrayView<float> dx, int channels, int plane, bool training, bool addParameters, bool inputGradient, int batch)
    {
        var partial = L.ChannelSums(dy, xhat, channels, plane, batch, DeviceKernels.SumAndProducts, out int parts);
        K.BatchNormBackwardReduce(channels, partial, stats, dGamma, dBeta, channels, parts, addParameters ? 1 : 0);
        if (inputGradient) K.BatchNormBackward(batch * channels * plane, dy, xhat, gamma, stats, dx, channels, plane, (float)batch * plane, training ? 1 : 0);
    }

    protected void LrnForward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, int channels, int plane, int size, double alpha, double beta, double k, int batch)
        => K.LrnForward(batch * channels * plane, x, y, scale, channels, plane, size, (float)(alpha / size), (float)-beta, (float)k);
    protected void LrnBackward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> scale, ArrayView<float> dx, int channels, int plane, int size, double alpha, double beta, int batch)
        => K.LrnBackward(batch * channels * plane, x, dy, scale, dx, channels, plane, size, (float)-beta, (float)(-beta - 1), (float)(2.0 * alpha * beta / size));

    protected void LrnWithinForward(ArrayView<float> x, ArrayView<float> y, ArrayView<float> scale, int channels, int height, int width, int size, double alpha, double beta, double k, int batch)
        => K.LrnWithinForward(batch * channels * height * width, x, y, scale, height, width, size, (float)(alpha / ((double)size * size)), (float)-beta, (float)k);
    protected void LrnWithinBackward(ArrayView<float> x, ArrayView<float> dy, ArrayView<float> scale, ArrayView<float> dx, int channels, int height, int width, int size, double alpha, double beta, int batch)
        => K.LrnWithinBackward(batch * channels * height * width, x, dy, scale, dx, height, width, size, (float)-beta, (float)(-beta - 1), (float)(2.0 * alpha * beta / ((double)size * size)));
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
        Upload(input, batch, nameof(Forward));
        RunForwardOnDevice(batch, training);
        var output = new float[batch * OutputSize];
        _staging.Download(OutputActivation.View, output);
        return output;
    }

    public void Backward(ReadOnlySpan<float> outputGradient, int batch)
    {
        if (!_backwardReady || batch != _batch)
            throw new InvalidOperationException($"{GetType().FullName}.Backward: call Forward with the same batch ({batch}) first; the last Forward had batch {_batch}.");
        if (outputGradient.Length != batch * OutputSize)
            throw new ArgumentException($"{GetType().FullName}.Backward: outputGradient has {outputGradient.Length} floats, expected batch {batch} × {OutputSize} = {batch * OutputSize}.", nameof(outputGradient));
        _staging.Upload(outputGradient, OutputGradientBuffer.View);
        RunBackward(batch, _training);
        Accelerator.Synchronize();
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
        Upload(inputs, batch, nameof(TrainStep));
        RunForwardOnDevice(batch, training: true);
        float value = _loss.Compute(loss, V(OutputActivation), labels, default, batch, useLabels: true);
        return Finish(value, batch, optimizer);
    }

    public float TrainStep(ReadOnlySpan<float> inputs, ReadOnlySpan<float> targets, int batch, Loss loss, Optimizer optimizer)
    {
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizer);
        if (targets.Length != batch * OutputSize)
            throw new ArgumentException($"{GetType().FullName}.TrainStep: targets have {targets.Length} floats, expected batch {batch} × {OutputSize} = {batch * OutputSize}.", nameof(targets));
        Upload(inputs, batch, nameof(TrainStep));
        RunForwardOnDevice(batch, training: true);
        float value = _loss.Compute(loss, V(OutputActivation), default, targets, batch, useLabels: false);
        return Finish(value, batch, optimizer);
    }

    private float Finish(float value, int batch, Optimizer optimizer)
    {
        if (!float.IsFinite(value))
            throw new InvalidOperationException($"{GetType().FullName}.TrainStep: the loss is {value}; the parameters were not changed.");
        ZeroGradients();
        BackwardOnDevice(batch);
        _optimizer.Step(optimizer, V(ParameterBuffer, 0, ParameterCount), V(GradientBuffer, 0, ParameterCount), ParameterCount);
        Accelerator.Synchronize();
        return value;
    }

    public void Dispose()
    {
        foreach (var b in _owned) b.Dispose();
        foreach (var b in _ownedIndices) b.Dispose();
        L.Dispose();
        _ownedIndices.Clear();
        _loss.Dispose();
        _staging.Dispose();
        _optimizer.Dispose();
        _owned.Clear();
        GC.SuppressFinalize(this);
    }
}
