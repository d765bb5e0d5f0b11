using System.Collections.Generic;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>Dense (fully connected, weight [units, in]; flattens (C, H, W) row-major) and Flatten.
/// CPU: the forward pass is <c>Gemm.Nt</c> (x · weightᵀ), the backward pass two packed GEMMs (dyᵀ · x and dy · weight).</summary>
internal sealed class DenseFamily : LayerFamily
{
    public override string Name => "Dense";
    public override IReadOnlyList<LayerKind> Kinds { get; } = new[] { LayerKind.Dense, LayerKind.Flatten };
    public override string Prefix(LayerKind kind) => kind == LayerKind.Dense ? "dense" : "flatten";

    // A flatten merges every position into one vector: what reads it sees the whole map.
    public override bool SeesWholeInput(ShapedLayer l) => true;

    public override ShapedLayer? Infer(LayerContext ctx)
    {
        var input = ctx.Input;
        if (ctx.Layer.Kind == LayerKind.Flatten) return ctx.Shaped((int)input.Size, 1, 1, NoParams.Instance);
        int units = ctx.Int("units", 1, 1, "at least 1");
        bool bias = ctx.Bool("Bias", true);
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        int inSize = (int)input.Size;
        long wc = (long)units * inSize;
        if (wc > int.MaxValue / 2)
        {
            ctx.Report(DiagnosticIds.InvalidArgument, "units", "small enough that the weight fits in memory", $"{LayerContext.S(units)} × {LayerContext.S(inSize)} = {LayerContext.S(wc)} weights");
            return null;
        }
        return ctx.WithParameters(ctx.Shaped(units, 1, 1, new DenseParams(bias)), new[] { units, inSize }, bias ? new[] { units } : null, init);
    }

    public override CpuCall ForwardCall(ShapedLayer l) => CpuCall.Rows;
    public override CpuCall BackwardCall(ShapedLayer l) => l.Kind == LayerKind.Dense ? CpuCall.Full : CpuCall.Rows;

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        e.Header("forward");
        w.Open($"private void {e.M}Forward(int n0, int n1)");
        if (l.Kind == LayerKind.Flatten)
        {
            e.Range("x", e.X, l.InSize, true);
            e.Range("y", e.Y, l.OutSize, false);
            w.Line("x.CopyTo(y); // (C, H, W) row-major is already the flat order");
        }
        else
        {
            w.Line("int rows = n1 - n0;");
            w.Line($"{RoSpan} x = {e.X}.AsSpan(n0 * {l.InSize}, rows * {l.InSize}); // [rows, {l.InSize}]" + (l.InH * l.InW > 1 ? $", ({l.InC},{l.InH},{l.InW}) flattened row-major" : ""));
            w.Line($"{Span} y = {e.Y}.AsSpan(n0 * {l.OutC}, rows * {l.OutC}); // [rows, {l.OutC}]");
            w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InSize}]");
            w.Line($"// y = x · weightᵀ");
            w.Line($"{Rt}.Kernels.Gemm.Nt(rows, {l.OutC}, {l.InSize}, x, {l.InSize}, weight, {l.InSize}, y, {l.OutC}, accumulate: false);");
            if (l.HasBias)
            {
                w.Line($"{RoSpan} bias = _parameters.AsSpan({l.BiasOffset}, {l.OutC});");
                w.Line($"for (int n = 0; n < rows; n++) {Rt}.Kernels.Vec.Add(y.Slice(n * {l.OutC}, {l.OutC}), bias);");
            }
        }
        w.Close();
        w.Line();
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        e.Header("backward");
        if (l.Kind == LayerKind.Flatten)
        {
            w.Open($"private void {e.M}Backward(int n0, int n1)");
            e.Range("dy", e.Dy, l.OutSize, true);
            e.Range("dx", e.Dx, l.InSize, false);
            w.Line("dy.CopyTo(dx);");
            w.Close();
            w.Line();
            return;
        }
        w.Open($"private void {e.M}Backward(int n0, int n1, int worker, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        w.Line("int rows = n1 - n0;");
        w.Line($"{RoSpan} x = {e.X}.AsSpan(n0 * {l.InSize}, rows * {l.InSize}); // [rows, {l.InSize}]");
        w.Line($"{RoSpan} dy = {e.Dy}.AsSpan(n0 * {l.OutC}, rows * {l.OutC}); // [rows, {l.OutC}]");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InSize}]");
        w.Line($"{Span} packedDy = _packedGradients[worker];");
        w.Line($"// dWeight[{l.OutC}, {l.InSize}] += dyᵀ · x");
        w.Line($"{Rt}.Kernels.PackedGemm.PackA({l.OutC}, rows, dy, 1, {l.OutC}, packedDy);");
        w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, {l.InSize}, rows, packedDy, x, {l.InSize}, grad.AsSpan({l.WeightOffset}, {l.WeightCount}), {l.InSize}, accumulate: true);");
        if (l.HasBias)
        {
            w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
            w.Line($"for (int n = 0; n < rows; n++) {Rt}.Kernels.Vec.Add(dBias, dy.Slice(n * {l.OutC}, {l.OutC}));");
        }
        w.Line($"// dx[rows, {l.InSize}] = dy · weight");
        w.Open("if (inputGradient)");
        w.Line($"{Rt}.Kernels.PackedGemm.PackA(rows, {l.OutC}, dy, {l.OutC}, 1, packedDy);");
        w.Line($"{Rt}.Kernels.PackedGemm.Mul(rows, {l.InSize}, {l.OutC}, packedDy, weight, {l.InSize}, {e.Dx}.AsSpan(n0 * {l.InSize}, rows * {l.InSize}), {l.InSize}, accumulate: false);");
        w.Close();
        w.Close();
        w.Line();
    }

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Flatten) { g.W.Line($"Copy({g.X}, {g.Y}, {GpuLayer.Count(l.OutSize)});"); return; }
        g.W.Line($"DenseForward({g.X}, {g.Weight}, {g.Bias}, {(l.HasBias ? "true" : "false")}, {g.Y}, {l.InSize}, {l.OutC}, batch); // x·Wᵀ on the tiled GEMM");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Flatten) { g.WriteDx(0, $"Copy({g.Dy}, {g.Dx}, {GpuLayer.Count(l.OutSize)});"); return; }
        string dx = l.InputLayer < 0 ? "ComputeInputGradient" : "true";
        g.W.Line($"DenseBackward({g.X}, {g.Weight}, {g.Dy}, {g.DWeight}, {(l.HasBias ? g.DBias : g.DWeight)}, {(l.HasBias ? "true" : "false")}, {g.Dx}, {l.InSize}, {l.OutC}, parameters: {(l.Frozen ? "false" : "true")}, inputGradient: {dx}, batch);");
    }
}
