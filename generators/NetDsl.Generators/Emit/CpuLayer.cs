using System.Globalization;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Lowering;

namespace NetDsl.Generators.Emit;

/// <summary>
/// What a family's CPU emission sees for one layer: the writer, the layer, its member stem, the names of the buffers its
/// passes read and write, and the CPU lowering's decisions for it. Buffers are per sample ranges of [MaxBatch, size] arrays.
/// </summary>
internal sealed class CpuLayer
{
    public const string Rt = "global::NetDsl";
    public const string Span = "global::System.Span<float>";
    public const string RoSpan = "global::System.ReadOnlySpan<float>";

    private readonly NetworkEmitter _emitter;

    public CpuLayer(NetworkEmitter emitter, ShapedLayer layer)
    {
        _emitter = emitter;
        Layer = layer;
    }

    public IndentedWriter W => _emitter.Writer;
    public ShapedLayer Layer { get; }
    public ShapedNetwork Net => _emitter.Network;
    public CpuPlan Plan => _emitter.CpuPlan;
    /// <summary>The network class's name (for error messages).</summary>
    public string Cls => Net.ClassName;
    /// <summary>PascalCase member stem of this layer: Conv1 → Conv1Forward, _actConv1, ...</summary>
    public string M => _emitter.Member(Layer.Index);
    public string MemberOf(int layer) => _emitter.Member(layer);

    /// <summary>The output buffer of layer <paramref name="layer"/> (−1: the copied input).</summary>
    public string ActOf(int layer) => _emitter.Act(layer);
    /// <summary>The input buffer (the first input's output).</summary>
    public string X => ActOf(Layer.InputLayer);
    public string XOf(int input) => ActOf(Layer.Inputs[input]);
    public string Y => ActOf(Layer.Index);
    /// <summary>dL/d(this layer's output), complete when its backward runs.</summary>
    public string Dy => _emitter.Grad(Layer.Index);
    /// <summary>Where the backward pass writes dL/d(input): the input's gradient buffer, or, when another reader of that input
    /// already wrote it, a scratch buffer the drivers add in afterwards. Either way the pass overwrites it.</summary>
    public string Dx => DxOf(0);
    public string DxOf(int input) => _emitter.GradientTarget(Layer.Index, input);
    /// <summary>dL/d(output of layer <paramref name="layer"/>).</summary>
    public string GradOf(int layer) => _emitter.Grad(layer);
    /// <summary>Where layer <paramref name="layer"/>'s backward pass writes dL/d(its input <paramref name="input"/>) (see <see cref="Dx"/>).</summary>
    public string GradientTargetOf(int layer, int input) => _emitter.GradientTarget(layer, input);

    public string Shape(int c, int h, int w) => h == 1 && w == 1 ? $"[N, {c}]" : $"[N, {c}, {h}, {w}]";
    /// <summary>The input's shape; a join's inputs' shapes joined by " + " (Add) or " ‖ " (Concat).</summary>
    public string InShape => Layer.Inputs.Count == 1 ? Shape(Layer.InC, Layer.InH, Layer.InW)
        : string.Join(Layer.Kind == Model.LayerKind.Add ? " + " : " ‖ ", System.Linq.Enumerable.Select(Layer.Inputs, i => SourceShape(i)));

    private string SourceShape(int source) => source < 0
        ? Shape(Net.InC, Net.InH, Net.InW)
        : Shape(Net.Layers[source].OutC, Net.Layers[source].OutH, Net.Layers[source].OutW);
    public string OutShape => Shape(Layer.OutC, Layer.OutH, Layer.OutW);

    /// <summary>The XML summary line above a pass.</summary>
    public void Header(string pass) =>
        W.Line($"/// <summary>{Layer.Name} {pass}: {Families.LayerFamilies.For(Layer).Describe(Layer)}, {InShape} → {OutShape}.</summary>");

    /// <summary>A span over samples [n0, n1) of <paramref name="buffer"/>, <paramref name="size"/> floats each.</summary>
    public void Range(string name, string buffer, int size, bool readOnly) =>
        W.Line($"{(readOnly ? RoSpan : Span)} {name} = {buffer}.AsSpan(n0 * {size}, (n1 - n0) * {size});");

    /// <summary>The first lines of a forward pass that splits a batch of one across the workers: why, and the hand-off to
    /// its <paramref name="method"/> (ForwardRows, ForwardUnits), whose delegate is cached in a field named after it.</summary>
    public void SplitOneSample(string share, string method)
    {
        W.Line($"// A batch of one sample: every worker computes {share} (see {method}).");
        W.Line($"if (_batch == 1 && _workers.Workers > 1) {{ _workers.Run(_{char.ToLowerInvariant(method[0])}{method.Substring(1)}{M}); return; }}");
    }

    /// <summary>The first lines of a forward pass that a batch of one runs inside a convolution's split instead (see
    /// <c>CpuPlan.SplitChain</c>): nothing here when the split ran it; nothing at all when the layer is not in one.</summary>
    public void DoneInsideSplit()
    {
        int conv = Plan.SplitInside(Layer.Index);
        if (conv < 0) return;
        W.Line($"// A batch of one sample on several workers: done by {MemberOf(conv)}ForwardRows, each worker on the share it wrote.");
        W.Line("if (_batch == 1 && _workers.Workers > 1) return;");
    }

    public static string I(long value) => value.ToString(CultureInfo.InvariantCulture);
    public static string F(double value) => IndentedWriter.F(value);
}
