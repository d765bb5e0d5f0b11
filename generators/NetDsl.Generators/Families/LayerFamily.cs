using System.Collections.Generic;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Families;

/// <summary>A layer's window per axis: size, stride and dilation; <see cref="Transposed"/> for a transposed convolution
/// (its stride upsamples).</summary>
internal readonly record struct SlidingWindow(int KernelH, int KernelW, int StrideH, int StrideW, int Dilation, bool Transposed = false);

/// <summary>How the CPU drivers call a layer pass: which of (n0, n1, worker, grad, inputGradient) it takes.</summary>
internal enum CpuCall
{
    /// <summary>(n0, n1): samples [n0, n1) of the batch.</summary>
    Rows,
    /// <summary>(n0, n1, worker): also the worker's scratch (im2col, packed panels).</summary>
    RowsWorker,
    /// <summary>(n0, n1, grad): also the worker's parameter-gradient buffer.</summary>
    RowsGrad,
    /// <summary>(n0, n1, grad, inputGradient): may skip dx when nothing needs it.</summary>
    RowsGradInput,
    /// <summary>(n0, n1, worker, grad, inputGradient).</summary>
    Full,
}

/// <summary>
/// One family of layers (convolutions, pooling, activations, ...): everything NetDsl knows about them, in one file.
/// Shape inference (argument validation and its diagnostics, the shape rule, parameters and buffers with PyTorch names and
/// layouts), the summary text, initialization, and the CPU backend's workspace and forward and backward passes side by
/// side. Adding a family: a subclass here, its attribute in <c>src/NetDsl/Attributes</c>, its row in
/// <see cref="LayerFamilies.All"/>, and its README row (see CONTRIBUTING.md); <c>FamilyRegistryTests</c> fails when one is missing.
/// </summary>
internal abstract class LayerFamily
{
    /// <summary>The family's name, e.g. "Convolution".</summary>
    public abstract string Name { get; }

    /// <summary>The layer kinds (one per attribute) this family handles.</summary>
    public abstract IReadOnlyList<LayerKind> Kinds { get; }

    /// <summary>The attribute's name for <paramref name="kind"/> (without "Attribute").</summary>
    public virtual string AttributeName(LayerKind kind) => kind.ToString();

    /// <summary>Default layer names are this prefix and a running number: conv1, pool2.</summary>
    public abstract string Prefix(LayerKind kind);

    /// <summary>Validates the arguments and computes the output shape and parameters; null after reporting an error.</summary>
    public abstract ShapedLayer? Infer(LayerContext ctx);

    /// <summary>The "kind" column of the summary table.</summary>
    public virtual string Describe(ShapedLayer l) => l.Kind.ToString();

    /// <summary>The sliding window of a convolution or pooling layer (for receptive fields); null for layers that keep
    /// each position's field as it is (pointwise layers, normalization, joins).</summary>
    public virtual SlidingWindow? Window(ShapedLayer l) => null;

    /// <summary>Whether every output depends on the whole input map (dense, global pooling, maxout, flatten of a map).</summary>
    public virtual bool SeesWholeInput(ShapedLayer l) => false;

    /// <summary>Pointwise nonlinearities (for the advice on activation after activation).</summary>
    public virtual bool IsActivation(LayerKind kind) => false;

    /// <summary>(fan_in, fan_out) of the weight, for He/Glorot/LeCun initialization.</summary>
    public virtual (int FanIn, int FanOut) Fans(ShapedLayer l) => (l.InSize, l.OutC);

    /// <summary>Writes the layer's lines of <c>Initialize(seed)</c>; the default draws the weight by the layer's scheme and zeroes the bias.</summary>
    public virtual void WriteInitialize(CpuLayer e)
    {
        var l = e.Layer;
        if (!l.HasParameters) return;
        var (fanIn, fanOut) = Fans(l);
        string scheme = l.Init switch { 1 => "He", 3 => "LeCun", 4 => "StandardNormal", _ => "Glorot" };
        e.W.Line($"{CpuLayer.Rt}.Kernels.WeightInit.Fill({e.M}Weight, {CpuLayer.Rt}.Init.{scheme}, fanIn: {fanIn}, fanOut: {fanOut}, ref rng);");
        if (l.HasBias) e.W.Line($"{e.M}Bias.Clear();");
    }

    // ---- CPU backend ----

    /// <summary>Fields the passes need beyond the output and its gradient (argmax indices, masks, statistics).</summary>
    public virtual void DeclareWorkspace(CpuLayer e) { }

    /// <summary>Allocates those fields in the constructor (sized for <c>maxBatch</c>).</summary>
    public virtual void AllocateWorkspace(CpuLayer e) { }

    /// <summary>Allocates per-worker workspace in the constructor once the worker count, the local <paramref name="count"/>, is known.</summary>
    public virtual void AllocatePerWorker(CpuLayer e, string count) { }

    /// <summary>Lines at the end of a backward phase's slice (locals <c>worker</c> and <c>grad</c>), after every block ran:
    /// a layer that sums over the slice's chunks finishes its parameter gradient here.</summary>
    public virtual void WriteBackwardSliceEnd(CpuLayer e) { }

    public virtual CpuCall ForwardCall(ShapedLayer l, CpuPlan plan) => CpuCall.Rows;
    public virtual CpuCall BackwardCall(ShapedLayer l) => CpuCall.Rows;

    /// <summary>Whether the layer needs whole-batch statistics between phases (batch norm): the drivers then split the batch
    /// work around a serial <c>Statistics()</c> (forward) and <c>BackwardReduce()</c> (backward).</summary>
    public virtual bool NeedsWholeBatch(ShapedLayer l) => false;

    /// <summary>Whether a run of such layers may go through a worker's share a few samples at a time (per-sample stages).</summary>
    public virtual bool CacheBlockable(ShapedLayer l) => false;

    /// <summary>Writes <c>{M}Forward</c> (and anything only the forward pass uses, such as a geometry constant).</summary>
    public abstract void WriteForward(CpuLayer e);

    /// <summary>Writes <c>{M}Backward</c>: adds the parameter gradients into <c>grad</c> and writes dL/d(input) into <see cref="CpuLayer.Dx"/>.</summary>
    public abstract void WriteBackward(CpuLayer e);

    /// <summary>Whether <c>{M}Backward</c> writes the layer's whole weight gradient (its first <c>WeightCount</c> parameters)
    /// once per batch slice, in one product that stores rather than adds where the slice's buffer starts at zero
    /// (<c>accumulate: grad == _gradients &amp;&amp; !_overwriteGradients</c>). The drivers then leave that range uncleared: a
    /// dense layer's weight gradient is most of a small CNN's parameters, and clearing it before every step was a serial
    /// memset of the whole buffer.</summary>
    public virtual bool OverwritesWeightGradient(ShapedLayer l) => false;

    // ---- GPU backend (the nested <Net>.Gpu twin; NetDsl.Gpu's device kernels) ----

    /// <summary>Whether the family has device kernels for <paramref name="l"/>. A network with a layer that has none gets
    /// NDSL0401 (only when the project references NetDsl.Gpu), never a silent host fallback.</summary>
    public virtual bool HasGpu(ShapedLayer l) => false;

    /// <summary>Whether the layer's device forward ends in a GEMM whose stores can also apply the pointwise activation that
    /// directly follows it (<see cref="GpuLayer.FusedActivation"/>: the emitter then passes it and skips the activation's
    /// own pass).</summary>
    public virtual bool GpuFusesActivation(ShapedLayer l) => false;

    /// <summary>Fields beyond the output and its gradient (argmax indices, masks, the layer's geometry constant).</summary>
    public virtual void WriteGpuWorkspace(GpuLayer g) { }

    /// <summary>Allocates those fields in the constructor (<c>maxBatch</c> in scope).</summary>
    public virtual void WriteGpuAllocate(GpuLayer g) { }

    /// <summary>Launches the layer's forward kernels (<c>batch</c> and <c>training</c> in scope).</summary>
    public virtual void WriteGpuForward(GpuLayer g) => throw new System.NotSupportedException($"{Name} has no GPU kernels");

    /// <summary>Launches the backward kernels: dL/d(input) overwrites <see cref="GpuLayer.DxOf"/>, parameter gradients are added.</summary>
    public virtual void WriteGpuBackward(GpuLayer g) => throw new System.NotSupportedException($"{Name} has no GPU kernels");
}

/// <summary>The registry: every layer attribute maps to exactly one family.</summary>
internal static class LayerFamilies
{
    public static readonly LayerFamily[] All =
    {
        new ConvolutionFamily(),
        new PoolingFamily(),
        new DenseFamily(),
        new ActivationFamily(),
        new NormalizationFamily(),
        new DropoutFamily(),
        new MaxoutFamily(),
        new JoinFamily(),
    };

    private static readonly Dictionary<LayerKind, LayerFamily> s_byKind = Build();

    private static Dictionary<LayerKind, LayerFamily> Build()
    {
        var map = new Dictionary<LayerKind, LayerFamily>();
        foreach (var f in All) foreach (var k in f.Kinds) map[k] = f;
        return map;
    }

    /// <summary>The family of <paramref name="kind"/>, or null for <see cref="LayerKind.Unknown"/> (or a kind no family claims).</summary>
    public static LayerFamily? Of(LayerKind kind) => s_byKind.TryGetValue(kind, out var f) ? f : null;

    public static LayerFamily For(ShapedLayer l) => s_byKind[l.Kind];

    /// <summary>The kind of the attribute named <paramref name="attributeName"/> (without "Attribute"); Unknown when no family has it.</summary>
    public static LayerKind KindOf(string attributeName)
    {
        foreach (var f in All)
            foreach (var k in f.Kinds)
                if (f.AttributeName(k) == attributeName) return k;
        return LayerKind.Unknown;
    }

    public static bool IsActivation(LayerKind kind) => Of(kind)?.IsActivation(kind) ?? false;
}
