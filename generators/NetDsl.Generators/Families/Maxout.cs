using System.Collections.Generic;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>Maxout: the maximum of <c>pieces</c> dense pieces per unit, weight [units, pieces, in], bias [units, pieces];
/// flattens its input like Dense. CPU: <c>Kernels.Activations.Maxout*</c> (one Gemm.Nt for every piece).
/// ChannelMaxout: the convolutional form, the maximum over each group of <c>pieces</c> consecutive feature maps at every
/// position, no parameters (the pieces are the preceding convolution's filters). CPU: <c>Kernels.Activations.ChannelMaxout*</c>.</summary>
internal sealed class MaxoutFamily : LayerFamily
{
    public override string Name => "Maxout";
    public override IReadOnlyList<LayerKind> Kinds { get; } = new[] { LayerKind.Maxout, LayerKind.ChannelMaxout };
    public override string Prefix(LayerKind kind) => "maxout";

    public override bool SeesWholeInput(ShapedLayer l) => l.Kind == LayerKind.Maxout;

    public override string Describe(ShapedLayer l) => l.Params is ChannelMaxoutParams c ? $"ChannelMaxout ×{c.Pieces}" : "Maxout";

    public override bool CacheBlockable(ShapedLayer l) => l.Kind == LayerKind.ChannelMaxout;

    public override ShapedLayer? Infer(LayerContext ctx)
    {
        if (ctx.Layer.Kind == LayerKind.ChannelMaxout)
        {
            int k = ctx.Int("pieces", 2, 1, "at least 1");
            if (ctx.Failed) return null;
            if (ctx.Input.C % k != 0)
            {
                ctx.Report(DiagnosticIds.InvalidArgument, "pieces", "pieces", $"a divisor of the input's {LayerContext.S(ctx.Input.C)} channels", LayerContext.S(k));
                return null;
            }
            return ctx.Shaped(ctx.Input.C / k, ctx.Input.H, ctx.Input.W, new ChannelMaxoutParams(k));
        }
        int units = ctx.Int("units", 1, 1, "at least 1");
        int pieces = ctx.Int("pieces", 2, 1, "at least 1");
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        int inSize = (int)ctx.Input.Size;
        return ctx.WithParameters(ctx.Shaped(units, 1, 1, new MaxoutParams(units, pieces)), new[] { units, pieces, inSize }, new[] { units, pieces }, init);
    }

    public override CpuCall BackwardCall(ShapedLayer l) => l.Kind == LayerKind.Maxout ? CpuCall.RowsGradInput : CpuCall.Rows;

    public override void DeclareWorkspace(CpuLayer e)
    {
        e.W.Line($"private readonly int[] _argmax{e.M};  // {e.OutShape} the winning piece of each {(e.Layer.Kind == LayerKind.ChannelMaxout ? "output" : "unit")}");
        if (e.Layer.Params is MaxoutParams p) // dense maxout also keeps its pieces
            e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer _pieces{e.M};  // [N, {p.Units * p.Pieces}] every piece's value, then its gradient");
    }

    public override void AllocateWorkspace(CpuLayer e)
    {
        e.W.Line($"_argmax{e.M} = new int[maxBatch * {e.Layer.OutSize}];");
        if (e.Layer.Params is MaxoutParams p) e.W.Line($"_pieces{e.M} = new(maxBatch * {p.Units * p.Pieces});");
    }

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        if (l.Params is ChannelMaxoutParams cm)
        {
            e.Header("forward");
            e.W.Open($"private void {e.M}Forward(int n0, int n1)");
            e.Range("x", e.X, l.InSize, true);
            e.Range("y", e.Y, l.OutSize, false);
            e.W.Line($"global::System.Span<int> winner = _argmax{e.M}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize});");
            e.W.Line($"// y[g] = max over channels {cm.Pieces}·g … {cm.Pieces}·g + {cm.Pieces - 1} at each position; ties keep the first.");
            e.W.Line($"{Rt}.Kernels.Activations.ChannelMaxoutForward(x, y, winner, n1 - n0, {l.OutC}, {cm.Pieces}, {l.OutH * l.OutW});");
            e.W.Close();
            e.W.Line();
            return;
        }
        var p = (MaxoutParams)l.Params;
        var w = e.W;
        int width = p.Units * p.Pieces;
        e.Header("forward");
        w.Open($"private void {e.M}Forward(int n0, int n1)");
        e.Range("x", e.X, l.InSize, true);
        e.Range("y", e.Y, l.OutSize, false);
        w.Line($"{Span} z = _pieces{e.M}.AsSpan(n0 * {width}, (n1 - n0) * {width}); // [rows, {p.Units}·{p.Pieces}] = x · weightᵀ + bias");
        w.Line($"global::System.Span<int> winner = _argmax{e.M}.AsSpan(n0 * {p.Units}, (n1 - n0) * {p.Units});");
        w.Line($"{Rt}.Kernels.Activations.MaxoutForward(x, _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}), _parameters.AsSpan({l.BiasOffset}, {l.BiasCount}), z, y, winner, n1 - n0, {l.InSize}, {p.Units}, {p.Pieces});");
        w.Close();
        w.Line();
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        if (l.Params is ChannelMaxoutParams cm)
        {
            e.Header("backward");
            e.W.Open($"private void {e.M}Backward(int n0, int n1)");
            e.Range("dy", e.Dy, l.OutSize, true);
            e.Range("dx", e.Dx, l.InSize, false);
            e.W.Line($"global::System.ReadOnlySpan<int> winner = _argmax{e.M}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize});");
            e.W.Line("// Each output's gradient goes to its winning channel; the other pieces get zero.");
            e.W.Line($"{Rt}.Kernels.Activations.ChannelMaxoutBackward(dy, winner, dx, n1 - n0, {l.OutC}, {cm.Pieces}, {l.OutH * l.OutW}, accumulate: false);");
            e.W.Close();
            e.W.Line();
            return;
        }
        var p = (MaxoutParams)l.Params;
        var w = e.W;
        int width = p.Units * p.Pieces;
        e.Header("backward");
        w.Open($"private void {e.M}Backward(int n0, int n1, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        e.Range("x", e.X, l.InSize, true);
        e.Range("dy", e.Dy, l.OutSize, true);
        w.Line($"{Span} dz = _pieces{e.M}.AsSpan(n0 * {width}, (n1 - n0) * {width}); // the pieces' values are no longer needed: reused for their gradient");
        w.Line($"global::System.ReadOnlySpan<int> winner = _argmax{e.M}.AsSpan(n0 * {p.Units}, (n1 - n0) * {p.Units});");
        w.Line($"{Span} dx = inputGradient ? {e.Dx}.AsSpan(n0 * {l.InSize}, (n1 - n0) * {l.InSize}) : default;");
        w.Line($"{Rt}.Kernels.Activations.MaxoutBackward(x, _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}), dy, winner, dz, grad.AsSpan({l.WeightOffset}, {l.WeightCount}), grad.AsSpan({l.BiasOffset}, {l.BiasCount}), dx, n1 - n0, {l.InSize}, {p.Units}, {p.Pieces}, accumulate: false);");
        w.Close();
        w.Line();
    }

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    public override void WriteGpuWorkspace(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.ChannelMaxout)
        {
            g.W.Line($"private readonly global::ILGPU.Runtime.MemoryBuffer1D<int, global::ILGPU.Stride1D.Dense> _winner{g.M}; // [N, {l.OutSize}] the winning piece");
            return;
        }
        var p = (MaxoutParams)l.Params;
        int width = p.Units * p.Pieces;
        g.W.Line($"private readonly global::ILGPU.Runtime.MemoryBuffer1D<float, global::ILGPU.Stride1D.Dense> _z{g.M}, _dz{g.M}; // [N, {width}]");
        g.W.Line($"private readonly global::ILGPU.Runtime.MemoryBuffer1D<int, global::ILGPU.Stride1D.Dense> _winner{g.M}; // [N, {p.Units}] the winning piece");
    }

    /// <summary>z = W·x + b as a 1×1 convolution over a 1×1 plane: [inputs] → [units·pieces].</summary>
    private static string GpuGeometry(GpuLayer g)
    {
        var p = (MaxoutParams)g.Layer.Params;
        return g.ConvGeometry(g.Layer.InSize, 1, 1, p.Units * p.Pieces, 1, 1, 1, 1, 1, 1, 0, 0, 1, 1, 1, "; maxout's z = W·x + b");
    }

    /// <summary>Channel maxout's output map (groups × plane): its struct of constants.</summary>
    private static string GpuMap(GpuLayer g) => g.MapGeometry(g.Layer.OutC, g.Layer.OutH, g.Layer.OutW, ((ChannelMaxoutParams)g.Layer.Params).Pieces);

    public override void WriteGpuAllocate(GpuLayer g)
    {
        if (g.Layer.Kind == LayerKind.ChannelMaxout)
        {
            g.WritePrepareMap(GpuMap(g), "ChannelMaxout");
            g.W.Line($"_winner{g.M} = AllocateIndices((long)maxBatch * {g.Layer.OutSize});");
            return;
        }
        g.WritePrepare("PrepareConvDirect", GpuGeometry(g), !g.Layer.Frozen);
        var p = (MaxoutParams)g.Layer.Params;
        g.W.Line($"_z{g.M} = Allocate((long)maxBatch * {p.Units * p.Pieces});");
        g.W.Line($"_dz{g.M} = Allocate((long)maxBatch * {p.Units * p.Pieces});");
        g.W.Line($"_winner{g.M} = AllocateIndices((long)maxBatch * {p.Units});");
    }

    public override void WriteGpuForward(GpuLayer g)
    {
        if (g.Layer.Params is ChannelMaxoutParams cm)
        {
            g.W.Line($"ChannelMaxoutForward<{GpuMap(g)}>({g.X}, {g.Y}, V(_winner{g.M}), batch); // {cm.Pieces} pieces");
            return;
        }
        var p = (MaxoutParams)g.Layer.Params;
        g.W.Line($"ConvForward<{GpuGeometry(g)}>({g.X}, {g.Weight}, {g.Bias}, true, V(_z{g.M}), batch);");
        g.W.Line($"MaxoutSelect(V(_z{g.M}), {g.Y}, V(_winner{g.M}), {p.Units}, {p.Pieces}, batch);");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Params is ChannelMaxoutParams cm)
        {
            g.WriteDx(0, $"ChannelMaxoutBackward<{GpuMap(g)}>({g.Dy}, V(_winner{g.M}), {g.Dx}, batch); // {cm.Pieces} pieces");
            return;
        }
        var p = (MaxoutParams)l.Params;
        g.W.Line($"MaxoutScatter({g.Dy}, V(_winner{g.M}), V(_dz{g.M}), {p.Units}, {p.Pieces}, batch); // dy to each unit's winning piece");
        g.WriteParameterGradient($"ConvBackwardWeight<{GpuGeometry(g)}>({g.X}, V(_dz{g.M}), {g.DWeight}, batch);");
        g.WriteParameterGradient($"BiasBackward<{GpuLayer.Ns}.ConvOutputMap<{GpuGeometry(g)}>>(V(_dz{g.M}), {g.DBias}, batch);");
        g.WriteDx(0, $"ConvBackwardData<{GpuGeometry(g)}>(V(_dz{g.M}), {g.Weight}, {g.Dx}, batch);");
    }
}
