using System.Collections.Generic;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>
/// Batch normalization (after a convolution: per channel; after a dense layer: per feature; PyTorch semantics: training
/// normalizes with the batch's biased variance and updates the running averages with the unbiased one) and local response
/// normalization across channels (PyTorch's formula: alpha divided by the size) or within each channel over a size×size
/// neighbourhood (Caffe's WITHIN_CHANNEL: alpha divided by size²; no PyTorch op). Batch norm needs whole-batch statistics,
/// so the CPU drivers run its <c>Statistics</c> and <c>BackwardReduce</c> between phases.
/// </summary>
internal sealed class NormalizationFamily : LayerFamily
{
    public override string Name => "Normalization";
    public override IReadOnlyList<LayerKind> Kinds { get; } = new[] { LayerKind.BatchNorm, LayerKind.LocalResponseNorm };
    public override string Prefix(LayerKind kind) => kind == LayerKind.BatchNorm ? "bn" : "lrn";

    public override ShapedLayer? Infer(LayerContext ctx)
    {
        if (ctx.Layer.Kind == LayerKind.LocalResponseNorm)
        {
            int size = ctx.Int("size", 5, 1, "at least 1");
            double alpha = ctx.Real("Alpha", 1e-4, 0, 1e6, "at least 0", upperInclusive: true);
            double beta = ctx.Real("Beta", 0.75, 0, 1e6, "at least 0", upperInclusive: true);
            double k = ctx.Real("K", 1.0, 1e-30, 1e6, "greater than 0", upperInclusive: true);
            bool within = ctx.Bool("WithinChannel", false);
            return ctx.Failed ? null : ctx.SameShape(new LrnParams(size, alpha, beta, k, within));
        }
        double momentum = ctx.Real("Momentum", 0.1, 0, 1, "in [0, 1]", upperInclusive: true);
        double eps = ctx.Real("Epsilon", 1e-5, 1e-30, 1, "in (0, 1]", upperInclusive: true);
        if (ctx.Failed) return null;
        int c = ctx.Input.C;
        var l = ctx.WithParameters(ctx.SameShape(new BatchNormParams(momentum, eps)), new[] { c }, new[] { c }, 0);
        return l is null ? null : ctx.WithBuffers(l, 2 * c);
    }

    public override void WriteInitialize(CpuLayer e)
    {
        var l = e.Layer;
        if (l.Kind != LayerKind.BatchNorm) return;
        e.W.Line($"{e.M}Weight.Fill(1f); // gamma");
        e.W.Line($"{e.M}Bias.Clear(); // beta");
        e.W.Line($"_buffers.AsSpan({l.BufferOffset}, {l.OutC}).Clear(); // {l.Name}.running_mean");
        e.W.Line($"_buffers.AsSpan({l.BufferOffset + l.OutC}, {l.OutC}).Fill(1f); // {l.Name}.running_var");
    }

    public override bool NeedsWholeBatch(ShapedLayer l) => l.Kind == LayerKind.BatchNorm;

    public override string Describe(ShapedLayer l) => l.Params is LrnParams { WithinChannel: true } lrn
        ? $"LocalResponseNorm {lrn.Size}×{lrn.Size} within channel"
        : l.Kind.ToString();

    public override void DeclareWorkspace(CpuLayer e)
    {
        var l = e.Layer;
        string m = e.M;
        if (l.Kind == LayerKind.LocalResponseNorm)
        {
            e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer _scale{m};  // {e.OutShape} k + (α/n)·Σ a²");
            return;
        }
        e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer _xhat{m};  // {e.OutShape} normalized input x̂");
        e.W.Line($"private readonly float[] _mean{m} = new float[{l.OutC}], _invStd{m} = new float[{l.OutC}]; // statistics in use");
        e.W.Line($"private readonly float[] _sumDy{m} = new float[{l.OutC}], _sumDyXhat{m} = new float[{l.OutC}]; // backward sums");
    }

    public override void AllocateWorkspace(CpuLayer e) =>
        e.W.Line(e.Layer.Kind == LayerKind.LocalResponseNorm ? $"_scale{e.M} = new(maxBatch * {e.Layer.OutSize});" : $"_xhat{e.M} = new(maxBatch * {e.Layer.OutSize});");

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        string m = e.M;
        int c = l.InC, hw = l.InH * l.InW;
        if (l.Params is LrnParams lrn)
        {
            e.Header("forward");
            w.Line(lrn.WithinChannel
                ? $"// b = a / (k + (α/{lrn.Size * lrn.Size})·Σ a²)^β over rows r−{lrn.Size / 2}..r+{(lrn.Size - 1) / 2} and columns alike, in the same channel; outside the map counts as zero."
                : $"// b_c = a_c / (k + (α/n)·Σ_{{c' = c−{lrn.Size / 2}..c+{(lrn.Size - 1) / 2}}} a_c'²)^β; channels outside [0, {c}) count as zero.");
            w.Open($"private void {m}Forward(int n0, int n1)");
            e.Range("x", e.X, l.InSize, true);
            e.Range("y", e.Y, l.OutSize, false);
            e.Range("scale", "_scale" + m, l.OutSize, false);
            w.Line($"{Rt}.Kernels.Normalization.{Lrn(lrn)}Forward(x, y, scale, n1 - n0, {LrnDims(lrn, c, l.InH, l.InW)}, size: {lrn.Size}, alpha: {R(lrn.Alpha)}, beta: {R(lrn.Beta)}, k: {R(lrn.K)});");
            w.Close();
            w.Line();
            return;
        }
        var bn = (BatchNormParams)l.Params;
        w.Line($"/// <summary>{l.Name} statistics: training uses the batch's mean and biased variance over N·{hw} values per channel and");
        w.Line("/// updates the running averages (unbiased variance, PyTorch's momentum convention); inference uses the running ones.</summary>");
        w.Open($"private void {m}Statistics()");
        w.Line($"{Span} runningMean = _buffers.AsSpan({l.BufferOffset}, {c});");
        w.Line($"{Span} runningVar = _buffers.AsSpan({l.BufferOffset + c}, {c});");
        w.Open("if (!_training)");
        w.Line($"{Rt}.Kernels.Normalization.BatchNormEvalStatistics(runningMean, runningVar, epsilon: {F(bn.Epsilon)}, _mean{m}, _invStd{m});");
        w.Line("return;");
        w.Close();
        w.Line($"if ((long)_batch * {hw} < 2) throw new global::System.InvalidOperationException(\"{e.Cls}.{l.Name}: batch normalization in training mode needs more than one value per channel; got batch \" + _batch + \" of {l.InH}×{l.InW}.\");");
        w.Line($"{Rt}.Kernels.Normalization.BatchNormTrainingStatistics({e.X}.AsSpan(0, _batch * {l.InSize}), _batch, {c}, {hw}, momentum: {F(bn.Momentum)}, epsilon: {F(bn.Epsilon)}, _mean{m}, _invStd{m}, runningMean, runningVar);");
        w.Close();
        w.Line();
        e.Header("forward");
        w.Open($"private void {m}Forward(int n0, int n1)");
        e.Range("x", e.X, l.InSize, true);
        e.Range("y", e.Y, l.OutSize, false);
        e.Range("xhat", "_xhat" + m, l.OutSize, false);
        w.Line($"// x̂ = (x − mean)·invStd, y = γ·x̂ + β per channel");
        w.Line($"{Rt}.Kernels.Normalization.BatchNormForward(x, y, xhat, _mean{m}, _invStd{m}, _parameters.AsSpan({l.WeightOffset}, {c}), _parameters.AsSpan({l.BiasOffset}, {c}), n1 - n0, {c}, {hw});");
        w.Close();
        w.Line();
    }

    public override void WriteBackward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        string m = e.M;
        int c = l.InC, hw = l.InH * l.InW;
        if (l.Params is LrnParams lrn)
        {
            e.Header("backward");
            w.Open($"private void {m}Backward(int n0, int n1)");
            e.Range("x", e.X, l.InSize, true);
            e.Range("dy", e.Dy, l.OutSize, true);
            e.Range("scale", "_scale" + m, l.OutSize, true);
            e.Range("dx", e.Dx, l.InSize, false);
            w.Line($"{Rt}.Kernels.Normalization.{Lrn(lrn)}Backward(x, dy, scale, dx, n1 - n0, {LrnDims(lrn, c, l.InH, l.InW)}, size: {lrn.Size}, alpha: {R(lrn.Alpha)}, beta: {R(lrn.Beta)}, accumulate: false);");
            w.Close();
            w.Line();
            return;
        }
        w.Line($"/// <summary>{l.Name}: Σdy and Σdy·x̂ per channel over the batch; they are also the gradients of beta and gamma.</summary>");
        w.Open($"private void {m}BackwardReduce()");
        w.Line($"{Rt}.Kernels.Normalization.BatchNormBackwardReduce({e.Dy}.AsSpan(0, _batch * {l.OutSize}), _xhat{m}.AsSpan(0, _batch * {l.OutSize}), _batch, {c}, {hw}, _sumDy{m}, _sumDyXhat{m}, _gradients.AsSpan({l.WeightOffset}, {c}), _gradients.AsSpan({l.BiasOffset}, {c}));");
        w.Close();
        w.Line();
        e.Header("backward");
        w.Line("// Training: through the batch statistics, dx = γ·invStd/M·(M·dy − Σdy − x̂·Σdy·x̂). Inference: dx = γ·invStd·dy.");
        w.Open($"private void {m}Backward(int n0, int n1)");
        e.Range("dy", e.Dy, l.OutSize, true);
        e.Range("xhat", "_xhat" + m, l.OutSize, true);
        e.Range("dx", e.Dx, l.InSize, false);
        w.Line($"{Rt}.Kernels.Normalization.BatchNormBackward(dy, xhat, _parameters.AsSpan({l.WeightOffset}, {c}), _invStd{m}, _sumDy{m}, _sumDyXhat{m}, dx, n1 - n0, {c}, {hw}, _batch, _training, accumulate: false);");
        w.Close();
        w.Line();
    }

    /// <summary>The LRN kernels' stem: across channels (Lrn) or within each channel's map (LrnWithin).</summary>
    private static string Lrn(LrnParams lrn) => lrn.WithinChannel ? "LrnWithin" : "Lrn";

    /// <summary>The LRN kernels' shape arguments: channels and the map's rows and columns within a channel, channels and
    /// positions across them.</summary>
    private static string LrnDims(LrnParams lrn, int c, int h, int w) => lrn.WithinChannel ? $"{c}, {h}, {w}" : $"{c}, {h * w}";

    /// <summary>A double literal that round-trips.</summary>
    private static string R(double v) => v.ToString("R", System.Globalization.CultureInfo.InvariantCulture) + (v == System.Math.Floor(v) && System.Math.Abs(v) < 1e15 ? ".0" : "");

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    private const string FloatBuffer = "global::ILGPU.Runtime.MemoryBuffer1D<float, global::ILGPU.Stride1D.Dense>";

    public override void WriteGpuWorkspace(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Kind == LayerKind.BatchNorm)
        {
            g.W.Line($"private readonly {FloatBuffer} _stats{g.M}; // [4, {l.OutC}] mean | invStd | ΣDy | ΣDy·xhat");
            g.W.Line($"private readonly {FloatBuffer} _xhat{g.M}; // [N, {l.OutSize}] the normalized input");
        }
        else g.W.Line($"private readonly {FloatBuffer} _scale{g.M}; // [N, {l.OutSize}] k + α/size·Σx² over each window");
    }

    /// <summary>The normalized map's struct of constants.</summary>
    private static string GpuMap(GpuLayer g) => g.MapGeometry(g.Layer.OutC, g.Layer.OutH, g.Layer.OutW);

    public override void WriteGpuAllocate(GpuLayer g)
    {
        var l = g.Layer;
        g.WritePrepareMap(GpuMap(g), l.Params is LrnParams lrn ? (lrn.WithinChannel ? "LrnWithinChannel" : "Lrn") : "BatchNorm");
        if (l.Kind == LayerKind.BatchNorm)
        {
            g.W.Line($"_stats{g.M} = Allocate({4 * l.OutC});");
            g.W.Line($"_xhat{g.M} = Allocate((long)maxBatch * {l.OutSize});");
        }
        else g.W.Line($"_scale{g.M} = Allocate((long)maxBatch * {l.OutSize});");
    }

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Params is LrnParams lrn)
        {
            g.W.Line($"{Lrn(lrn)}Forward<{GpuMap(g)}>({g.X}, {g.Y}, V(_scale{g.M}), {lrn.Size}, {R(lrn.Alpha)}, {R(lrn.Beta)}, {R(lrn.K)}, batch);");
            return;
        }
        var bn = (BatchNormParams)l.Params;
        g.W.Line($"BatchNormForward<{GpuMap(g)}>({g.X}, {g.Y}, V(_xhat{g.M}), V(_stats{g.M}), V(StateBuffer, {l.BufferOffset}, {2 * l.OutC}), {g.Weight}, {g.Bias}, {GpuLayer.F(bn.Momentum)}, {GpuLayer.F(bn.Epsilon)}, training, batch);");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        if (l.Params is LrnParams lrn)
        {
            g.WriteDx(0, $"{Lrn(lrn)}Backward<{GpuMap(g)}>({g.X}, {g.Dy}, V(_scale{g.M}), {g.Dx}, {lrn.Size}, {R(lrn.Alpha)}, {R(lrn.Beta)}, batch);");
            return;
        }
        string dx = l.InputLayer < 0 ? "ComputeInputGradient" : "true";
        g.W.Line($"BatchNormBackward<{GpuMap(g)}>({g.Dy}, V(_xhat{g.M}), V(_stats{g.M}), {g.Weight}, {g.DWeight}, {g.DBias}, {g.Dx}, training, addParameters: {(l.Frozen ? "false" : "true")}, inputGradient: {dx}, batch);");
    }
}
