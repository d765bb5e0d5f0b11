using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>
/// Add (residual: elementwise sum of equal shapes) and Concat (channels of equal height and width, in input order).
/// Inputs: <c>[Add("main", "proj")]</c> / <c>[Concat("b1", "b2", "b3")]</c> name them all, in order; <c>[Add(From = "x")]</c>
/// is the previous layer, then x. The shape inference resolves the names (see <see cref="ShapeInference"/>).
/// </summary>
internal sealed class JoinFamily : LayerFamily
{
    public override string Name => "Joins";
    public override IReadOnlyList<LayerKind> Kinds { get; } = new[] { LayerKind.Add, LayerKind.Concat };
    public override string Prefix(LayerKind kind) => kind == LayerKind.Add ? "add" : "concat";

    public override ShapedLayer? Infer(LayerContext ctx)
    {
        var shapes = ctx.InputShapes;
        bool add = ctx.Layer.Kind == LayerKind.Add;
        var first = shapes[0];
        bool listed = ctx.Layer.Find("inputs") is { Type: ArgType.TextList, Texts.Count: > 0 };
        for (int j = 1; j < shapes.Length; j++)
        {
            bool mismatch = add ? shapes[j] != first : shapes[j].H != first.H || shapes[j].W != first.W;
            if (!mismatch) continue;
            string all = string.Join(", ", ctx.Inputs.Select((s, i) => $"'{InputName(ctx, i)}' {shapes[i]}"));
            string id = add ? DiagnosticIds.AddShapeMismatch : DiagnosticIds.ConcatShapeMismatch;
            var problemArgs = new[] { all, $"'{InputName(ctx, j)}'" };
            if (listed) ctx.ReportItem(id, "inputs", j, problemArgs);
            else ctx.Report(id, "From", problemArgs);
            if (add && Projection(ctx, j, listed) is { } repair) ctx.AttachToLast(repair);
            return null;
        }
        int channels = add ? first.C : shapes.Sum(s => s.C);
        return ctx.Shaped(channels, first.H, first.W, NoParams.Instance);
    }

    /// <summary>
    /// ResNet's projection shortcut for an Add whose input <paramref name="j"/> differs from the first input in channels or
    /// by a whole stride: a strided 1×1 convolution (no bias) from that input, inserted right before the Add, which then
    /// reads it. Null when no 1×1 convolution can produce the first input's shape.
    /// </summary>
    private static Repair? Projection(LayerContext ctx, int j, bool listed)
    {
        var target = ctx.InputShapes[0];
        var source = ctx.InputShapes[j];
        int stride = 0;
        for (int s = 1; s <= System.Math.Max(source.H, source.W); s++)
            if ((source.H - 1) / s + 1 == target.H && (source.W - 1) / s + 1 == target.W) { stride = s; break; }
        if (stride == 0) return null;
        string from = ctx.InputNames[j];
        string name = from == "input" ? "input_proj" : from + "_proj";
        for (int n = 2; ctx.AllNames.Contains(name); n++) name = (from == "input" ? "input_proj" : from + "_proj") + LayerContext.S(n);
        string conv = $"Conv2D({LayerContext.S(target.C)}, 1" + (stride > 1 ? $", Stride = {LayerContext.S(stride)}" : "") + $", Bias = false, From = \"{from}\", Name = \"{name}\")";
        // The Add lists its inputs: with From, "the previous layer" would now be the projection.
        var inputs = ctx.InputNames.Select((n, i) => i == j ? name : n).Select(n => $"\"{n}\"");
        var extra = new List<string>();
        if (ctx.Layer.ExplicitName is { } own) extra.Add($"Name = \"{own}\"");
        if (ctx.Layer.Find("Frozen") is { Type: ArgType.Bool, Int: not 0 }) extra.Add("Frozen = true");
        string add = $"Add({string.Join(", ", inputs.Concat(extra))})";
        return new Repair(RepairKind.InsertProjection, EquatableArray<ArgumentEdit>.Empty, conv, add);
    }

    /// <summary>The name the user wrote (or would write) for input <paramref name="i"/>.</summary>
    internal static string InputName(LayerContext ctx, int i) => ctx.InputNames[i];

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        e.Header("forward");
        w.Open($"private void {e.M}Forward(int n0, int n1)");
        if (l.Kind == LayerKind.Add)
        {
            e.Range("y", e.Y, l.OutSize, false);
            w.Line($"// y = {string.Join(" + ", l.Inputs.Select(i => e.Net.NameOf(i)))}");
            w.Line($"{e.XOf(0)}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize}).CopyTo(y);");
            for (int j = 1; j < l.Inputs.Count; j++)
                w.Line($"{Rt}.Kernels.Vec.Add(y, {e.XOf(j)}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize}));");
        }
        else
        {
            int at = 0;
            var parts = new List<string>();
            foreach (int source in l.Inputs)
            {
                int c = e.Net.SizeOf(source) / (l.OutH * l.OutW);
                parts.Add($"[{at}, {at + c}) from {e.Net.NameOf(source)}");
                at += c;
            }
            w.Line($"// channels {string.Join(", ", parts)}");
            w.Open("for (int n = n0; n < n1; n++)");
            int offset = 0;
            for (int j = 0; j < l.Inputs.Count; j++)
            {
                int size = e.Net.SizeOf(l.Inputs[j]);
                w.Line($"{e.XOf(j)}.AsSpan(n * {size}, {size}).CopyTo({e.Y}.AsSpan(n * {l.OutSize} + {offset}, {size}));");
                offset += size;
            }
            w.Close();
        }
        w.Close();
        w.Line();
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        e.Header("backward");
        w.Line(l.Kind == LayerKind.Add ? "// Every input gets dy." : "// Each input gets its channels of dy.");
        w.Open($"private void {e.M}Backward(int n0, int n1)");
        int offset = 0;
        for (int j = 0; j < l.Inputs.Count; j++)
        {
            int source = l.Inputs[j], size = e.Net.SizeOf(source);
            string guard = source < 0 ? "if (ComputeInputGradient) " : "";
            if (l.Kind == LayerKind.Add)
                w.Line($"{guard}{e.Dy}.AsSpan(n0 * {size}, (n1 - n0) * {size}).CopyTo({e.DxOf(j)}.AsSpan(n0 * {size}, (n1 - n0) * {size})); // → {e.Net.NameOf(source)}");
            else
                w.Line($"{guard}for (int n = n0; n < n1; n++) {e.Dy}.AsSpan(n * {l.OutSize} + {offset}, {size}).CopyTo({e.DxOf(j)}.AsSpan(n * {size}, {size})); // → {e.Net.NameOf(source)}");
            offset += size;
        }
        w.Close();
        w.Line();
    }

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Add)
        {
            g.W.Line($"Copy({g.XOf(0)}, {g.Y}, {GpuLayer.Count(l.OutSize)});");
            for (int j = 1; j < l.Inputs.Count; j++) g.W.Line($"AddInto({g.XOf(j)}, {g.Y}, {GpuLayer.Count(l.OutSize)});");
            return;
        }
        int offset = 0;
        for (int j = 0; j < l.Inputs.Count; j++)
        {
            int size = g.Net.SizeOf(l.Inputs[j]);
            g.W.Line($"CopyToSlice({g.XOf(j)}, {g.Y}, {size}, {l.OutSize}, {offset}, batch);");
            offset += size;
        }
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        int offset = 0;
        for (int j = 0; j < l.Inputs.Count; j++)
        {
            int size = g.Net.SizeOf(l.Inputs[j]);
            g.WriteDx(j, l.Kind == LayerKind.Add
                ? $"Copy({g.Dy}, {g.DxOf(j)}, {GpuLayer.Count(size)});"
                : $"CopyFromSlice({g.Dy}, {g.DxOf(j)}, {size}, {l.OutSize}, {offset}, batch);");
            offset += size;
        }
    }
}
