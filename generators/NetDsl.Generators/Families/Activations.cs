using System.Collections.Generic;
using System.Globalization;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>Pointwise nonlinearities (ReLU, LeakyReLU, PReLU, ELU, Tanh, Sigmoid) and softmax over channels. The shape is
/// unchanged; PReLU learns one slope or one per channel. CPU: <c>Kernels.Vec</c> (ReLU, tanh, sigmoid) and
/// <c>Kernels.Activations</c>.</summary>
internal sealed class ActivationFamily : LayerFamily
{
    public override string Name => "Activations";
    public override IReadOnlyList<LayerKind> Kinds { get; } = new[]
    {
        LayerKind.ReLU, LayerKind.LeakyReLU, LayerKind.PReLU, LayerKind.ELU, LayerKind.Tanh, LayerKind.Sigmoid, LayerKind.Softmax,
    };
    public override string Prefix(LayerKind kind) => kind.ToString().ToLowerInvariant();
    public override bool IsActivation(LayerKind kind) => true;

    public override string Describe(ShapedLayer l) =>
        l.Kind == LayerKind.LeakyReLU ? $"LeakyReLU {((ScalarParams)l.Params).Value.ToString("R", CultureInfo.InvariantCulture)}" : l.Kind.ToString();

    public override ShapedLayer? Infer(LayerContext ctx)
    {
        switch (ctx.Layer.Kind)
        {
            case LayerKind.LeakyReLU:
            {
                double slope = ctx.Real("slope", 0.01, 0, 1, "in [0, 1)", upperInclusive: false);
                return ctx.Failed ? null : ctx.SameShape(new ScalarParams(slope));
            }
            case LayerKind.ELU:
            {
                double alpha = ctx.Real("alpha", 1.0, 0, 1e6, "at least 0", upperInclusive: true);
                return ctx.Failed ? null : ctx.SameShape(new ScalarParams(alpha));
            }
            case LayerKind.PReLU:
            {
                bool perChannel = ctx.Bool("PerChannel", false);
                double initial = ctx.Real("InitialSlope", 0.25, -1e6, 1e6, "a finite number", upperInclusive: true);
                if (ctx.Failed) return null;
                int count = perChannel ? ctx.Input.C : 1;
                return ctx.WithParameters(ctx.SameShape(new PReluParams(perChannel, initial)), new[] { count }, null, 0);
            }
            default:
                return ctx.SameShape(NoParams.Instance);
        }
    }

    public override void WriteInitialize(CpuLayer e)
    {
        if (e.Layer.Params is PReluParams p) e.W.Line($"{e.M}Weight.Fill({F(p.InitialSlope)});");
    }

    public override CpuCall BackwardCall(ShapedLayer l) => l.Kind == LayerKind.PReLU ? CpuCall.RowsGrad : CpuCall.Rows;
    public override bool CacheBlockable(ShapedLayer l) => l.Kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.Tanh or LayerKind.Sigmoid or LayerKind.ELU;

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        int hw = l.InH * l.InW;
        e.Header("forward");
        w.Open($"private void {e.M}Forward(int n0, int n1)");
        e.DoneInsideSplit();
        e.Range("x", e.X, l.InSize, true);
        e.Range("y", e.Y, l.OutSize, false);
        switch (l.Kind)
        {
            case LayerKind.ReLU: w.Line($"{Rt}.Kernels.Vec.Relu(x, y);"); break;
            case LayerKind.Tanh: w.Line($"{Rt}.Kernels.Vec.Tanh(x, y);"); break;
            case LayerKind.Sigmoid: w.Line($"{Rt}.Kernels.Vec.Sigmoid(x, y);"); break;
            case LayerKind.LeakyReLU: w.Line($"{Rt}.Kernels.Activations.LeakyReluForward(x, y, slope: {F(((ScalarParams)l.Params).Value)}); // x > 0 ? x : slope·x"); break;
            case LayerKind.ELU: w.Line($"{Rt}.Kernels.Activations.EluForward(x, y, alpha: {F(((ScalarParams)l.Params).Value)}); // x > 0 ? x : α·(eˣ − 1)"); break;
            case LayerKind.PReLU:
                w.Line($"{RoSpan} slope = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // {(l.WeightCount == 1 ? "one slope for every channel" : "one slope per channel")}");
                w.Line($"{Rt}.Kernels.Activations.PReluForward(x, y, slope, n1 - n0, {l.InC}, {hw});");
                break;
            case LayerKind.Softmax:
                w.Line($"// Softmax over the {l.InC} channels at each of the {hw} positions, shifted by the maximum for stability.");
                w.Line($"{Rt}.Kernels.Activations.SoftmaxForward(x, y, n1 - n0, {l.InC}, {hw});");
                break;
        }
        w.Close();
        w.Line();
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        int size = l.OutSize, hw = l.InH * l.InW;
        int pool = e.Plan.ReluFoldedInto(l.Index);
        if (pool >= 0)
        {
            WriteFoldedGradient(e, pool);
            return;
        }
        e.Header("backward");
        w.Open(l.Kind == LayerKind.PReLU ? $"private void {e.M}Backward(int n0, int n1, {Rt}.Kernels.AlignedBuffer grad)" : $"private void {e.M}Backward(int n0, int n1)");
        e.Range("dy", e.Dy, size, true);
        e.Range("dx", e.Dx, size, false);
        switch (l.Kind)
        {
            case LayerKind.ReLU:
                e.Range("y", e.Y, size, true);
                w.Line("// relu'(0) = 0, as PyTorch");
                w.Line($"{Rt}.Kernels.Vec.ReluBackward(y, dy, dx);");
                break;
            case LayerKind.Tanh:
                e.Range("y", e.Y, size, true);
                w.Line($"{Rt}.Kernels.Vec.TanhBackward(y, dy, dx); // dy·(1 − y²)");
                break;
            case LayerKind.Sigmoid:
                e.Range("y", e.Y, size, true);
                w.Line($"{Rt}.Kernels.Vec.SigmoidBackward(y, dy, dx); // dy·y·(1 − y)");
                break;
            case LayerKind.LeakyReLU:
                e.Range("x", e.X, size, true);
                w.Line($"{Rt}.Kernels.Activations.LeakyReluBackward(x, dy, dx, slope: {F(((ScalarParams)l.Params).Value)}, accumulate: false);");
                break;
            case LayerKind.ELU:
                e.Range("x", e.X, size, true);
                e.Range("y", e.Y, size, true);
                w.Line($"{Rt}.Kernels.Activations.EluBackward(x, y, dy, dx, alpha: {F(((ScalarParams)l.Params).Value)}, accumulate: false); // dy for x > 0, dy·(y + α) otherwise");
                break;
            case LayerKind.PReLU:
                e.Range("x", e.X, size, true);
                w.Line($"{RoSpan} slope = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount});");
                w.Line($"{Rt}.Kernels.Activations.PReluBackward(x, dy, slope, dx, grad.AsSpan({l.WeightOffset}, {l.WeightCount}), n1 - n0, {l.InC}, {hw}, accumulate: false);");
                break;
            case LayerKind.Softmax:
                e.Range("y", e.Y, size, true);
                w.Line("// dx = y ⊙ (dy − Σ_c y·dy) at each position");
                w.Line($"{Rt}.Kernels.Activations.SoftmaxBackward(y, dy, dx, n1 - n0, {l.InC}, {hw}, accumulate: false);");
                break;
        }
        w.Close();
        w.Line();
    }

    /// <summary>A ReLU whose backward pass its 2×2 max pool does (<c>CpuPlan.FoldableRelu</c>): no backward method, and
    /// its output gradient computed for <c>LayerGradient</c> when asked.</summary>
    private static void WriteFoldedGradient(CpuLayer e, int pool)
    {
        var l = e.Layer;
        var w = e.W;
        var p = e.Net.Layers[pool];
        string pm = e.MemberOf(pool);
        w.Line($"// {l.Name} backward: done by {p.Name}'s (each winner gets dy where the pooled value, its ReLU output, is positive).");
        w.Line();
        w.Line($"/// <summary>dL/d({l.Name}'s output) {e.OutShape} for LayerGradient. {p.Name}'s backward writes {l.Name}'s input gradient directly,");
        w.Line($"/// so this one is computed here, from {p.Name}'s output gradient and winners, the first time it is asked for after a Backward.</summary>");
        w.Open($"private {RoSpan} {e.M}Gradient()");
        w.Open($"if (!_computedGrad{e.M} && _batch > 0)");
        w.Line($"{Rt}.Kernels.Pool.Max2x2Backward(_batch * {p.InC}, {p.InH}, {p.InW}, {e.GradOf(pool)}.AsSpan(0, _batch * {p.OutSize}), _argmax{pm}.AsSpan(0, _batch * {p.OutSize}), default, {e.Dy}.AsSpan(0, _batch * {l.OutSize}));");
        w.Line($"_computedGrad{e.M} = true;");
        w.Close();
        w.Line($"return {e.Dy}.AsSpan(0, _batch * {l.OutSize});");
        w.Close();
        w.Line();
    }

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    private static (string Kind, float A) GpuKind(ShapedLayer l) => l.Kind switch
    {
        LayerKind.ReLU => ("ReLU", 0f),
        LayerKind.LeakyReLU => ("LeakyReLU", (float)((ScalarParams)l.Params).Value),
        LayerKind.Tanh => ("Tanh", 0f),
        LayerKind.Sigmoid => ("Sigmoid", 0f),
        _ => ("ELU", (float)((ScalarParams)l.Params).Value),
    };

    /// <summary>Whether a producing GEMM can apply this activation in its stores: the pointwise kinds with a device formula
    /// of one value (not softmax, not PReLU's learned slope).</summary>
    public static bool GpuFusable(ShapedLayer l) => l.Kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.Tanh or LayerKind.Sigmoid or LayerKind.ELU;

    /// <summary>The <c>FusedActivation</c> argument a producer passes for <paramref name="l"/>, writing to <paramref name="output"/>.</summary>
    public static string GpuFusedActivation(ShapedLayer l, string output)
    {
        var (kind, a) = GpuKind(l);
        return $"new {GpuLayer.Ns}.FusedActivation({GpuLayer.Ns}.ActivationKind.{kind}, {GpuLayer.F(a)}, {output})";
    }

    /// <summary>Softmax and PReLU read their input map's channels and planes: its struct of constants.</summary>
    private static string GpuMap(GpuLayer g) => g.MapGeometry(g.Layer.InC, g.Layer.InH, g.Layer.InW);

    public override void WriteGpuAllocate(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Softmax) g.WritePrepareMap(GpuMap(g), "Softmax");
        else if (l.Params is PReluParams) g.WritePrepareMap(GpuMap(g), "PRelu");
    }

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        if (g.FusedInto is { } producer) { g.W.Line($"// computed in {producer.Name}'s GEMM stores (from its output, which stays written for the backward)"); return; }
        if (l.Kind == LayerKind.Softmax) { g.W.Line($"Softmax<{GpuMap(g)}>({g.X}, {g.Y}, batch);"); return; }
        if (l.Params is PReluParams pr) { g.W.Line($"PRelu<{GpuMap(g)}>({g.X}, {g.Y}, {g.Weight}, {(pr.PerChannel ? "true" : "false")}, batch);"); return; }
        var (kind, a) = GpuKind(l);
        g.W.Line($"Activation({g.X}, {g.Y}, {GpuLayer.Ns}.ActivationKind.{kind}, {GpuLayer.F(a)}, {GpuLayer.Count(l.OutSize)});");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Softmax) { g.WriteDx(0, $"SoftmaxBackward<{GpuMap(g)}>({g.Y}, {g.Dy}, {g.Dx}, batch);"); return; }
        if (l.Params is PReluParams pr)
        {
            string per = pr.PerChannel ? "true" : "false";
            g.WriteParameterGradient($"PReluBackwardSlope<{GpuMap(g)}>({g.X}, {g.Dy}, {g.DWeight}, {per}, batch);");
            g.WriteDx(0, $"PReluBackwardData<{GpuMap(g)}>({g.X}, {g.Dy}, {g.Weight}, {g.Dx}, {per}, batch);");
            return;
        }
        var (kind, a) = GpuKind(l);
        g.WriteDx(0, $"ActivationBackward({g.X}, {g.Y}, {g.Dy}, {g.Dx}, {GpuLayer.Ns}.ActivationKind.{kind}, {GpuLayer.F(a)}, {GpuLayer.Count(l.OutSize)});");
    }
}
