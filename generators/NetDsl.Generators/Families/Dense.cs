using System.Collections.Generic;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>Dense (fully connected, weight [units, in]; flattens (C, H, W) row-major) and Flatten.
/// CPU: the forward pass is <c>Gemm.Nt</c> (x · weightᵀ), the backward pass two packed GEMMs (dyᵀ · x and dy · weight).
/// With <c>DropConnect = p</c> (Wan et al. 2013), a training forward draws one mask over the weights for the whole batch
/// (0 with probability p, else 1/(1−p); each element's draw depends only on (seed, step, layer, index), like dropout's) and
/// uses mask ⊙ weight; the weight gradient is mask ⊙ (dyᵀ · x) over the whole batch. So the layer runs a serial step
/// before its forward (the masked weight) and before its backward (the masked weight gradient). Inference uses the weight
/// as it is.</summary>
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
        double dropConnect = ctx.Real("DropConnect", 0, 0, 1, "in [0, 1)", upperInclusive: false);
        if (ctx.Failed) return null;
        int inSize = (int)input.Size;
        long wc = (long)units * inSize;
        if (wc > int.MaxValue / 2)
        {
            ctx.Report(DiagnosticIds.InvalidArgument, "units", "small enough that the weight fits in memory", $"{LayerContext.S(units)} × {LayerContext.S(inSize)} = {LayerContext.S(wc)} weights");
            return null;
        }
        return ctx.WithParameters(ctx.Shaped(units, 1, 1, new DenseParams(bias, dropConnect)), new[] { units, inSize }, bias ? new[] { units } : null, init);
    }

    public override string Describe(ShapedLayer l) => l.Params is DenseParams { DropConnect: > 0 } d
        ? $"Dense, DropConnect {d.DropConnect.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}"
        : l.Kind.ToString();

    // DropConnect's training gradient is added in a serial BackwardReduce instead.
    public override bool OverwritesWeightGradient(ShapedLayer l) => l.Kind == LayerKind.Dense && DropConnect(l) <= 0;

    private static double DropConnect(ShapedLayer l) => l.Params is DenseParams d ? d.DropConnect : 0;

    /// <summary>DropConnect's mask is one per batch: drawn, and the weight gradient masked, in serial steps around the
    /// per-sample passes.</summary>
    public override bool NeedsWholeBatch(ShapedLayer l) => DropConnect(l) > 0;

    public override void DeclareWorkspace(CpuLayer e)
    {
        var l = e.Layer;
        if (CpuPlan.SplitsDenseOneSample(l))
            e.W.Line($"private readonly global::System.Action<int> _forwardUnits{e.M}; // {e.M}ForwardUnits, cached: a call allocates nothing");
        if (DropConnect(l) <= 0) return;
        e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer _dropConnectMask{e.M} = new({l.WeightCount});  // [{l.OutC}, {l.InSize}] 0 or 1/(1−p), one draw per training step");
        e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer _maskedWeight{e.M} = new({l.WeightCount});  // [{l.OutC}, {l.InSize}] mask ⊙ weight, what training uses");
        e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer _maskedWeightGradient{e.M} = new({l.WeightCount});  // [{l.OutC}, {l.InSize}] dyᵀ · x over the batch, before masking");
    }

    public override CpuCall ForwardCall(ShapedLayer l, CpuPlan plan) => CpuCall.Rows;
    public override CpuCall BackwardCall(ShapedLayer l) => l.Kind == LayerKind.Dense ? CpuCall.Full : CpuCall.Rows;

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        double p = DropConnect(l);
        if (p > 0)
        {
            w.Line($"/// <summary>{l.Name} DropConnect: in training, draws the step's mask over the weight (unless HoldDropoutMasks) and masks the weight.</summary>");
            w.Open($"private void {e.M}Statistics()");
            w.Line("if (!_training) return; // inference: the weight as it is");
            w.Line($"const float p = {F(p)};");
            w.Line("const float scale = 1f / (1f - p);");
            w.Line($"if (!HoldDropoutMasks) {Rt}.Kernels.Vec.DropoutMask(_dropoutKey ^ ({I(l.Index + 1)}UL << 56) ^ _dropoutStep, 0, p, scale, _dropConnectMask{e.M});");
            w.Line($"{Rt}.Kernels.Vec.Multiply(_parameters.AsSpan({l.WeightOffset}, {l.WeightCount}), _dropConnectMask{e.M}, _maskedWeight{e.M});");
            w.Close();
            w.Line();
        }
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
            if (CpuPlan.SplitsDenseOneSample(l))
            {
                e.SplitOneSample($"a share of the {l.OutC} units", "ForwardUnits");
            }
            w.Line("int rows = n1 - n0;");
            w.Line($"{RoSpan} x = {e.X}.AsSpan(n0 * {l.InSize}, rows * {l.InSize}); // [rows, {l.InSize}]" + (l.InH * l.InW > 1 ? $", ({l.InC},{l.InH},{l.InW}) flattened row-major" : ""));
            w.Line($"{Span} y = {e.Y}.AsSpan(n0 * {l.OutC}, rows * {l.OutC}); // [rows, {l.OutC}]");
            if (DropConnect(l) > 0)
                w.Line($"{RoSpan} weight = _training ? _maskedWeight{e.M} : _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InSize}], masked in training");
            else
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
        if (!CpuPlan.SplitsDenseOneSample(l)) return;
        w.Line($"/// <summary>{l.Name} forward for a batch of one sample: this worker's units, in whole groups of 4 (the dot-product");
        w.Line("/// kernel's tile), so every output is the same sum as in the whole layer.</summary>");
        w.Open($"private void {e.M}ForwardUnits(int worker)");
        w.Line($"var (q0, q1) = {Rt}.Kernels.WorkerPool.Share({(l.OutC + 3) / 4}, worker, _workers.Workers);");
        w.Line($"int u0 = 4 * q0, u1 = global::System.Math.Min({l.OutC}, 4 * q1);");
        w.Line("if (u0 >= u1) return;");
        w.Line($"{Span} y = {e.Y}.AsSpan(u0, u1 - u0);");
        w.Line($"{Rt}.Kernels.Gemm.Nt(1, u1 - u0, {l.InSize}, {e.X}.AsSpan(0, {l.InSize}), {l.InSize}, _parameters.AsSpan({l.WeightOffset} + u0 * {l.InSize}, (u1 - u0) * {l.InSize}), {l.InSize}, y, u1 - u0, accumulate: false);");
        if (l.HasBias) w.Line($"{Rt}.Kernels.Vec.Add(y, _parameters.AsSpan({l.BiasOffset} + u0, u1 - u0));");
        w.Close();
        w.Line();
    }

    public override void AllocateWorkspace(CpuLayer e)
    {
        if (CpuPlan.SplitsDenseOneSample(e.Layer)) e.W.Line($"_forwardUnits{e.M} = {e.M}ForwardUnits;");
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        if (l.Kind == LayerKind.Flatten)
        {
            e.Header("backward");
            w.Open($"private void {e.M}Backward(int n0, int n1)");
            e.Range("dy", e.Dy, l.OutSize, true);
            e.Range("dx", e.Dx, l.InSize, false);
            w.Line("dy.CopyTo(dx);");
            w.Close();
            w.Line();
            return;
        }
        bool dropConnect = DropConnect(l) > 0;
        if (dropConnect)
        {
            w.Line($"/// <summary>{l.Name} DropConnect, training: dWeight += mask ⊙ (dyᵀ · x) over the whole batch (the per-sample pass then skips it).</summary>");
            w.Open($"private void {e.M}BackwardReduce()");
            w.Line("if (!_training) return; // inference: the per-sample pass adds dyᵀ · x as for a plain dense layer");
            w.Line($"{Span} packedDy = _packedGradients[0]; // no worker runs during this serial step");
            w.Line($"{Rt}.Kernels.PackedGemm.PackA({l.OutC}, _batch, {e.Dy}.AsSpan(0, _batch * {l.OutC}), 1, {l.OutC}, packedDy);");
            w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, {l.InSize}, _batch, packedDy, {e.X}.AsSpan(0, _batch * {l.InSize}), {l.InSize}, _maskedWeightGradient{e.M}, {l.InSize}, accumulate: false);");
            w.Line($"{Rt}.Kernels.Vec.Multiply(_maskedWeightGradient{e.M}, _dropConnectMask{e.M}, _maskedWeightGradient{e.M});");
            w.Line($"{Rt}.Kernels.Vec.Add(_gradients.AsSpan({l.WeightOffset}, {l.WeightCount}), _maskedWeightGradient{e.M});");
            w.Close();
            w.Line();
        }
        e.Header("backward");
        w.Open($"private void {e.M}Backward(int n0, int n1, int worker, {Rt}.Kernels.AlignedBuffer grad, bool inputGradient)");
        w.Line("int rows = n1 - n0;");
        w.Line($"{RoSpan} x = {e.X}.AsSpan(n0 * {l.InSize}, rows * {l.InSize}); // [rows, {l.InSize}]");
        w.Line($"{RoSpan} dy = {e.Dy}.AsSpan(n0 * {l.OutC}, rows * {l.OutC}); // [rows, {l.OutC}]");
        if (dropConnect)
            w.Line($"{RoSpan} weight = _training ? _maskedWeight{e.M} : _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InSize}], masked in training");
        else
            w.Line($"{RoSpan} weight = _parameters.AsSpan({l.WeightOffset}, {l.WeightCount}); // [{l.OutC}, {l.InSize}]");
        w.Line($"{Span} packedDy = _packedGradients[worker];");
        if (dropConnect)
            w.Line($"// dWeight[{l.OutC}, {l.InSize}] += dyᵀ · x (training: masked, in BackwardReduce)");
        else
            w.Line($"// dWeight[{l.OutC}, {l.InSize}] += dyᵀ · x; stored, not added, where the slice's gradient starts at zero (the drivers leave this range uncleared)");
        if (dropConnect) w.Open("if (!_training)");
        w.Line($"{Rt}.Kernels.PackedGemm.PackA({l.OutC}, rows, dy, 1, {l.OutC}, packedDy);");
        string accumulate = OverwritesWeightGradient(l) ? "grad == _gradients && !_overwriteGradients" : "true";
        w.Line($"{Rt}.Kernels.PackedGemm.Mul({l.OutC}, {l.InSize}, rows, packedDy, x, {l.InSize}, grad.AsSpan({l.WeightOffset}, {l.WeightCount}), {l.InSize}, accumulate: {accumulate});");
        if (dropConnect) w.Close();
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

    public override bool GpuFusesActivation(ShapedLayer l) => l.Kind == LayerKind.Dense;

    private const string FloatBuffer = "global::ILGPU.Runtime.MemoryBuffer1D<float, global::ILGPU.Stride1D.Dense>";

    public override void WriteGpuWorkspace(GpuLayer g)
    {
        var l = g.Layer;
        if (DropConnect(l) <= 0) return;
        g.W.Line($"private readonly {FloatBuffer} _dropConnectMask{g.M}, _maskedWeight{g.M}, _maskedWeightGradient{g.M}; // [{l.OutC}, {l.InSize}] DropConnect's mask, mask ⊙ weight, dyᵀ·x");
    }

    public override void WriteGpuAllocate(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Flatten) return;
        g.WritePrepare("PrepareDense", g.DenseGeometry(l.InSize, l.OutC), l.HasBias && !l.Frozen);
        if (DropConnect(l) <= 0) return;
        g.W.Line($"_dropConnectMask{g.M} = Allocate({l.WeightCount});");
        g.W.Line($"_maskedWeight{g.M} = Allocate({l.WeightCount});");
        g.W.Line($"_maskedWeightGradient{g.M} = Allocate({l.WeightCount});");
    }

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Flatten) { g.W.Line($"Copy({g.X}, {g.Y}, {GpuLayer.Count(l.OutSize)});"); return; }
        double p = DropConnect(l);
        if (p > 0)
        {
            g.W.Line("// DropConnect: the CPU network's counter-based draw over the weight (key, layer, step, index): the same mask.");
            g.W.Line($"if (training) Dropout({g.Weight}, V(_maskedWeight{g.M}), V(_dropConnectMask{g.M}), {l.Index}, {GpuLayer.F(p)}, 1f / (1f - {GpuLayer.F(p)}), {l.WeightCount});");
            g.W.Line($"DenseForward<{g.DenseGeometry(l.InSize, l.OutC)}>({g.X}, training ? V(_maskedWeight{g.M}) : {g.Weight}, {g.Bias}, {(l.HasBias ? "true" : "false")}, {g.Y}, batch{g.FusedArgument}); // mask ⊙ W in training{g.FusedComment}");
            return;
        }
        g.W.Line($"DenseForward<{g.DenseGeometry(l.InSize, l.OutC)}>({g.X}, {g.Weight}, {g.Bias}, {(l.HasBias ? "true" : "false")}, {g.Y}, batch{g.FusedArgument}); // x·Wᵀ on the tiled GEMM{g.FusedComment}");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.Flatten) { g.WriteDx(0, $"Copy({g.Dy}, {g.Dx}, {GpuLayer.Count(l.OutSize)});"); return; }
        string dx = l.InputLayer < 0 ? "ComputeInputGradient" : "true";
        if (DropConnect(l) > 0)
        {
            // Training: dW += mask ⊙ (dyᵀ·x), through a zeroed scratch; dx = dy·(mask ⊙ W).
            g.W.Open("if (training)");
            g.W.Line($"Zero(_maskedWeightGradient{g.M});");
            g.W.Line($"DenseBackward<{g.DenseGeometry(l.InSize, l.OutC)}>({g.X}, V(_maskedWeight{g.M}), {g.Dy}, V(_maskedWeightGradient{g.M}), {(l.HasBias ? g.DBias : g.DWeight)}, {(l.HasBias ? "true" : "false")}, {g.Dx}, parameters: {(l.Frozen ? "false" : "true")}, inputGradient: {dx}, batch);");
            if (!l.Frozen)
            {
                g.W.Line($"Multiply(V(_maskedWeightGradient{g.M}), V(_dropConnectMask{g.M}), V(_maskedWeightGradient{g.M}), {l.WeightCount});");
                g.W.Line($"AddInto(V(_maskedWeightGradient{g.M}), {g.DWeight}, {l.WeightCount});");
            }
            g.W.Close();
            g.W.Open("else");
            g.W.Line($"DenseBackward<{g.DenseGeometry(l.InSize, l.OutC)}>({g.X}, {g.Weight}, {g.Dy}, {g.DWeight}, {(l.HasBias ? g.DBias : g.DWeight)}, {(l.HasBias ? "true" : "false")}, {g.Dx}, parameters: {(l.Frozen ? "false" : "true")}, inputGradient: {dx}, batch);");
            g.W.Close();
            return;
        }
        g.W.Line($"DenseBackward<{g.DenseGeometry(l.InSize, l.OutC)}>({g.X}, {g.Weight}, {g.Dy}, {g.DWeight}, {(l.HasBias ? g.DBias : g.DWeight)}, {(l.HasBias ? "true" : "false")}, {g.Dx}, parameters: {(l.Frozen ? "false" : "true")}, inputGradient: {dx}, batch);");
    }
}
