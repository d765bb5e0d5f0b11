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

    /// <summary>The struct of constants a convolution's kernels are compiled for (an <c>IConvGeometry</c>): input C×H×W,
    /// output OC×OH×OW, kernel, stride, padding (top, left), dilation, groups.</summary>
    public string ConvGeometry(int c, int h, int w, int oc, int oh, int ow, int kh, int kw, int sh, int sw, int pt, int pl, int dh, int dw, int groups, string? note = null)
    {
        string constants = $"public const int InChannels = {c}, InHeight = {h}, InWidth = {w}, OutChannels = {oc}, OutHeight = {oh}, OutWidth = {ow}, " +
            $"KernelHeight = {kh}, KernelWidth = {kw}, StrideHeight = {sh}, StrideWidth = {sw}, PadTop = {pt}, PadLeft = {pl}, DilationHeight = {dh}, DilationWidth = {dw}, Groups = {groups};";
        const string members = "public " + Ns + ".ConvShape Shape => new(InChannels, InHeight, InWidth, OutChannels, OutHeight, OutWidth, KernelHeight, KernelWidth, StrideHeight, StrideWidth, PadTop, PadLeft, DilationHeight, DilationWidth, Groups);";
        string summary = $"{c}×{h}×{w} → {oc}×{oh}×{ow}, {kh}×{kw} kernel, stride {sh}×{sw}, padding {pt}, {pl} (top, left), dilation {dh}×{dw}, {groups} group{(groups == 1 ? "" : "s")}{note}";
        return _emitter.DeclareGeometry(Layer, "IConvGeometry", summary, constants, members);
    }

    /// <summary>The struct of constants a dense product's kernels are compiled for (an <c>IDenseGeometry</c>).</summary>
    public string DenseGeometry(int inputs, int outputs)
        => _emitter.DeclareGeometry(Layer, "IDenseGeometry", $"{inputs} inputs → {outputs} outputs",
            $"public const int InputCount = {inputs}, OutputCount = {outputs};", "public int Inputs => InputCount;\n" + "public int Outputs => OutputCount;");

    /// <summary>The struct of constants a pooling layer's kernels are compiled for (an <c>IPoolGeometry</c>); mode 0 max, 1 min,
    /// 2 average, 3 L2, 4 sum.</summary>
    public string PoolGeometry(int c, int h, int w, int oh, int ow, int kh, int kw, int sh, int sw, int ph, int pw, int mode, bool includePad)
    {
        string[] modes = { "max", "min", "average", "L2", "sum" };
        string constants = $"public const int Channels = {c}, InHeight = {h}, InWidth = {w}, OutHeight = {oh}, OutWidth = {ow}, KernelHeight = {kh}, KernelWidth = {kw}, " +
            $"StrideHeight = {sh}, StrideWidth = {sw}, PadHeight = {ph}, PadWidth = {pw}, Mode = {mode}; // {modes[mode]}\n" +
            $"public const bool CountIncludePad = {(includePad ? "true" : "false")};";
        const string members = "public " + Ns + ".PoolShape Shape => new(Channels, InHeight, InWidth, OutHeight, OutWidth, KernelHeight, KernelWidth, StrideHeight, StrideWidth, PadHeight, PadWidth, Mode, CountIncludePad);";
        string summary = $"{modes[mode]} pooling of {c}×{h}×{w} → {c}×{oh}×{ow}, {kh}×{kw} window, stride {sh}×{sw}, padding {ph}×{pw}";
        return _emitter.DeclareGeometry(Layer, "IPoolGeometry", summary, constants, members);
    }

    /// <summary>The struct of constants a feature map's per-channel kernels are compiled for (an <c>IMapGeometry</c>).</summary>
    public string MapGeometry(int channels, int height, int width, int pieces = 1)
        => pieces == 1
            ? _emitter.DeclareGeometry(Layer, "IMapGeometry", $"a {channels}×{height}×{width} map",
                $"public const int Channels = {channels}, Height = {height}, Width = {width};", "public " + Ns + ".MapShape Shape => new(Channels, Height, Width);", "Map")
            : _emitter.DeclareGeometry(Layer, "IMapGeometry", $"a {channels}×{height}×{width} map, each channel the maximum of {pieces} input channels",
                $"public const int Channels = {channels}, Height = {height}, Width = {width}, Pieces = {pieces};", "public " + Ns + ".MapShape Shape => new(Channels, Height, Width, Pieces);", "Map");

    /// <summary>In the constructor: compiles the kernels of map <paramref name="map"/> that <paramref name="uses"/> names
    /// (<c>MapKernel</c> flags), once per map and use.</summary>
    public void WritePrepareMap(string map, string uses) => _emitter.WriteOnce($"PrepareMap<{map}>({Ns}.MapKernel.{uses});");

    /// <summary>In the constructor: compiles a geometry's kernels with <paramref name="prepare"/> (<c>PrepareConvGemm</c>,
    /// <c>PrepareDense</c>, ...), and its bias gradient's sums when <paramref name="biasGradient"/>, once per call.</summary>
    public void WritePrepare(string prepare, string geometry, bool biasGradient) => _emitter.WriteOnce($"{prepare}<{geometry}>(biasGradient: {(biasGradient ? "true" : "false")});");

    /// <summary>In the constructor: compiles a geometry's kernels with <paramref name="prepare"/>, once.</summary>
    public void WritePrepare(string prepare, string geometry) => _emitter.WriteOnce($"{prepare}<{geometry}>();");

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
