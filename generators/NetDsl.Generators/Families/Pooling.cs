using System.Collections.Generic;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>
/// Max, min, average, L2-norm and sum pooling (PyTorch's MaxPool2d, −MaxPool2d(−x), AvgPool2d, LPPool2d(2); sum = average ×
/// the window's area, no PyTorch op) with per-axis
/// windows and strides, symmetric padding, ceil mode and count_include_pad; and global average pooling. CPU: 2×2/2 windows
/// go to the vectorized <c>Kernels.Pool</c>, everything else to <c>Kernels.Pooling</c>.
/// </summary>
internal sealed class PoolingFamily : LayerFamily
{
    public override string Name => "Pooling";
    public override IReadOnlyList<LayerKind> Kinds { get; } =
        new[] { LayerKind.MaxPool2D, LayerKind.AvgPool2D, LayerKind.MinPool2D, LayerKind.L2Pool2D, LayerKind.SumPool2D, LayerKind.GlobalAvgPool2D };
    public override string Prefix(LayerKind kind) => "pool";

    public override string Describe(ShapedLayer l)
    {
        if (l.Params is not PoolParams p) return "GlobalAvgPool2D";
        string name = p.Mode switch { PoolMode.Max => "MaxPool", PoolMode.Min => "MinPool2D", PoolMode.Average => "AvgPool", PoolMode.Sum => "SumPool", _ => "L2Pool" };
        string text = $"{name} {p.KernelH}×{p.KernelW}";
        if (p.StrideH != p.KernelH || p.StrideW != p.KernelW) text += $" /{p.StrideH}" + (p.StrideW != p.StrideH ? $"×{p.StrideW}" : "");
        if (p.CeilMode) text += " ceil";
        return p.Mode == PoolMode.Min ? "MinPool2D" : text;
    }

    public override SlidingWindow? Window(ShapedLayer l) =>
        l.Params is PoolParams p ? new SlidingWindow(p.KernelH, p.KernelW, p.StrideH, p.StrideW, 1) : null;

    public override bool SeesWholeInput(ShapedLayer l) => l.Params is not PoolParams;

    // ------------------------------------------------------------------ shape inference

    public override ShapedLayer? Infer(LayerContext ctx)
    {
        if (ctx.Layer.Kind == LayerKind.GlobalAvgPool2D) return ctx.Shaped(ctx.Input.C, 1, 1, NoParams.Instance);
        var (h, w) = (ctx.Input.H, ctx.Input.W);
        var mode = ctx.Layer.Kind switch
        {
            LayerKind.MaxPool2D => PoolMode.Max, LayerKind.MinPool2D => PoolMode.Min, LayerKind.AvgPool2D => PoolMode.Average,
            LayerKind.SumPool2D => PoolMode.Sum, _ => PoolMode.L2,
        };
        int kh, kw;
        string kernelArgH = "size", kernelArgW = "size";
        if (ctx.Has("size")) kh = kw = ctx.Int("size", 1, 1, "at least 1");
        else
        {
            kh = ctx.Int("sizeHeight", 1, 1, "at least 1");
            kw = ctx.Int("sizeWidth", 1, 1, "at least 1");
            kernelArgH = "sizeHeight"; kernelArgW = "sizeWidth";
        }
        // The stride defaults to the window, per axis.
        int stride = ctx.Has("Stride") ? ctx.Int("Stride", 1, 1, "at least 1") : 0;
        int sh = ctx.Has("StrideHeight") ? ctx.Int("StrideHeight", 1, 1, "at least 1") : stride > 0 ? stride : kh;
        int sw = ctx.Has("StrideWidth") ? ctx.Int("StrideWidth", 1, 1, "at least 1") : stride > 0 ? stride : kw;
        int pad = mode == PoolMode.L2 ? 0 : ctx.Int("Padding", 0, 0, "at least 0");
        bool ceil = ctx.Bool("CeilMode", false);
        bool includePad = mode != PoolMode.Average || ctx.Bool("CountIncludePad", true);
        if (ctx.Failed) return null;
        if (pad * 2 > kh || pad * 2 > kw)
        {
            int k = System.Math.Min(kh, kw);
            ctx.Report(DiagnosticIds.PoolPaddingTooLarge, "Padding", LayerContext.S(pad), LayerContext.S(k), LayerContext.S(k / 2));
            return null;
        }
        string hArg = ctx.Has("StrideHeight") ? "StrideHeight" : "Stride", wArg = ctx.Has("StrideWidth") ? "StrideWidth" : "Stride";
        int mark = ctx.Mark;
        int oh = Geometry.OutputSize(ctx, "height", "rows", h, pad, pad, kh, sh, 1, kernelArgH, hArg, ceil);
        int ow = oh < 1 ? 0 : Geometry.OutputSize(ctx, "width", "columns", w, pad, pad, kw, sw, 1, kernelArgW, wArg, ceil);
        if (ctx.Mark > mark && sh == sw && !ctx.Has("StrideHeight") && !ctx.Has("StrideWidth"))
            ctx.AttachFixes(mark, Geometry.PoolFixes(h, w, kh, kw, sh, pad, "Stride"));
        if (oh < 1 || ow < 1) return null;
        return ctx.Shaped(ctx.Input.C, oh, ow, new PoolParams(mode, kh, kw, sh, sw, pad, pad, ceil, includePad));
    }

    // ------------------------------------------------------------------ CPU

    public override bool CacheBlockable(ShapedLayer l) => l.Params is PoolParams;

    /// <summary>A pool whose input ReLU lives in a per-worker scratch (<see cref="ConvStrategy.ReluScratch"/>) reads the worker's.</summary>
    public override CpuCall ForwardCall(ShapedLayer l, CpuPlan plan) => plan.ReluScratchOf(l.Index) >= 0 ? CpuCall.RowsWorker : CpuCall.Rows;

    /// <summary>2×2 windows, stride 2, no padding, output exactly half: whole planes go to the vectorized <c>Kernels.Pool</c>.</summary>
    internal static bool Is2x2(ShapedLayer l, PoolParams p) =>
        p.Mode is PoolMode.Max or PoolMode.Average && p.KernelH == 2 && p.KernelW == 2 && p.StrideH == 2 && p.StrideW == 2 && p.PadH == 0 && p.PadW == 0
        && l.OutH == l.InH / 2 && l.OutW == l.InW / 2;

    private static bool HasWinner(ShapedLayer l) => l.Params is PoolParams { Mode: PoolMode.Max or PoolMode.Min };

    public override void DeclareWorkspace(CpuLayer e)
    {
        if (HasWinner(e.Layer)) e.W.Line($"private readonly int[] _argmax{e.M};  // {e.OutShape} index of each window's winner in its plane");
    }

    public override void AllocateWorkspace(CpuLayer e)
    {
        if (HasWinner(e.Layer)) e.W.Line($"_argmax{e.M} = new int[maxBatch * {e.Layer.OutSize}];");
    }

    /// <summary>The geometry arguments of the <c>Kernels.Pooling</c> calls.</summary>
    private static string Dims(ShapedLayer l, PoolParams p, bool padding = true) =>
        $"{l.InH}, {l.InW}, {l.OutH}, {l.OutW}, {p.KernelH}, {p.KernelW}, {p.StrideH}, {p.StrideW}" + (padding ? $", {p.PadH}, {p.PadW}" : "");

    public override void WriteForward(CpuLayer e)
    {
        WritePoolForward(e);
        int conv = e.Plan.SplitInside(e.Layer.Index);
        if (conv < 0) return;
        if (e.Plan.Convolutions[conv].SplitsRows) WriteForwardRows(e);
        else WriteForwardChannels(e);
    }

    /// <summary>A 2×2 pool for a batch of one sample: channels [c0, c1), each plane as in the whole layer. Called by the
    /// convolution that wrote them, on the same worker, inside its split.</summary>
    private static void WriteForwardChannels(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        int inPlane = l.InH * l.InW, outPlane = l.OutH * l.OutW;
        bool max = ((PoolParams)l.Params).Mode == PoolMode.Max;
        w.Line($"/// <summary>{l.Name} forward for a batch of one sample: channels [c0, c1), those a worker's share of the convolution wrote.</summary>");
        w.Open($"private void {e.M}ForwardChannels(int c0, int c1)");
        string x = $"{e.X}.AsSpan(c0 * {inPlane}, (c1 - c0) * {inPlane})", y = $"{e.Y}.AsSpan(c0 * {outPlane}, (c1 - c0) * {outPlane})";
        if (max) w.Line($"{Rt}.Kernels.Pool.Max2x2(c1 - c0, {l.InH}, {l.InW}, {x}, {y}, _training ? _argmax{e.M}.AsSpan(c0 * {outPlane}, (c1 - c0) * {outPlane}) : default);");
        else w.Line($"{Rt}.Kernels.Pool.Avg2x2(c1 - c0, {l.InH}, {l.InW}, {x}, {y});");
        w.Close();
        w.Line();
    }

    /// <summary>A 2×2 average pool for a batch of one sample: input rows [r0, r1) (r0 even) of every channel, those a
    /// worker's share of a row-split convolution wrote. Called by that convolution, on the same worker, inside its split.</summary>
    private static void WriteForwardRows(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        int inPlane = l.InH * l.InW, outPlane = l.OutH * l.OutW;
        w.Line($"/// <summary>{l.Name} forward for a batch of one sample: input rows [r0, r1) of every channel, those a worker's share of the convolution wrote.</summary>");
        w.Open($"private void {e.M}ForwardRows(int r0, int r1)");
        w.Line($"int p0 = r0 / 2, p1 = global::System.Math.Min({l.OutH}, r1 / 2);");
        w.Line("if (p0 >= p1) return;");
        w.Line($"for (int c = 0; c < {l.InC}; c++) {Rt}.Kernels.Pool.Avg2x2(1, 2 * (p1 - p0), {l.InW}, {e.X}.AsSpan(c * {inPlane} + 2 * p0 * {l.InW}, 2 * (p1 - p0) * {l.InW}), {e.Y}.AsSpan(c * {outPlane} + p0 * {l.OutW}, (p1 - p0) * {l.OutW}));");
        w.Close();
        w.Line();
    }

    private static void WritePoolForward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        string m = e.M;
        e.Header("forward");
        int scratchConv = e.Plan.ReluScratchOf(l.Index);
        if (scratchConv >= 0)
        {
            // Its input ReLU's output lives in the worker's scratch for this block (ConvStrategy.ReluScratch).
            w.Open($"private void {m}Forward(int n0, int n1, int worker)");
            w.Line($"{RoSpan} x = _keepOutputs || _batch == 1 ? {e.X}.AsSpan(n0 * {l.InSize}, (n1 - n0) * {l.InSize}) : _reluScratch{e.MemberOf(scratchConv)}[worker].AsSpan(0, (n1 - n0) * {l.InSize});");
        }
        else
        {
            w.Open($"private void {m}Forward(int n0, int n1)");
            e.Range("x", e.X, l.InSize, true);
        }
        e.Range("y", e.Y, l.OutSize, false);
        if (l.Params is not PoolParams p)
        {
            w.Line($"{Rt}.Kernels.Pooling.GlobalAvgForward(x, y, n1 - n0, {l.InC}, {l.InH * l.InW}); // mean of each {l.InH}×{l.InW} plane");
            w.Close();
            w.Line();
            return;
        }
        string argmax = $"_argmax{m}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize})";
        e.DoneInsideSplit();
        int fusedInto = e.Plan.FusedPoolOf(l.Index);
        if (fusedInto >= 0 && e.Plan.Convolutions[fusedInto].Winograd)
            w.Line($"if (!_keepOutputs) return; // written by {e.Net.Layers[fusedInto].Name}'s output transform, with the winners (ConvStrategy.FusedPool)");
        else if (fusedInto >= 0)
            w.Line($"if (!_keepOutputs && {Rt}.Kernels.DirectConv.CanPool(in Geometry{e.MemberOf(fusedInto)}, {e.Net.Layers[fusedInto].OutC})) return; // written by {e.Net.Layers[fusedInto].Name}, with the winners (ConvStrategy.FusedPool)");
        if (Is2x2(l, p))
        {
            if (p.Mode == PoolMode.Max)
            {
                w.Line("// 2×2, stride 2: ties keep the first maximum in row-major order (PyTorch's strict >); NaN propagates.");
                w.Line("// Inference skips the winners' indices; a Backward after it finds them again (see the backward pass).");
                w.Line($"{Rt}.Kernels.Pool.Max2x2((n1 - n0) * {l.InC}, {l.InH}, {l.InW}, x, y, _training ? {argmax} : default);");
            }
            else
            {
                w.Line("// 2×2, stride 2: ((a + b) + c + d) / 4.");
                w.Line($"{Rt}.Kernels.Pool.Avg2x2((n1 - n0) * {l.InC}, {l.InH}, {l.InW}, x, y);");
            }
        }
        else
        {
            switch (p.Mode)
            {
                case PoolMode.Max:
                    w.Line("// Padding is −∞; ties keep the first maximum in row-major order (PyTorch's strict >); NaN wins.");
                    w.Line($"{Rt}.Kernels.Pooling.MaxForward(x, y, {argmax}, n1 - n0, {l.InC}, {Dims(l, p)});");
                    break;
                case PoolMode.Min:
                    w.Line("// −maxpool(−x): padding is +∞; ties keep the first minimum in row-major order.");
                    w.Line($"{Rt}.Kernels.Pooling.MinForward(x, y, {argmax}, n1 - n0, {l.InC}, {Dims(l, p)});");
                    break;
                case PoolMode.Average:
                    w.Line(p.CountIncludePad
                        ? "// Zero padding counts in the divisor (count_include_pad), the overhang past the padded edge does not."
                        : "// Only real input elements count in the divisor (count_include_pad = false).");
                    w.Line($"{Rt}.Kernels.Pooling.AvgForward(x, y, n1 - n0, {l.InC}, {Dims(l, p)}, countIncludePad: {(p.CountIncludePad ? "true" : "false")});");
                    break;
                case PoolMode.Sum:
                    w.Line("// y = Σ x over each window (average × area); zero padding and the ceil-mode overhang add nothing.");
                    w.Line($"{Rt}.Kernels.Pooling.SumForward(x, y, n1 - n0, {l.InC}, {Dims(l, p)});");
                    break;
                default:
                    w.Line("// y = sqrt(Σ x²) over each window: LPPool2d(norm_type = 2), no padding.");
                    w.Line($"{Rt}.Kernels.Pooling.L2Forward(x, y, n1 - n0, {l.InC}, {Dims(l, p, padding: false)});");
                    break;
            }
        }
        w.Close();
        w.Line();
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        string m = e.M;
        e.Header("backward");
        w.Open($"private void {m}Backward(int n0, int n1)");
        e.Range("dy", e.Dy, l.OutSize, true);
        int relu = e.Plan.FoldedRelus[l.Index];
        // With the ReLU before it folded in, the pool writes that ReLU's input gradient (see CpuPlan.FoldableRelu).
        e.Range("dx", relu >= 0 ? e.GradientTargetOf(relu, 0) : e.Dx, l.InSize, false);
        if (l.Params is not PoolParams p)
        {
            w.Line($"{Rt}.Kernels.Pooling.GlobalAvgBackward(dy, dx, n1 - n0, {l.InC}, {l.InH * l.InW}, accumulate: false); // dy / {l.InH * l.InW} to every element");
            w.Close();
            w.Line();
            return;
        }
        string argmax = $"_argmax{m}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize})";
        switch (p.Mode)
        {
            case PoolMode.Max or PoolMode.Min:
                if (p.Mode == PoolMode.Max && Is2x2(l, p))
                {
                    w.Line("// An inference-mode forward kept no winners: find them (y is rewritten with the same values).");
                    w.Line($"if (!_training) {Rt}.Kernels.Pool.Max2x2((n1 - n0) * {l.InC}, {l.InH}, {l.InW}, {e.X}.AsSpan(n0 * {l.InSize}, (n1 - n0) * {l.InSize}), {e.Y}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize}), {argmax});");
                }
                if (p.Mode == PoolMode.Max && Is2x2(l, p))
                {
                    if (relu >= 0)
                    {
                        w.Line($"// Each output's gradient goes to its window's winner where the pooled value (the winner's {e.Net.Layers[relu].Name} output) is");
                        w.Line($"// positive: {e.Net.Layers[relu].Name}'s backward too, into its input gradient. Every other input gets zero.");
                    }
                    else w.Line("// Each output's gradient goes to its window's winner; inputs no window picked get zero.");
                    w.Line($"{Rt}.Kernels.Pool.Max2x2Backward((n1 - n0) * {l.InC}, {l.InH}, {l.InW}, dy, {argmax}, {(relu >= 0 ? $"{e.Y}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize})" : "default")}, dx);");
                    break;
                }
                w.Line("// Each output's gradient goes to its window's winner; inputs no window picked get zero.");
                w.Line($"{Rt}.Kernels.Pooling.MaxBackward(dy, {argmax}, dx, n1 - n0, {l.InC}, {l.InH}, {l.InW}, {l.OutH}, {l.OutW}, accumulate: false);");
                break;
            case PoolMode.Average when Is2x2(l, p):
                w.Line($"{Rt}.Kernels.Pool.Avg2x2Backward((n1 - n0) * {l.InC}, {l.InH}, {l.InW}, dy, dx);");
                break;
            case PoolMode.Sum:
                w.Line("// Every input of a window gets that window's dy.");
                w.Line($"{Rt}.Kernels.Pooling.SumBackward(dy, dx, n1 - n0, {l.InC}, {Dims(l, p)}, accumulate: false);");
                break;
            case PoolMode.Average:
                w.Line($"{Rt}.Kernels.Pooling.AvgBackward(dy, dx, n1 - n0, {l.InC}, {Dims(l, p)}, countIncludePad: {(p.CountIncludePad ? "true" : "false")}, accumulate: false);");
                break;
            default:
                w.Line("// dx = dy · x / y over each window (0 where y = 0).");
                e.Range("x", e.X, l.InSize, true);
                e.Range("y", e.Y, l.OutSize, true);
                w.Line($"{Rt}.Kernels.Pooling.L2Backward(x, y, dy, dx, n1 - n0, {l.InC}, {Dims(l, p, padding: false)}, accumulate: false);");
                break;
        }
        w.Close();
        w.Line();
    }

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    public override void WriteGpuWorkspace(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Params is not PoolParams) return;
        g.W.Line($"private readonly global::ILGPU.Runtime.MemoryBuffer1D<int, global::ILGPU.Stride1D.Dense> _argmax{g.M}; // [N, {l.OutSize}] each window's winner (max and min)");
    }

    private static string GpuGeometry(GpuLayer g)
    {
        var l = g.Layer;
        var p = (PoolParams)l.Params;
        int mode = p.Mode switch { PoolMode.Max => 0, PoolMode.Min => 1, PoolMode.Average => 2, PoolMode.L2 => 3, _ => 4 };
        return g.PoolGeometry(l.InC, l.InH, l.InW, l.OutH, l.OutW, p.KernelH, p.KernelW, p.StrideH, p.StrideW, p.PadH, p.PadW, mode, p.CountIncludePad);
    }

    /// <summary>Global average pooling's input map: its struct of constants.</summary>
    private static string GpuMap(GpuLayer g) => g.MapGeometry(g.Layer.InC, g.Layer.InH, g.Layer.InW);

    public override void WriteGpuAllocate(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Params is not PoolParams p)
        {
            g.WritePrepareMap(GpuMap(g), "GlobalAverage");
            return;
        }
        g.WritePrepare("PreparePool", GpuGeometry(g));
        g.W.Line($"_argmax{g.M} = AllocateIndices((long)maxBatch * {(p.Mode is PoolMode.Max or PoolMode.Min ? l.OutSize : 1)});");
    }

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Params is not PoolParams) { g.W.Line($"GlobalAvgForward<{GpuMap(g)}>({g.X}, {g.Y}, batch);"); return; }
        g.W.Line($"PoolForward<{GpuGeometry(g)}>({g.X}, {g.Y}, V(_argmax{g.M}), batch);");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Params is not PoolParams) { g.WriteDx(0, $"GlobalAvgBackward<{GpuMap(g)}>({g.Dy}, {g.Dx}, batch);"); return; }
        g.WriteDx(0, $"PoolBackward<{GpuGeometry(g)}>({g.X}, {g.Y}, {g.Dy}, V(_argmax{g.M}), {g.Dx}, batch);");
    }
}
