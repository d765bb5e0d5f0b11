using NetDsl.Generators.Inference;
using NetDsl.Generators.Lowering;

namespace NetDsl.Generators.Emit.Gpu;

/// <summary>
/// What a family's GPU emission sees for one layer: the writer, the layer, its member stem and the device views its passes
/// read and write. Views are <c>ArrayView&lt;float&gt;</c> expressions over [MaxBatch, size] device buffers; <c>batch</c> is in scope.
/// </summary>
internal sealed class GpuLayer
{
    public const string Ns = "global::NetDsl.Gpu";

    private readonly GpuEmitter _emitter;

    public GpuLayer(GpuEmitter emitter, ShapedLayer layer)
    {
        _emitter = emitter;
        Layer = layer;
    }

    public IndentedWriter W => _emitter.Writer;
    public ShapedLayer Layer { get; }
    public ShapedNetwork Net => _emitter.Network;
    /// <summary>PascalCase member stem of this layer (the CPU class's).</summary>
    public string M => _emitter.Member(Layer.Index);

    /// <summary>The output of input <paramref name="input"/> (its source layer's activation view).</summary>
    public string XOf(int input) => $"V({_emitter.Act(Layer.Inputs[input])})";
    public string X => XOf(0);
    public string Y => $"V({_emitter.Act(Layer.Index)})";
    public string Dy => $"V({_emitter.Grad(Layer.Index)})";
    /// <summary>Where the backward writes dL/d(input <paramref name="input"/>): the source's gradient, or its scratch buffer
    /// when another reader already wrote it (the plan's routing; the driver adds the scratch in). Always overwritten.</summary>
    public string DxOf(int input) => $"V({_emitter.GradientTarget(Layer.Index, input)})";
    public string Dx => DxOf(0);

    /// <summary>The activation layer this layer's GEMM applies in its stores (its family said it can; the activation
    /// directly follows and reads only this layer), or null.</summary>
    public ShapedLayer? FusedActivation => _emitter.FusedActivation(Layer.Index) is var a and >= 0 ? Net.Layers[a] : null;
    /// <summary>For an activation: the layer whose GEMM computes it, or null.</summary>
    public ShapedLayer? FusedInto => _emitter.FusedInto(Layer.Index) is var p and >= 0 ? Net.Layers[p] : null;
    /// <summary><c>, new FusedActivation(…)</c> for a producer with a fused activation, else empty.</summary>
    public string FusedArgument => FusedActivation is { } a
        ? ", " + Families.ActivationFamily.GpuFusedActivation(a, $"V({_emitter.Act(a.Index)})") : "";
    public string FusedComment => FusedActivation is { } a ? $"; bias and {a.Name} in its stores" : "";

    public string Param(int offset, int count) => $"V(ParameterBuffer, {I(offset)}, {I(count)})";
    public string Grad(int offset, int count) => $"V(GradientBuffer, {I(offset)}, {I(count)})";
    public string Weight => Param(Layer.WeightOffset, Layer.WeightCount);
    public string Bias => Layer.HasBias ? Param(Layer.BiasOffset, Layer.BiasCount) : Weight;
    public string DWeight => Grad(Layer.WeightOffset, Layer.WeightCount);
    public string DBias => Grad(Layer.BiasOffset, Layer.BiasCount);

    /// <summary>Writes <paramref name="statement"/>, which computes dL/d(input <paramref name="input"/>), guarded when that input is
    /// the network input (computed only with ComputeInputGradient).</summary>
    public void WriteDx(int input, string statement)
    {
        if (Layer.Inputs[input] < 0) W.Line($"if (ComputeInputGradient) {statement}");
        else W.Line(statement);
    }

    /// <summary>Parameter gradients are skipped for frozen layers (they stay zero, as on the CPU).</summary>
    public void WriteParameterGradient(string statement)
    {
        if (!Layer.Frozen) W.Line(statement);
    }

    /// <summary><c>batch * size</c>: the elements of a per-sample buffer.</summary>
    public static string Count(int size) => $"batch * {I(size)}";

    public static string I(long value) => IndentedWriter.I(value);
    public static string F(double value) => IndentedWriter.F(value);
}
