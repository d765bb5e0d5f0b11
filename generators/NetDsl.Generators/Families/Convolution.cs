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
/// Conv2D (cross-correlation, weight [filters, inC/groups, kH, kW]) and ConvTranspose2D (its adjoint, weight
/// [inC, filters, k, k]). CPU: im2col + a packed GEMM (PackedGemm), several samples per GEMM for small output planes,
/// 1×1 convolutions without im2col, grouped convolutions as one GEMM per group, transposed convolutions as GEMM + fold.
/// </summary>
internal sealed class ConvolutionFamily : LayerFamily
{
    public override string Name => "Convolution";
    public override IReadOnlyList<LayerKind> Kinds { get; } = new[] { LayerKind.Conv2D, LayerKind.ConvTranspose2D };
    public override string Prefix(LayerKind kind) => kind == LayerKind.Conv2D ? "conv" : "deconv";

    public override string Describe(ShapedLayer l)
    {
        var c = (ConvParams)l.Params;
        if (l.Kind == LayerKind.ConvTranspose2D) return "ConvTranspose2D";
        return $"Conv2D {c.KernelH}×{c.KernelW}" + (c.StrideH != 1 || c.StrideW != 1 ? $" /{c.StrideH}" : "") + (c.Dilation != 1 ? $" d{c.Dilation}" : "");
    }

    public override SlidingWindow? Window(ShapedLayer l)
    {
        var c = (ConvParams)l.Params;
        return new SlidingWindow(c.KernelH, c.KernelW, c.StrideH, c.StrideW, c.Dilation, l.Kind == LayerKind.ConvTranspose2D);
    }

    public override (int FanIn, int FanOut) Fans(ShapedLayer l)
    {
        var c = (ConvParams)l.Params;
        return l.Kind == LayerKind.Conv2D
            ? (l.InC / c.Groups * c.KernelH * c.KernelW, l.OutC / c.Groups * c.KernelH * c.KernelW)
            : (l.OutC * c.KernelH * c.KernelW, l.InC * c.KernelH * c.KernelW);
    }

    // ------------------------------------------------------------------ shape inference

    public override ShapedLayer? Infer(LayerContext ctx) => ctx.Layer.Kind == LayerKind.Conv2D ? Conv(ctx) : ConvTranspose(ctx);

    private static ShapedLayer? Conv(LayerContext ctx)
    {
        var (c, h, w) = (ctx.Input.C, ctx.Input.H, ctx.Input.W);
        int filters = ctx.Int("filters", 1, 1, "at least 1");
        int kh, kw;
        if (ctx.Has("kernel"))
            kh = kw = ctx.Int("kernel", 1, 1, "at least 1");
        else
        {
            kh = ctx.Int("kernelHeight", 1, 1, "at least 1");
            kw = ctx.Int("kernelWidth", 1, 1, "at least 1");
        }
        int stride = ctx.Int("Stride", 1, 1, "at least 1");
        int sh = !ctx.Has("StrideHeight") ? stride : ctx.Int("StrideHeight", 1, 1, "at least 1");
        int sw = !ctx.Has("StrideWidth") ? stride : ctx.Int("StrideWidth", 1, 1, "at least 1");
        int pad = ctx.Int("Padding", 0, 0, "at least 0");
        int pt = !ctx.Has("PadTop") ? pad : ctx.Int("PadTop", 0, 0, "at least 0");
        int pb = !ctx.Has("PadBottom") ? pad : ctx.Int("PadBottom", 0, 0, "at least 0");
        int pl = !ctx.Has("PadLeft") ? pad : ctx.Int("PadLeft", 0, 0, "at least 0");
        int pr = !ctx.Has("PadRight") ? pad : ctx.Int("PadRight", 0, 0, "at least 0");
        int dil = ctx.Int("Dilation", 1, 1, "at least 1");
        int groups = ctx.Int("Groups", 1, 1, "at least 1");
        bool bias = ctx.Bool("Bias", true);
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        if (c % groups != 0 || filters % groups != 0)
        {
            ctx.Report(DiagnosticIds.InvalidArgument, "Groups", "Groups", $"a divisor of both the input channels {LayerContext.S(c)} and the filters {LayerContext.S(filters)}", LayerContext.S(groups));
            return null;
        }

        string hArg = ctx.Has("StrideHeight") ? "StrideHeight" : "Stride";
        string wArg = ctx.Has("StrideWidth") ? "StrideWidth" : "Stride";
        int mark = ctx.Mark;
        int oh = Geometry.OutputSize(ctx, "height", "rows", h, pt, pb, kh, sh, dil, kernelArg: ctx.Has("kernel") ? "kernel" : "kernelHeight", strideArg: hArg);
        // one NDSL0201 per layer: a square kernel would report the same thing twice
        int ow = oh < 1 ? 0 : Geometry.OutputSize(ctx, "width", "columns", w, pl, pr, kw, sw, dil, kernelArg: ctx.Has("kernel") ? "kernel" : "kernelWidth", strideArg: wArg);
        if (ctx.Mark > mark) ctx.AttachFixes(mark, Geometry.ConvFixes(ctx, h, w, kh, kw, sh, sw, pt, pb, pl, pr, dil, hArg, wArg));
        if (oh < 1 || ow < 1) return null;

        var l = ctx.Shaped(filters, oh, ow, new ConvParams(kh, kw, sh, sw, pt, pb, pl, pr, dil, groups, 0, bias));
        return ctx.WithParameters(l, new[] { filters, c / groups, kh, kw }, bias ? new[] { filters } : null, init);
    }

    private static ShapedLayer? ConvTranspose(LayerContext ctx)
    {
        var (c, h, w) = (ctx.Input.C, ctx.Input.H, ctx.Input.W);
        int filters = ctx.Int("filters", 1, 1, "at least 1");
        int k = ctx.Int("kernel", 1, 1, "at least 1");
        int stride = ctx.Int("Stride", 1, 1, "at least 1");
        int pad = ctx.Int("Padding", 0, 0, "at least 0");
        int outPad = ctx.Int("OutputPadding", 0, 0, "at least 0");
        int dil = ctx.Int("Dilation", 1, 1, "at least 1");
        bool bias = ctx.Bool("Bias", true);
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        string S(long v) => LayerContext.S(v);
        if (outPad >= stride && outPad >= dil)
        {
            ctx.Report(DiagnosticIds.InvalidArgument, "OutputPadding", "OutputPadding", $"smaller than the stride {S(stride)} or the dilation {S(dil)}", S(outPad));
            return null;
        }
        long oh = (long)(h - 1) * stride - 2L * pad + (long)dil * (k - 1) + outPad + 1;
        long ow = (long)(w - 1) * stride - 2L * pad + (long)dil * (k - 1) + outPad + 1;
        if (oh < 1 || ow < 1)
        {
            long o = oh < 1 ? oh : ow; int i = oh < 1 ? h : w;
            ctx.Report(DiagnosticIds.OutputTooSmall, "Padding", oh < 1 ? "height" : "width",
                $"({S(i)} − 1)·{S(stride)} − 2·{S(pad)} + {S(dil)}·({S(k)} − 1) + {S(outPad)} + 1 = {S(o)}", $"is {S(i)}, too small for padding {S(pad)}");
            return null;
        }
        if (oh > ShapeInference.MaxElements || ow > ShapeInference.MaxElements)
        {
            ctx.Report(DiagnosticIds.TooLarge, null, $"its output {S(filters)}×{S(oh)}×{S(ow)} is too large");
            return null;
        }
        var l = ctx.Shaped(filters, (int)oh, (int)ow, new ConvParams(k, k, stride, stride, pad, pad, pad, pad, dil, 1, outPad, bias));
        return ctx.WithParameters(l, new[] { c, filters, k, k }, bias ? new[] { filters } : null, init);
    }

    // ------------------------------------------------------------------ CPU

    public override CpuCall ForwardCall(ShapedLayer l, CpuPlan plan) => CpuCall.RowsWorker;
    public override CpuCall BackwardCall(ShapedLayer l) => CpuCall.Full;
    public override bool CacheBlockable(ShapedLayer l) => l.Kind == LayerKind.Conv2D;

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        var c = (ConvParams)l.Params;
        var w = e.W;
        string m = e.M, x = e.X, y = e.Y;
        if (l.Kind == LayerKind.ConvTranspose2D) { TransposeForward(e, l, c, w, m, x, y); return; }
        if (c.Groups > 1) { GroupedForward(e, l, c, w, m, x, y); return; }
        var strategy = e.Plan.Convolutions[l.Index];
        int k = l.InC * c.KernelH * c.KernelW, p = l.OutH * l.OutW;
        WriteGeometry(w, m, c, l.InC, l.InH, l.InW, l.OutH, l.OutW);
        if (strategy.Winograd) { WinogradForward(e, l, c, w, m, x, y, strategy); return; }
        if (strategy.Direct) { DirectForward(e, l, c, w, m, x, y, strategy); return; }
        if (strategy.ChannelLanes) { ChannelLanesForward(e, l, c, w, m, x, y, strategy); return; }
        w.Line();
        e.Header("forward");
        w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        if (strategy.SplitOneSample)
        {
            e.SplitOneSample("whole panels of this sample's output rows", "ForwardRows");
        }
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InC}, {c.KernelH}, {c.KernelW}] = [{l.OutC}, {k}]");
        if (l.HasBias) w.Line($"{RoSpan} bias = _parameters.AsSpan({l.BiasOffset}, {l.OutC});");
        if (!c.IsPointwise) w.Line($"{Span} col = _columns[worker].AsSpan(0, {k * p}); // [{k}, {p}]");
        w.Line($"{Span} packedWeight = _packedWeights[worker];");
        w.Line($"{Rt}.Kernels.PackedGemm.PackA({l.OutC}, {k}, weight, {k}, 1, packedWeight); // once per call, in panels of {Rt}.Kernels.PackedGemm.MR rows");
        int s = strategy.SamplesPerGemm;
        if (s > 1)
        {
            string bias1 = l.HasBias ? ", bias" : "";
            w.Line($"// {p} outputs per sample fill the GEMM's 32-column strips poorly: up to {s} samples' column matrices side by side.");
            w.Line($"{Span} wide = _columns[worker].AsSpan(0, {k * p * s}); // [{k}, samples · {p}]");
            w.Line($"{Span} wideY = _columnsGradient[worker].AsSpan(0, {l.OutC * p * s}); // [{l.OutC}, samples · {p}]");
            w.Open($"for (int n = n0; n < n1; n += {s})");
            w.Line($"int samples = global::System.Math.Min({s}, n1 - n), ld = samples * {p};");
            w.Line($"for (int j = 0; j < samples; j++) {Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, {x}.AsSpan((n + j) * {l.InSize}, {l.InSize}), wide.Slice(j * {p}), ld);");
            w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, samples * {l.OutSize});");
            w.Line($"// y[{l.OutC}, ld] = weight[{l.OutC}, {k}] · wide[{k}, ld]{(l.HasBias ? " + bias" : "")}, then split per sample");
            w.Line($"if (samples == 1) {Rt}.Kernels.PackedGemm.Mul({l.OutC}, {p}, {k}, packedWeight, wide, {p}, y, {p}, accumulate: false{bias1});");
            w.Open("else");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, ld, {k}, packedWeight, wide, ld, wideY, ld, accumulate: false{bias1});");
            w.Line($"{Rt}.Kernels.Im2Col.SplitSamples({l.OutC}, {p}, samples, wideY, y);");
            w.Close();
            w.Close();
            w.Close();
            w.Line();
            if (strategy.SplitOneSample) WriteForwardRows(e, l, c, w, m, x, y, k, p);
            return;
        }
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        string bias = l.HasBias ? ", bias" : "";
        if (c.IsPointwise)
        {
            w.Line("// 1×1 kernel, stride 1, no padding: the input already is the column matrix.");
            w.Line($"// y[{l.OutC}, {p}] = weight[{l.OutC}, {k}] · x[{k}, {p}]{(l.HasBias ? " + bias" : "")}");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, {p}, {k}, packedWeight, x, {p}, y, {p}, accumulate: false{bias});");
        }
        else
        {
            w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, x, col);");
            w.Line($"// y[{l.OutC}, {p}] = weight[{l.OutC}, {k}] · col[{k}, {p}]{(l.HasBias ? " + bias" : "")}");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, {p}, {k}, packedWeight, col, {p}, y, {p}, accumulate: false{bias});");
        }
        w.Close();
        w.Close();
        w.Line();
        if (strategy.SplitOneSample) WriteForwardRows(e, l, c, w, m, x, y, k, p);
    }

    /// <summary>Batch 1 on several workers: worker w computes its share of the output rows, in whole panels of the GEMM's
    /// MR rows. Each element is the same sum in the same order as in the whole-layer GEMM, so the output has the same bits
    /// for any worker count.</summary>
    private static void WriteForwardRows(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string y, int k, int p)
    {
        w.Line($"/// <summary>{l.Name} forward for a batch of one sample: this worker's panels of output rows (unfolding the sample itself).</summary>");
        w.Open($"private void {m}ForwardRows(int worker)");
        w.Line($"int panels = ({l.OutC} + {Rt}.Kernels.PackedGemm.MR - 1) / {Rt}.Kernels.PackedGemm.MR;");
        w.Line($"var (q0, q1) = {Rt}.Kernels.WorkerPool.Share(panels, worker, _workers.Workers);");
        w.Line($"int r0 = q0 * {Rt}.Kernels.PackedGemm.MR, r1 = global::System.Math.Min({l.OutC}, q1 * {Rt}.Kernels.PackedGemm.MR);");
        w.Line("if (r0 >= r1) return;");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset} + r0 * {k}, (r1 - r0) * {k}); // rows [r0, r1) of [{l.OutC}, {k}]");
        w.Line($"{Span} packedWeight = _packedWeights[worker];");
        w.Line($"{Rt}.Kernels.PackedGemm.PackA(r1 - r0, {k}, weight, {k}, 1, packedWeight);");
        string bias = l.HasBias ? $", _parameters.AsSpan({l.BiasOffset} + r0, r1 - r0)" : "";
        w.Line($"{Span} y = {y}.AsSpan(r0 * {p}, (r1 - r0) * {p}); // rows [r0, r1) of [{l.OutC}, {p}]");
        if (c.IsPointwise)
            w.Line($"{Rt}.Kernels.PackedGemm.Mul(r1 - r0, {p}, {k}, packedWeight, {x}.AsSpan(0, {l.InSize}), {p}, y, {p}, accumulate: false{bias});");
        else
        {
            w.Line($"{Span} col = _columns[worker].AsSpan(0, {k * p}); // [{k}, {p}]: each worker unfolds the sample (cheaper than a second wait)");
            w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, {x}.AsSpan(0, {l.InSize}), col);");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul(r1 - r0, {p}, {k}, packedWeight, col, {p}, y, {p}, accumulate: false{bias});");
        }
        WriteSplitChain(e, w);
        w.Close();
        w.Line();
    }

    public override void DeclareWorkspace(CpuLayer e)
    {
        var strategy = e.Plan.Convolutions[e.Layer.Index];
        if (strategy.SplitOneSample)
            e.W.Line($"private readonly global::System.Action<int> _forwardRows{e.M}; // {e.M}ForwardRows, cached: a call allocates nothing");
        if (strategy.Winograd)
            e.W.Line($"private readonly {Rt}.Kernels.WinogradWorkspace[] _winograd{e.M}, _winogradBack{e.M}; // per worker: the forward pass's and the input gradient's transforms");
        if (strategy.ChannelLanes)
            e.W.Line($"private readonly {Rt}.Kernels.ChannelLaneWeights[] _lanes{e.M}; // per worker: the weight packed for ChannelLaneConv");
        if (strategy.Winograd5)
            e.W.Line($"private readonly {Rt}.Kernels.Winograd5Workspace[] _winograd5{e.M}; // per worker: F(2×2, 5×5)'s transforms and weight gradient sum");
        if (strategy.ReluScratch > 0)
            e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer[] _reluScratch{e.M}; // per worker: {e.Net.NameOf(strategy.FusedRelu)}'s output for one cache block, until its pool has read it");
    }

    public override void WriteBackwardSliceEnd(CpuLayer e)
    {
        var l = e.Layer;
        if (e.Plan.Convolutions[l.Index].Winograd)
            e.W.Line($"{Rt}.Kernels.Winograd.AddWeightGradient(_winograd{e.M}[worker], grad.AsSpan({l.WeightOffset}, {l.WeightCount})); // {l.Name}: Gᵀ dU G of the slice's samples");
        if (e.Plan.Convolutions[l.Index].Winograd5)
            e.W.Line($"{Rt}.Kernels.Winograd.AddWeightGradient5(_winograd5{e.M}[worker], grad.AsSpan({l.WeightOffset}, {l.WeightCount})); // {l.Name}: Gᵀ dU G of the slice's samples");
    }

    public override void AllocatePerWorker(CpuLayer e, string count)
    {
        var l = e.Layer;
        var strategy = e.Plan.Convolutions[l.Index];
        if (strategy.ReluScratch > 0)
        {
            e.W.Line($"_reluScratch{e.M} = new {Rt}.Kernels.AlignedBuffer[{count}];");
            e.W.Line($"for (int w = 0; w < {count}; w++) _reluScratch{e.M}[w] = new({strategy.ReluScratch * l.OutSize});");
        }
        if (strategy.ChannelLanes)
        {
            e.W.Line($"_lanes{e.M} = new {Rt}.Kernels.ChannelLaneWeights[{count}];");
            e.W.Line($"for (int w = 0; w < {count}; w++) _lanes{e.M}[w] = new(in Geometry{e.M}, {l.OutC});");
        }
        if (strategy.Winograd5)
        {
            e.W.Line($"_winograd5{e.M} = new {Rt}.Kernels.Winograd5Workspace[{count}];");
            e.W.Line($"for (int w = 0; w < {count}; w++) _winograd5{e.M}[w] = new(in Geometry{e.M}, {l.OutC});");
        }
        if (!strategy.Winograd) return;
        e.W.Line($"_winograd{e.M} = new {Rt}.Kernels.WinogradWorkspace[{count}];");
        e.W.Line($"_winogradBack{e.M} = new {Rt}.Kernels.WinogradWorkspace[{count}];");
        e.W.Open($"for (int w = 0; w < {count}; w++)");
        e.W.Line($"_winograd{e.M}[w] = new(in Geometry{e.M}, {l.OutC}, {strategy.WinogradSamples}{(strategy.WinogradTile == 4 ? ", outputTile: 4" : "")});");
        e.W.Line($"_winogradBack{e.M}[w] = new(in GeometryBack{e.M}, {l.InC}, {strategy.WinogradSamples}{(strategy.WinogradBackTile == 4 ? ", outputTile: 4" : "")});");
        e.W.Close();
    }

    public override void AllocateWorkspace(CpuLayer e)
    {
        if (e.Plan.Convolutions[e.Layer.Index].SplitOneSample) e.W.Line($"_forwardRows{e.M} = {e.M}ForwardRows;");
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        var c = (ConvParams)l.Params;
        var w = e.W;
        string m = e.M, x = e.X, dx = e.Dx, dy = e.Dy;
        if (l.Kind == LayerKind.ConvTranspose2D) { TransposeBackward(e, l, c, w, m, x, dx, dy); return; }
        if (c.Groups > 1) { GroupedBackward(e, l, c, w, m, x, dx, dy); return; }
        var strategy = e.Plan.Convolutions[l.Index];
        if (strategy.Winograd) { WinogradBackward(e, l, w, m, x, dx, dy, strategy); return; }
        if (strategy.Winograd5) Winograd5Backward(e, l, w, m, x, dx, dy, strategy);
        int k = l.InC * c.KernelH * c.KernelW, p = l.OutH * l.OutW;
        e.Header("backward");
        w.Open($"private void {m}Backward(int n0, int n1, int worker, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        if (strategy.Winograd5)
        {
            w.Line("// Winograd F(2×2, 5×5) where this machine runs its 256-bit vectors in hardware (above); the lane kernel otherwise.");
            w.Line($"if ({Rt}.Kernels.Winograd.Accelerated5) {{ {m}BackwardWinograd5(n0, n1, worker, grad, inputGradient); return; }}");
        }
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {k}]");
        w.Line($"{Span} dWeight = grad.AsSpan({l.WeightOffset}, {l.WeightCount});");
        if (l.HasBias) w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
        int s = strategy.SamplesPerGemm;
        bool dots = strategy.DotWeightGradient;
        if (!c.IsPointwise && !(s > 1 && dots))
        {
            w.Line($"{Span} col = _columns[worker].AsSpan(0, {k * p}); // [{k}, {p}]");
            // Batched samples use _columnsGradient directly (stacked colᵀ, then dColWide); one sample at a time needs dCol.
            if (s == 1) w.Line($"{Span} dCol = _columnsGradient[worker].AsSpan(0, {k * p}); // [{k}, {p}]" + (dots ? "" : $"; first colᵀ [{p}, {k}]"));
        }
        w.Line($"{Span} packedWeightT = _packedWeights[worker];");
        if (!dots) w.Line($"{Span} packedDy = _packedGradients[worker];");
        w.Line($"if (inputGradient) {Rt}.Kernels.PackedGemm.PackA({k}, {l.OutC}, weight, 1, {k}, packedWeightT); // weightᵀ [{k}, {l.OutC}], once per call");
        if (s > 1)
        {
            // dy side by side [OutC, ld] in one column buffer, dCol [k, ld] in the other, whichever the weight gradient left free.
            string dyBuffer = dots ? "_columnsGradient" : "_columns", dColBuffer = dots ? "_columns" : "_columnsGradient";
            if (dots && strategy.ChannelLanes)
            {
                w.Line($"// Up to {s} samples at a time: their dy side by side [{l.OutC}, samples · {p}] for dx as in the forward pass; dWeight by the");
                w.Line("// lane kernel (or, without FMA, as dot products along the samples' column matrices side by side).");
            }
            else if (dots)
            {
                w.Line($"// Up to {s} samples at a time, their dy side by side [{l.OutC}, samples · {p}] and their column matrices [{k}, samples · {p}]:");
                w.Line($"// dWeight[{l.OutC}, {k}] is small, so dot products along all their columns (nothing transposed; one sample's {p} would be");
                w.Line("// too short to repay each dot product's final sum), and dx as in the forward pass.");
            }
            else w.Line($"// As in the forward pass, up to {s} samples per GEMM: their colᵀ stacked [samples · {p}, {k}], their dy side by side [{l.OutC}, samples · {p}].");
            w.Open($"for (int n = n0; n < n1; n += {s})");
            w.Line($"int samples = global::System.Math.Min({s}, n1 - n), ld = samples * {p};");
            w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, samples * {l.OutSize});");
            if (dots)
            {
                w.Line($"{Span} dyWide = {dyBuffer}[worker].AsSpan(0, {l.OutC} * ld); // [{l.OutC}, ld]");
                w.Line($"{Rt}.Kernels.Im2Col.JoinSamples({l.OutC}, {p}, samples, dy, dyWide);");
                if (strategy.ChannelLanes)
                {
                    // No column matrix where the lane kernel runs (AVX-512, or AVX2 with FMA: the same bits); im2col and dot products otherwise.
                    w.Line($"// dWeight += dy ⊛ x with the {l.OutC} output channels in the vector lanes (no column matrix); without FMA, im2col and dot products");
                    w.Open($"if (!{Rt}.Kernels.ChannelLaneConv.AddWeightGradient(in Geometry{m}, {l.OutC}, dy, {x}.AsSpan(n * {l.InSize}, samples * {l.InSize}), samples, _columns[worker], dWeight))");
                }
                w.Line($"{Span} wide = _columns[worker].AsSpan(0, {k} * ld); // [{k}, ld], recomputed: cheaper than keeping it per sample");
                w.Line($"for (int j = 0; j < samples; j++) {Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, {x}.AsSpan((n + j) * {l.InSize}, {l.InSize}), wide.Slice(j * {p}), ld);");
                w.Line($"{Rt}.Kernels.Gemm.Nt({l.OutC}, {k}, ld, dyWide, ld, wide, ld, dWeight, {k}, accumulate: true);");
                if (strategy.ChannelLanes) w.Close();
            }
            else
            {
                w.Open("for (int j = 0; j < samples; j++)");
                w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, {x}.AsSpan((n + j) * {l.InSize}, {l.InSize}), col); // recomputed: cheaper than keeping it per sample");
                w.Line($"{Rt}.Kernels.PackedGemm.Transpose({k}, {p}, col, {p}, _columnsGradient[worker].AsSpan(j * {p * k}, {p * k}), {k}); // colᵀ [{p}, {k}]");
                w.Close();
                w.Line($"{Span} dyWide = {dyBuffer}[worker].AsSpan(0, {l.OutC} * ld); // [{l.OutC}, ld]");
                w.Line($"{Rt}.Kernels.Im2Col.JoinSamples({l.OutC}, {p}, samples, dy, dyWide);");
                w.Line($"{Rt}.Kernels.PackedGemm.PackA({l.OutC}, ld, dyWide, ld, 1, packedDy);");
                w.Line($"// dWeight[{l.OutC}, {k}] += dyWide[{l.OutC}, ld] · colᵀ[ld, {k}]");
                w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, {k}, ld, packedDy, _columnsGradient[worker], {k}, dWeight, {k}, accumulate: true);");
            }
            WriteBiasGradient(w, l, p, samples: true);
            w.Open("if (inputGradient)");
            w.Line($"{Span} dColWide = {dColBuffer}[worker].AsSpan(0, {k} * ld); // [{k}, ld] (what it held is no longer needed)");
            w.Line($"// dColWide = weightᵀ · dyWide, then fold each sample's block back onto its input");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({k}, ld, {l.OutC}, packedWeightT, dyWide, ld, dColWide, ld, accumulate: false);");
            w.Open("for (int j = 0; j < samples; j++)");
            w.Line($"{Span} dx = {dx}.AsSpan((n + j) * {l.InSize}, {l.InSize});");
            w.Line("dx.Clear();");
            w.Line($"{Rt}.Kernels.Im2Col.FoldAdd(in Geometry{m}, dColWide.Slice(j * {p}), dx, ld);");
            w.Close();
            w.Close();
            w.Close();
            w.Close();
            w.Line();
            return;
        }
        // A direct convolution's weight gradient with the output columns in the lanes, over the whole block of samples
        // (no column matrix), where the kernel runs (AVX-512, or AVX2 with FMA: the same bits); im2col and dots otherwise.
        bool directGradient = strategy.DirectWeightGradient;
        if (directGradient)
        {
            w.Line($"// dWeight += dy ⊛ x with the output columns in the vector lanes (no column matrix); without FMA, im2col and dot products below");
            w.Line($"bool direct = {Rt}.Kernels.DirectConv.AddWeightGradient(in Geometry{m}, {l.OutC}, {dy}.AsSpan(n0 * {l.OutSize}, (n1 - n0) * {l.OutSize}), {x}.AsSpan(n0 * {l.InSize}, (n1 - n0) * {l.InSize}), n1 - n0, _columns[worker], dWeight);");
        }
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, {l.OutSize}); // [{l.OutC}, {p}]");
        string colName = c.IsPointwise ? "x" : "col";
        if (directGradient) w.Open("if (!direct)");
        if (!c.IsPointwise) w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, x, col); // recomputed: cheaper than keeping it per sample");
        if (dots)
        {
            w.Line($"// dWeight[{l.OutC}, {k}] += dy[{l.OutC}, {p}] · {colName}[{k}, {p}]ᵀ: a small output, so dot products along {p} (nothing transposed)");
            w.Line($"{Rt}.Kernels.Gemm.Nt({l.OutC}, {k}, {p}, dy, {p}, {colName}, {p}, dWeight, {k}, accumulate: true);");
            if (directGradient) w.Close();
        }
        else
        {
            string colT = c.IsPointwise ? "xT" : "dCol";
            if (c.IsPointwise) w.Line($"{Span} xT = _columnsGradient[worker].AsSpan(0, {k * p});");
            w.Line($"{Rt}.Kernels.PackedGemm.Transpose({k}, {p}, {colName}, {p}, {colT}, {k}); // {colName}ᵀ [{p}, {k}]");
            w.Line($"{Rt}.Kernels.PackedGemm.PackA({l.OutC}, {p}, dy, {p}, 1, packedDy);");
            w.Line($"// dWeight[{l.OutC}, {k}] += dy[{l.OutC}, {p}] · {colName}ᵀ[{p}, {k}]");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, {k}, {p}, packedDy, {colT}, {k}, dWeight, {k}, accumulate: true);");
        }
        WriteBiasGradient(w, l, p, samples: false);
        w.Open("if (inputGradient)");
        w.Line($"{Span} dx = {dx}.AsSpan(n * {l.InSize}, {l.InSize});");
        if (c.IsPointwise)
        {
            w.Line($"// dx[{k}, {p}] = weightᵀ · dy");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({k}, {p}, {l.OutC}, packedWeightT, dy, {p}, dx, {p}, accumulate: false);");
        }
        else
        {
            w.Line($"// dCol[{k}, {p}] = weightᵀ · dy, then fold back onto the input");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({k}, {p}, {l.OutC}, packedWeightT, dy, {p}, dCol, {p}, accumulate: false);");
            w.Line("dx.Clear();");
            w.Line($"{Rt}.Kernels.Im2Col.FoldAdd(in Geometry{m}, dCol, dx);");
        }
        w.Close();
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>
    /// Winograd backward: the weight gradient in the transform domain (dU[ξ] = Σ_t (A dy_t Aᵀ)[ξ] · (Bᵀ x_t B)[ξ], summed over
    /// this worker's samples, then Gᵀ dU G), and dx as the convolution of dy with the weights turned 180° and their channel
    /// axes swapped (padding 2 − p): no column matrix to build, transpose or fold back.
    /// </summary>
    private static void WinogradBackward(CpuLayer e, ShapedLayer l, IndentedWriter w, string m, string x, string dx, string dy, ConvStrategy strategy)
    {
        int s = strategy.WinogradSamples, p = l.OutH * l.OutW;
        e.Header("backward");
        w.Open($"private void {m}Backward(int n0, int n1, int worker, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InC}, 3, 3]");
        if (l.HasBias) w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
        w.Line($"// dU[ξ] += dM[ξ] · V[ξ]ᵀ, up to {s} samples per transform (NetDsl.Kernels.Winograd.WeightGradient); the slice's");
        w.Line("// end adds Gᵀ dU G into dWeight once (BackwardSliceEnd).");
        w.Open($"for (int n = n0; n < n1; n += {s})");
        w.Line($"int samples = global::System.Math.Min({s}, n1 - n);");
        w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, samples * {l.OutSize});");
        w.Line($"{Rt}.Kernels.Winograd.WeightGradient(_winograd{m}[worker], {x}.AsSpan(n * {l.InSize}, samples * {l.InSize}), dy, samples);");
        WriteBiasGradient(w, l, p, samples: true);
        w.Close();
        w.Open("if (inputGradient)");
        w.Line($"// dx [{l.InC}, {l.InH}, {l.InW}] = dy [{l.OutC}, {l.OutH}, {l.OutW}] convolved with weight turned 180°, channels swapped (Winograd {(strategy.WinogradBackTile == 4 ? "F(4×4, 3×3)" : "F(2×2, 3×3)")}, GeometryBack{m})");
        w.Open($"for (int n = n0; n < n1; n += {s})");
        w.Line($"int samples = global::System.Math.Min({s}, n1 - n);");
        w.Line($"{Rt}.Kernels.Winograd.Forward(_winogradBack{m}[worker], weight, transposedWeight: true, default, {dy}.AsSpan(n * {l.OutSize}, samples * {l.OutSize}), {dx}.AsSpan(n * {l.InSize}, samples * {l.InSize}), samples, 0, {l.InC}, _pass);");
        w.Close();
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>
    /// Winograd F(2×2, 5×5) backward, eight samples per call in the vector lanes: dM = A dy Aᵀ per output tile, the weight
    /// gradient dU[ξ] += dM[ξ] ⊗ V[ξ] lane by lane (Gᵀ dU G once at the slice's end) and dx from dV[ξ] = U[ξ]ᵀ dM[ξ], each
    /// tile's B dV Bᵀ added where the tiles overlap: no column matrix, transpose of dy or fold.
    /// </summary>
    private static void Winograd5Backward(CpuLayer e, ShapedLayer l, IndentedWriter w, string m, string x, string dx, string dy, ConvStrategy strategy)
    {
        int s = strategy.Winograd5Samples, p = l.OutH * l.OutW;
        w.Line($"/// <summary>{l.Name} backward by Winograd F(2×2, 5×5), the samples in the vector lanes (where Winograd.Accelerated5).</summary>");
        w.Open($"private void {m}BackwardWinograd5(int n0, int n1, int worker, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InC}, 5, 5]");
        if (l.HasBias) w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
        w.Line($"// Winograd F(2×2, 5×5), {Winograd(l)} tiles per sample, {s} samples per call in the vector lanes (NetDsl.Kernels.Winograd.Backward5):");
        w.Line("// dU[ξ] += dM[ξ] ⊗ V[ξ] lane by lane, added into dWeight as Gᵀ dU G once at the slice's end (BackwardSliceEnd); dx written");
        w.Line("// from dV[ξ] = U[ξ]ᵀ dM[ξ].");
        w.Open($"for (int n = n0; n < n1; n += {s})");
        w.Line($"int samples = global::System.Math.Min({s}, n1 - n);");
        w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, samples * {l.OutSize});");
        w.Line($"{Rt}.Kernels.Winograd.Backward5(_winograd5{m}[worker], weight, {x}.AsSpan(n * {l.InSize}, samples * {l.InSize}), dy, samples, inputGradient ? {dx}.AsSpan(n * {l.InSize}, samples * {l.InSize}) : default, _pass);");
        WriteBiasGradient(w, l, p, samples: true);
        w.Close();
        w.Close();
        w.Line();
    }

    /// <summary>
    /// A 3×3 stride-1 convolution by Winograd F(2×2, 3×3) or F(4×4, 3×3) (<see cref="ConvStrategy.WinogradTile"/>): a few
    /// samples per call, their tiles side by side in the 16 (36) products over the channels. Batch 1 on several workers splits the output channels in whole GEMM panels, as the
    /// im2col path does, and each worker transforms the sample itself; every output element is the same sum either way.
    /// </summary>
    private static void WinogradForward(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string y, ConvStrategy strategy)
    {
        int s = strategy.WinogradSamples;
        // The input gradient's convolution: from dy [OutC, OH, OW] to dx [InC, H, W], padding 2 − p (the weights turned 180°).
        w.Line($"private static readonly {Rt}.Kernels.ConvGeometry GeometryBack{m} = new({l.OutC}, {l.OutH}, {l.OutW}, 3, 3, 1, 1, {2 - c.PadTop}, {2 - c.PadLeft}, 1, {l.InH}, {l.InW});");
        w.Line();
        e.Header("forward");
        w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        if (strategy.SplitOneSample)
        {
            e.SplitOneSample("whole panels of this sample's output channels", "ForwardRows");
        }
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InC}, 3, 3]");
        string bias = l.HasBias ? $"_parameters.AsSpan({l.BiasOffset}, {l.OutC})" : "default";
        w.Line(strategy.WinogradTile == 4
            ? $"// Winograd F(4×4, 3×3) (NetDsl.Kernels.Winograd): {(l.OutH + 3) / 4}×{(l.OutW + 3) / 4} tiles per sample, up to {s} samples per call."
            : $"// Winograd F(2×2, 3×3) (NetDsl.Kernels.Winograd): {Winograd(l)} tiles per sample, up to {s} samples per call.");
        w.Open($"for (int n = n0; n < n1; n += {s})");
        w.Line($"int samples = global::System.Math.Min({s}, n1 - n);");
        string relu = strategy.FusedRelu < 0 ? "" : $", relu: {ReluSpan(e, strategy, "samples")}";
        if (strategy.FusedPool >= 0)
        {
            var pool = e.Net.Layers[strategy.FusedPool];
            string pooledSpan = $"{e.ActOf(pool.Index)}.AsSpan(n * {pool.OutSize}, samples * {pool.OutSize})", winners = $"_argmax{e.MemberOf(pool.Index)}.AsSpan(n * {pool.OutSize}, samples * {pool.OutSize})";
            relu = $", relu: pooled ? default : {ReluSpan(e, strategy, "samples")}, pool: pooled ? {pooledSpan} : default, argmax: pooled && _training ? {winners} : default";
            w.Line($"// {pool.Name} pools each output tile's windows in registers (the winners too when training); {e.Net.Layers[strategy.FusedRelu].Name}'s output is");
            w.Line("// stored only when LayerOutput recomputes it (ConvStrategy.FusedPool).");
            w.Line("bool pooled = !_keepOutputs;");
        }
        w.Line($"{Rt}.Kernels.Winograd.Forward(_winograd{m}[worker], weight, transposedWeight: false, {bias}, {x}.AsSpan(n * {l.InSize}, samples * {l.InSize}), {OutSpan(strategy, $"{y}.AsSpan(n * {l.OutSize}, samples * {l.OutSize})")}, samples, 0, {l.OutC}, _pass{relu});");
        w.Close();
        w.Close();
        w.Line();
        if (!strategy.SplitOneSample) return;
        w.Line($"/// <summary>{l.Name} forward for a batch of one sample: this worker's panels of output channels.</summary>");
        w.Open($"private void {m}ForwardRows(int worker)");
        w.Line($"int panels = ({l.OutC} + {Rt}.Kernels.PackedGemm.MR - 1) / {Rt}.Kernels.PackedGemm.MR;");
        w.Line($"var (q0, q1) = {Rt}.Kernels.WorkerPool.Share(panels, worker, _workers.Workers);");
        w.Line($"int r0 = q0 * {Rt}.Kernels.PackedGemm.MR, r1 = global::System.Math.Min({l.OutC}, q1 * {Rt}.Kernels.PackedGemm.MR);");
        w.Line("if (r0 >= r1) return;");
        string reluRows = strategy.FusedRelu < 0 ? "" : $", relu: {e.ActOf(strategy.FusedRelu)}.AsSpan(0, {l.OutSize})";
        // Each worker pools the channels it computes, so the pool is done whether or not it would run inside this split.
        bool fusedPool = strategy.FusedPool >= 0;
        if (fusedPool)
        {
            var pool = e.Net.Layers[strategy.FusedPool];
            reluRows = $", relu: pooled ? default : {e.ActOf(strategy.FusedRelu)}.AsSpan(0, {l.OutSize}), pool: pooled ? {e.ActOf(pool.Index)}.AsSpan(0, {pool.OutSize}) : default, argmax: pooled && _training ? _argmax{e.MemberOf(pool.Index)}.AsSpan(0, {pool.OutSize}) : default";
            w.Line($"bool pooled = !_keepOutputs; // {pool.Name} done by the output transform (ConvStrategy.FusedPool)");
        }
        w.Line($"{Rt}.Kernels.Winograd.Forward(_winograd{m}[worker], _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}), transposedWeight: false, {bias}, {x}.AsSpan(0, {l.InSize}), {OutSpan(strategy, $"{y}.AsSpan(0, {l.OutSize})")}, 1, r0, r1, _pass{reluRows});");
        if (fusedPool) w.Line("if (pooled) return;");
        WriteSplitChain(e, w);
        w.Close();
        w.Line();
    }

    /// <summary>Few input channels: a direct convolution (NetDsl.Kernels.DirectConv) per sample, the column buffer holding
    /// the zero-padded input. Batch 1 on several workers splits the output channels, each worker padding the sample itself.</summary>
    private static void DirectForward(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string y, ConvStrategy strategy)
    {
        int taps = l.InC * c.KernelH * c.KernelW, ohw = l.OutH * l.OutW;
        w.Line();
        e.Header("forward");
        w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        if (strategy.SplitOneSample)
        {
            e.SplitOneSample(strategy.DirectRows ? "a share of this sample's output rows" : "a share of this sample's output channels", "ForwardRows");
        }
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InC}, {c.KernelH}, {c.KernelW}]");
        string bias = l.HasBias ? $"_parameters.AsSpan({l.BiasOffset}, {l.OutC})" : "default";
        w.Line($"// {l.InC} input channel{(l.InC == 1 ? "" : "s")}: a depth of {taps} is too shallow for im2col + GEMM, so a direct convolution (NetDsl.Kernels.DirectConv).");
        string relu = strategy.FusedRelu < 0 ? "" : $", relu: {ReluSpan(e, strategy, "1")}";
        if (strategy.FusedPool >= 0)
        {
            var pool = e.Net.Layers[strategy.FusedPool];
            relu = $", relu: pooled ? default : {ReluSpan(e, strategy, "1")}, pool: pooled ? {e.ActOf(pool.Index)}.AsSpan(n * {pool.OutSize}, {pool.OutSize}) : default, argmax: pooled && _training ? _argmax{e.MemberOf(pool.Index)}.AsSpan(n * {pool.OutSize}, {pool.OutSize}) : default";
            w.Line($"// {pool.Name} pools each pair of rows in registers (the winners too when training) where the 512-bit path runs; {e.Net.Layers[strategy.FusedRelu].Name}'s output");
            w.Line("// is then stored only when LayerOutput recomputes it (ConvStrategy.FusedPool).");
            w.Line($"bool pooled = !_keepOutputs && {Rt}.Kernels.DirectConv.CanPool(in Geometry{m}, {l.OutC});");
        }
        w.Line($"for (int n = n0; n < n1; n++) {Rt}.Kernels.DirectConv.Forward(in Geometry{m}, {l.OutC}, weight, {bias}, {x}.AsSpan(n * {l.InSize}, {l.InSize}), {OutSpan(strategy, $"{y}.AsSpan(n * {l.OutSize}, {l.OutSize})")}, _columns[worker]{relu});");
        w.Close();
        w.Line();
        if (!strategy.SplitOneSample) return;
        if (strategy.DirectRows)
        {
            w.Line($"/// <summary>{l.Name} forward for a batch of one sample: this worker's share of the output rows (too few channels to share).</summary>");
            w.Open($"private void {m}ForwardRows(int worker)");
            WriteRowShare(e, w);
            string reluAll = strategy.FusedRelu < 0 ? "" : $", relu: {e.ActOf(strategy.FusedRelu)}.AsSpan(0, {l.OutSize})";
            w.Line($"{Rt}.Kernels.DirectConv.Forward(in Geometry{m}, {l.OutC}, _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}), {bias}, {x}.AsSpan(0, {l.InSize}), {OutSpan(strategy, $"{y}.AsSpan(0, {l.OutSize})")}, _columns[worker]{reluAll}, row0: r0, row1: r1);");
            WriteSplitChain(e, w);
            w.Close();
            w.Line();
            return;
        }
        w.Line($"/// <summary>{l.Name} forward for a batch of one sample: this worker's share of the output channels.</summary>");
        w.Open($"private void {m}ForwardRows(int worker)");
        w.Line($"var (r0, r1) = {Rt}.Kernels.WorkerPool.Share({l.OutC}, worker, _workers.Workers);");
        w.Line("if (r0 >= r1) return;");
        string biasRows = l.HasBias ? $"_parameters.AsSpan({l.BiasOffset} + r0, r1 - r0)" : "default";
        string reluRows = strategy.FusedRelu < 0 ? "" : $", relu: {e.ActOf(strategy.FusedRelu)}.AsSpan(r0 * {ohw}, (r1 - r0) * {ohw})";
        bool fusedPool = strategy.FusedPool >= 0 && strategy.FusedPool == strategy.SplitPool;
        if (fusedPool)
        {
            var pool = e.Net.Layers[strategy.FusedPool];
            int pooledPlane = pool.OutH * pool.OutW;
            string share = $"r0 * {pooledPlane}, (r1 - r0) * {pooledPlane}";
            reluRows = $", relu: pooled ? default : {e.ActOf(strategy.FusedRelu)}.AsSpan(r0 * {ohw}, (r1 - r0) * {ohw}), pool: pooled ? {e.ActOf(pool.Index)}.AsSpan({share}) : default, argmax: pooled && _training ? _argmax{e.MemberOf(pool.Index)}.AsSpan({share}) : default";
            w.Line($"bool pooled = !_keepOutputs && {Rt}.Kernels.DirectConv.CanPool(in Geometry{m}, r1 - r0); // {pool.Name} on pairs of rows in registers (ConvStrategy.FusedPool)");
        }
        w.Line($"{Rt}.Kernels.DirectConv.Forward(in Geometry{m}, r1 - r0, _parameters.AsSpan({l.WeightOffset} + r0 * {taps}, (r1 - r0) * {taps}), {biasRows}, {x}.AsSpan(0, {l.InSize}), {OutSpan(strategy, $"{y}.AsSpan(r0 * {ohw}, (r1 - r0) * {ohw})")}, _columns[worker]{reluRows});");
        if (fusedPool) w.Line("if (pooled) return;");
        WriteSplitChain(e, w);
        w.Close();
        w.Line();
    }

    /// <summary>Few output channels over a deeper input: a direct convolution with the output channels in the vector lanes
    /// (NetDsl.Kernels.ChannelLaneConv) per sample, its weight packed per worker when it changed, the column buffer holding the
    /// zero-padded input where there is padding.</summary>
    private static void ChannelLanesForward(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string y, ConvStrategy strategy)
    {
        int taps = l.InC * c.KernelH * c.KernelW;
        w.Line();
        e.Header("forward");
        w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        if (strategy.SplitOneSample) e.SplitOneSample("a share of this sample's output rows", "ForwardRows");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InC}, {c.KernelH}, {c.KernelW}] = [{l.OutC}, {taps}]");
        string bias = l.HasBias ? $"_parameters.AsSpan({l.BiasOffset}, {l.OutC})" : "default";
        w.Line($"// {l.OutC} output channels: each element of im2col's [{taps}, {l.OutH * l.OutW}] column matrix would feed only {l.OutC} multiply-adds, so a direct");
        w.Line($"// convolution with the output channels in the vector lanes (NetDsl.Kernels.ChannelLaneConv).");
        if (strategy.Winograd5)
        {
            int s = strategy.Winograd5Samples;
            w.Line($"// Several samples: Winograd F(2×2, 5×5) (NetDsl.Kernels.Winograd.Forward5), {Winograd(l)} tiles per sample, {s} samples per call in");
            w.Line($"// the vector lanes: 36 multiply-adds per tile and channel pair instead of 100. One sample, or a machine without 256-bit");
            w.Line($"// vectors and FMA in hardware (Winograd.Accelerated5): the lane kernel below.");
            w.Open($"if (_batch > 1 && {Rt}.Kernels.Winograd.Accelerated5)");
            w.Open($"for (int n = n0; n < n1; n += {s})");
            w.Line($"int samples = global::System.Math.Min({s}, n1 - n);");
            w.Line($"{Rt}.Kernels.Winograd.Forward5(_winograd5{m}[worker], weight, {bias}, {x}.AsSpan(n * {l.InSize}, samples * {l.InSize}), {y}.AsSpan(n * {l.OutSize}, samples * {l.OutSize}), samples, _pass);");
            w.Close();
            w.Line("return;");
            w.Close();
        }
        w.Line($"{RoSpan} packedWeight = {Rt}.Kernels.ChannelLaneConv.Pack(_lanes{m}[worker], weight); // [{l.OutC / 16}, {taps}, 16], packed again only when the weight changed");
        string relu = strategy.FusedRelu < 0 ? "" : $", relu: {ReluSpan(e, strategy, "1")}";
        w.Line($"for (int n = n0; n < n1; n++) {Rt}.Kernels.ChannelLaneConv.Forward(in Geometry{m}, {l.OutC}, packedWeight, {bias}, {x}.AsSpan(n * {l.InSize}, {l.InSize}), {OutSpan(strategy, $"{y}.AsSpan(n * {l.OutSize}, {l.OutSize})")}, _columns[worker]{relu});");
        w.Close();
        w.Line();
        if (!strategy.SplitOneSample) return;
        w.Line($"/// <summary>{l.Name} forward for a batch of one sample: this worker's share of the output rows.</summary>");
        w.Open($"private void {m}ForwardRows(int worker)");
        WriteRowShare(e, w);
        w.Line($"{RoSpan} packedWeight = {Rt}.Kernels.ChannelLaneConv.Pack(_lanes{m}[worker], _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}));");
        string relu1 = strategy.FusedRelu < 0 ? "" : $", relu: {e.ActOf(strategy.FusedRelu)}.AsSpan(0, {l.OutSize})";
        w.Line($"{Rt}.Kernels.ChannelLaneConv.Forward(in Geometry{m}, {l.OutC}, packedWeight, {bias}, {x}.AsSpan(0, {l.InSize}), {OutSpan(strategy, $"{y}.AsSpan(0, {l.OutSize})")}, _columns[worker]{relu1}, row0: r0, row1: r1);");
        WriteSplitChain(e, w);
        w.Close();
        w.Line();
    }

    /// <summary>This worker's output rows [r0, r1) in a batch-of-one split by rows: in pairs when a 2×2 pool runs inside the
    /// split (see CpuPlan.SplitChain), so that each pooled row's two inputs are on one worker.</summary>
    private static void WriteRowShare(CpuLayer e, IndentedWriter w)
    {
        var l = e.Layer;
        if (e.Plan.SplitChain(l.Index).Pool >= 0)
        {
            w.Line($"var (q0, q1) = {Rt}.Kernels.WorkerPool.Share({l.OutH / 2}, worker, _workers.Workers); // rows in pairs, for the pool");
            w.Line($"int r0 = 2 * q0, r1 = q1 == {l.OutH / 2} ? {l.OutH} : 2 * q1;");
        }
        else w.Line($"var (r0, r1) = {Rt}.Kernels.WorkerPool.Share({l.OutH}, worker, _workers.Workers);");
        w.Line("if (r0 >= r1) return;");
    }

    /// <summary>In a batch-of-one split: the layers that run on the share this worker has just written (see
    /// CpuPlan.SplitChain): a tanh, then a 2×2 pool, over output channels [r0, r1) or output rows [r0, r1) of every channel.</summary>
    private static void WriteSplitChain(CpuLayer e, IndentedWriter w)
    {
        var l = e.Layer;
        bool rows = e.Plan.Convolutions[l.Index].SplitsRows;
        var (activation, pool) = e.Plan.SplitChain(l.Index);
        int ohw = l.OutH * l.OutW;
        if (activation >= 0)
        {
            string src = e.ActOf(e.Net.Layers[activation].Inputs[0]), dst = e.ActOf(activation), name = e.Net.Layers[activation].Name;
            if (rows)
                w.Line($"for (int c = 0; c < {l.OutC}; c++) {Rt}.Kernels.Vec.Tanh({src}.AsSpan(c * {ohw} + r0 * {l.OutW}, (r1 - r0) * {l.OutW}), {dst}.AsSpan(c * {ohw} + r0 * {l.OutW}, (r1 - r0) * {l.OutW})); // {name}, these rows");
            else
                w.Line($"{Rt}.Kernels.Vec.Tanh({src}.AsSpan(r0 * {ohw}, (r1 - r0) * {ohw}), {dst}.AsSpan(r0 * {ohw}, (r1 - r0) * {ohw})); // {name}, these channels");
        }
        if (pool >= 0)
            w.Line($"{e.MemberOf(pool)}Forward{(rows ? "Rows" : "Channels")}(r0, r1); // {e.Net.Layers[pool].Name}: the {(rows ? "rows" : "channels")} just written, on this worker");
    }

    /// <summary>dBias[c] += the sum of dy's plane c: of each of the <c>samples</c> samples from dy's start, or of one sample.</summary>
    private static void WriteBiasGradient(IndentedWriter w, ShapedLayer l, int p, bool samples)
    {
        if (!l.HasBias) return;
        w.Line(samples
            ? $"for (int j = 0; j < samples; j++) for (int c = 0; c < {l.OutC}; c++) dBias[c] += {Rt}.Kernels.Vec.Sum(dy.Slice(j * {l.OutSize} + c * {p}, {p}));"
            : $"for (int c = 0; c < {l.OutC}; c++) dBias[c] += {Rt}.Kernels.Vec.Sum(dy.Slice(c * {p}, {p}));");
    }

    /// <summary>The output span of a forward call: empty (only the fused ReLU's output stored) when the convolution's own
    /// output is computed on demand and this Forward does not keep outputs (see <see cref="ConvStrategy.OutputOnDemand"/>).</summary>
    private static string OutSpan(ConvStrategy s, string span) => s.OutputOnDemand ? $"(_keepOutputs ? {span} : default)" : span;

    /// <summary>Where the fused ReLU's output for samples [n, n + <paramref name="samples"/>) of the block [n0, n1) goes: the
    /// layer's buffer, or (<see cref="ConvStrategy.ReluScratch"/>) the worker's scratch, unless LayerOutput is recomputing it
    /// or the batch is one sample.</summary>
    private static string ReluSpan(CpuLayer e, ConvStrategy s, string samples)
    {
        var l = e.Layer;
        string count = samples == "1" ? $"{l.OutSize}" : $"{samples} * {l.OutSize}";
        string buffer = $"{e.ActOf(s.FusedRelu)}.AsSpan(n * {l.OutSize}, {count})";
        return s.ReluScratch == 0 ? buffer : $"(_keepOutputs || _batch == 1 ? {buffer} : _reluScratch{e.M}[worker].AsSpan((n - n0) * {l.OutSize}, {count}))";
    }

    private static string Winograd(ShapedLayer l) => $"{(l.OutH + 1) / 2}×{(l.OutW + 1) / 2}";

    /// <summary>The convolution's geometry as a static readonly field: built once, and the JIT treats its fields as
    /// constants. A transposed convolution passes the geometry of the convolution it is the transpose of.</summary>
    private static void WriteGeometry(IndentedWriter w, string m, ConvParams c, int inC, int inH, int inW, int outH, int outW) =>
        w.Line($"private static readonly {Rt}.Kernels.ConvGeometry Geometry{m} = new({inC}, {inH}, {inW}, {c.KernelH}, {c.KernelW}, {c.StrideH}, {c.StrideW}, {c.PadTop}, {c.PadLeft}, {c.Dilation}, {outH}, {outW});");

    // ---- grouped convolution: one GEMM per group over the shared column matrix ----

    private static void GroupedForward(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string y)
    {
        int g = c.Groups, cg = l.InC / g, og = l.OutC / g, kg = cg * c.KernelH * c.KernelW, k = l.InC * c.KernelH * c.KernelW, p = l.OutH * l.OutW;
        WriteGeometry(w, m, c, l.InC, l.InH, l.InW, l.OutH, l.OutW);
        w.Line();
        e.Header("forward");
        w.Line($"// {g} groups: output channels [g·{og}, (g+1)·{og}) see input channels [g·{cg}, (g+1)·{cg}).");
        w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {cg}, {c.KernelH}, {c.KernelW}]");
        if (l.HasBias) w.Line($"{RoSpan} bias = _parameters.AsSpan({l.BiasOffset}, {l.OutC});");
        w.Line($"{Span} col = _columns[worker].AsSpan(0, {k * p}); // [{k}, {p}]");
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, x, col);");
        w.Line($"for (int g = 0; g < {g}; g++)");
        w.Line($"    {Rt}.Kernels.Gemm.Nn({og}, {p}, {kg}, weight.Slice(g * {og * kg}), {kg}, 1, col.Slice(g * {kg * p}), {p}, y.Slice(g * {og * p}), {p}, accumulate: false);");
        if (l.HasBias) w.Line($"for (int c = 0; c < {l.OutC}; c++) {Rt}.Kernels.Vec.AddScalar(y.Slice(c * {p}, {p}), bias[c]);");
        w.Close();
        w.Close();
        w.Line();
    }

    private static void GroupedBackward(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string dx, string dy)
    {
        int g = c.Groups, cg = l.InC / g, og = l.OutC / g, kg = cg * c.KernelH * c.KernelW, k = l.InC * c.KernelH * c.KernelW, p = l.OutH * l.OutW;
        e.Header("backward");
        w.Open($"private void {m}Backward(int n0, int n1, int worker, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount});");
        w.Line($"{Span} dWeight = grad.AsSpan({l.WeightOffset}, {l.WeightCount});");
        if (l.HasBias) w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
        w.Line($"{Span} col = _columns[worker].AsSpan(0, {k * p});");
        w.Line($"{Span} dCol = _columnsGradient[worker].AsSpan(0, {k * p});");
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, x, col);");
        w.Open($"for (int g = 0; g < {g}; g++)");
        w.Line($"{Rt}.Kernels.Gemm.Nt({og}, {kg}, {p}, dy.Slice(g * {og * p}), {p}, col.Slice(g * {kg * p}), {p}, dWeight.Slice(g * {og * kg}), {kg}, accumulate: true);");
        w.Line($"if (inputGradient) {Rt}.Kernels.Gemm.Nn({kg}, {p}, {og}, weight.Slice(g * {og * kg}), 1, {kg}, dy.Slice(g * {og * p}), {p}, dCol.Slice(g * {kg * p}), {p}, accumulate: false);");
        w.Close();
        WriteBiasGradient(w, l, p, samples: false);
        w.Open("if (inputGradient)");
        w.Line($"{Span} dx = {dx}.AsSpan(n * {l.InSize}, {l.InSize});");
        w.Line("dx.Clear();");
        w.Line($"{Rt}.Kernels.Im2Col.FoldAdd(in Geometry{m}, dCol, dx);");
        w.Close();
        w.Close();
        w.Close();
        w.Line();
    }

    // ---- transposed convolution: the adjoint of a convolution from the output back to the input ----

    private static void TransposeForward(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string y)
    {
        int hw = l.InH * l.InW, k = l.OutC * c.KernelH * c.KernelW, p = l.OutH * l.OutW;
        w.Line($"// The convolution that {m} is the transpose of: from the {l.OutC}×{l.OutH}×{l.OutW} output to the {l.InC}×{l.InH}×{l.InW} input.");
        WriteGeometry(w, m, c, l.OutC, l.OutH, l.OutW, l.InH, l.InW);
        w.Line();
        e.Header("forward");
        w.Open($"private void {m}Forward(int n0, int n1, int worker)");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.InC}, {l.OutC}, {c.KernelH}, {c.KernelW}] = [{l.InC}, {k}]");
        if (l.HasBias) w.Line($"{RoSpan} bias = _parameters.AsSpan({l.BiasOffset}, {l.OutC});");
        w.Line($"{Span} col = _columns[worker].AsSpan(0, {k * hw}); // [{k}, {hw}]");
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize}); // [{l.InC}, {hw}]");
        w.Line($"{Span} y = {y}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        w.Line($"// col[{k}, {hw}] = weightᵀ · x, then scatter-add each column's window into y");
        w.Line($"{Rt}.Kernels.Gemm.Nn({k}, {hw}, {l.InC}, weight, 1, {k}, x, {hw}, col, {hw}, accumulate: false);");
        w.Line("y.Clear();");
        w.Line($"{Rt}.Kernels.Im2Col.FoldAdd(in Geometry{m}, col, y);");
        if (l.HasBias) w.Line($"for (int c = 0; c < {l.OutC}; c++) {Rt}.Kernels.Vec.AddScalar(y.Slice(c * {p}, {p}), bias[c]);");
        w.Close();
        w.Close();
        w.Line();
    }

    private static void TransposeBackward(CpuLayer e, ShapedLayer l, ConvParams c, IndentedWriter w, string m, string x, string dx, string dy)
    {
        int hw = l.InH * l.InW, k = l.OutC * c.KernelH * c.KernelW, p = l.OutH * l.OutW;
        e.Header("backward");
        w.Open($"private void {m}Backward(int n0, int n1, int worker, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.InC}, {k}]");
        w.Line($"{Span} dWeight = grad.AsSpan({l.WeightOffset}, {l.WeightCount});");
        if (l.HasBias) w.Line($"{Span} dBias = grad.AsSpan({l.BiasOffset}, {l.OutC});");
        w.Line($"{Span} dyCol = _columns[worker].AsSpan(0, {k * hw}); // [{k}, {hw}]");
        w.Open("for (int n = n0; n < n1; n++)");
        w.Line($"{RoSpan} x = {x}.AsSpan(n * {l.InSize}, {l.InSize});");
        w.Line($"{RoSpan} dy = {dy}.AsSpan(n * {l.OutSize}, {l.OutSize});");
        w.Line($"{Rt}.Kernels.Im2Col.Unfold(in Geometry{m}, dy, dyCol);");
        w.Line($"// dWeight[{l.InC}, {k}] += x[{l.InC}, {hw}] · dyCol[{k}, {hw}]ᵀ");
        w.Line($"{Rt}.Kernels.Gemm.Nt({l.InC}, {k}, {hw}, x, {hw}, dyCol, {hw}, dWeight, {k}, accumulate: true);");
        WriteBiasGradient(w, l, p, samples: false);
        w.Line($"if (inputGradient) {Rt}.Kernels.Gemm.Nn({l.InC}, {hw}, {k}, weight, {k}, 1, dyCol, {hw}, {dx}.AsSpan(n * {l.InSize}, {l.InSize}), {hw}, accumulate: false);");
        w.Close();
        w.Close();
        w.Line();
    }

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    public override bool GpuFusesActivation(ShapedLayer l) => l.Kind == LayerKind.Conv2D;

    /// <summary>The layer's geometry struct: the convolution itself, or for a transposed convolution the convolution it is
    /// the adjoint of (from its output to its input).</summary>
    private static string GpuGeometry(GpuLayer g)
    {
        var l = g.Layer;
        var c = (ConvParams)l.Params;
        return l.Kind == LayerKind.Conv2D
            ? g.ConvGeometry(l.InC, l.InH, l.InW, l.OutC, l.OutH, l.OutW, c.KernelH, c.KernelW, c.StrideH, c.StrideW, c.PadTop, c.PadLeft, c.Dilation, c.Dilation, c.Groups)
            : g.ConvGeometry(l.OutC, l.OutH, l.OutW, l.InC, l.InH, l.InW, c.KernelH, c.KernelW, c.StrideH, c.StrideW, c.PadTop, c.PadLeft, c.Dilation, c.Dilation, 1,
                "; the convolution a transposed convolution is the adjoint of");
    }

    public override void WriteGpuWorkspace(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Conv2D)
            g.W.Line($"private readonly global::ILGPU.Runtime.MemoryBuffer1D<float, global::ILGPU.Stride1D.Dense> _cols{g.M}, _dcols{g.M}; // [N, {Columns(l, (ConvParams)l.Params)}] im2col of the input, and its gradient");
    }

    /// <summary>Floats per sample of the im2col matrix: (C·KH·KW) × (OH·OW).</summary>
    private static long Columns(ShapedLayer l, ConvParams c) => (long)l.InC * c.KernelH * c.KernelW * l.OutH * l.OutW;

    public override void WriteGpuAllocate(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind != LayerKind.Conv2D)
        {
            g.WritePrepare("PrepareConvDirect", GpuGeometry(g), biasGradient: false); // the bias is on the output map, below
            if (l.HasBias) g.WritePrepareMap(g.MapGeometry(l.OutC, l.OutH, l.OutW), "Bias");
            return;
        }
        g.WritePrepare("PrepareConvGemm", GpuGeometry(g), l.HasBias && !l.Frozen);
        long cols = Columns(l, (ConvParams)l.Params);
        g.W.Line($"_cols{g.M} = Allocate((long)maxBatch * {cols});");
        g.W.Line($"_dcols{g.M} = Allocate((long)maxBatch * {cols});");
    }

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Conv2D)
        {
            g.W.Line($"ConvForwardGemm<{GpuGeometry(g)}>({g.X}, {g.Weight}, {g.Bias}, {(l.HasBias ? "true" : "false")}, {g.Y}, V(_cols{g.M}), batch{g.FusedArgument}); // im2col + tiled GEMM{g.FusedComment}");
            return;
        }
        g.W.Line($"ConvBackwardData<{GpuGeometry(g)}>({g.X}, {g.Weight}, {g.Y}, batch); // the adjoint of the convolution");
        if (l.HasBias) g.W.Line($"BiasAdd<{g.MapGeometry(l.OutC, l.OutH, l.OutW)}>({g.Y}, {g.Bias}, batch);");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Conv2D)
        {
            string dx = l.InputLayer < 0 ? "ComputeInputGradient" : "true";
            g.W.Line($"ConvBackwardGemm<{GpuGeometry(g)}>({g.Weight}, {g.Dy}, {g.DWeight}, {(l.HasBias ? g.DBias : g.DWeight)}, {(l.HasBias ? "true" : "false")}, V(_cols{g.M}), V(_dcols{g.M}), {g.Dx}, parameters: {(l.Frozen ? "false" : "true")}, inputGradient: {dx}, batch);");
            return;
        }
        // Transposed: the weight gradient of the convolution from dy to x, the data gradient is that convolution's forward.
        g.WriteParameterGradient($"ConvBackwardWeight<{GpuGeometry(g)}>({g.Dy}, {g.X}, {g.DWeight}, batch);");
        if (l.HasBias) g.WriteParameterGradient($"BiasBackward<{g.MapGeometry(l.OutC, l.OutH, l.OutW)}>({g.Dy}, {g.DBias}, batch);");
        g.WriteDx(0, $"ConvForward<{GpuGeometry(g)}>({g.Dy}, {g.Weight}, {g.Weight}, false, {g.Dx}, batch);");
    }
}
