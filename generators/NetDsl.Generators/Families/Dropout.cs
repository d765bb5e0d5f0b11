using System.Collections.Generic;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;
using static NetDsl.Generators.Emit.CpuLayer;

namespace NetDsl.Generators.Families;

/// <summary>Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1−p) (the
/// scale computed in float32, as PyTorch); identity in inference. Each element's draw depends only on (seed, step, layer,
/// index), so the mask is the same for any worker count.</summary>
internal sealed class DropoutFamily : LayerFamily
{
    public override string Name => "Dropout";
    public override IReadOnlyList<LayerKind> Kinds { get; } = new[] { LayerKind.Dropout };
    public override string Prefix(LayerKind kind) => "dropout";
    public override string Describe(ShapedLayer l) => $"Dropout {((ScalarParams)l.Params).Value.ToString("R", System.Globalization.CultureInfo.InvariantCulture)}";

    public override ShapedLayer? Infer(LayerContext ctx)
    {
        double p = ctx.Real("p", 0.5, 0, 1, "in [0, 1)", upperInclusive: false);
        return ctx.Failed ? null : ctx.SameShape(new ScalarParams(p));
    }

    public override void DeclareWorkspace(CpuLayer e) => e.W.Line($"private readonly {Rt}.Kernels.AlignedBuffer _mask{e.M};  // {e.OutShape} 0 or 1/(1−p)");
    public override void AllocateWorkspace(CpuLayer e) => e.W.Line($"_mask{e.M} = new(maxBatch * {e.Layer.OutSize});");

    public override void WriteForward(CpuLayer e)
    {
        var l = e.Layer;
        var w = e.W;
        int size = l.OutSize;
        e.Header("forward");
        w.Open($"private void {e.M}Forward(int n0, int n1)");
        e.Range("x", e.X, size, true);
        e.Range("y", e.Y, size, false);
        w.Open("if (!_training)");
        w.Line("x.CopyTo(y); // inference: identity");
        w.Line("return;");
        w.Close();
        w.Line($"// Inverted dropout. The scale 1/(1−p) is computed in float32, as PyTorch does.");
        w.Line($"const float p = {F(((ScalarParams)l.Params).Value)};");
        w.Line("const float scale = 1f / (1f - p);");
        e.Range("mask", "_mask" + e.M, size, false);
        w.Line("// Each element's draw depends only on (seed, step, layer, index): the same mask for any worker count.");
        w.Line($"if (!HoldDropoutMasks) {Rt}.Kernels.Vec.DropoutMask(_dropoutKey ^ ({I(l.Index + 1)}UL << 56) ^ _dropoutStep, (ulong)n0 * {size}, p, scale, mask);");
        w.Line($"{Rt}.Kernels.Vec.Multiply(x, mask, y);");
        w.Close();
        w.Line();
    }

    public override void WriteBackward(CpuLayer e)
    {
        var w = e.W;
        int size = e.Layer.OutSize;
        e.Header("backward");
        w.Open($"private void {e.M}Backward(int n0, int n1)");
        e.Range("dy", e.Dy, size, true);
        e.Range("dx", e.Dx, size, false);
        w.Line("if (!_training) { dy.CopyTo(dx); return; } // inference: identity");
        e.Range("mask", "_mask" + e.M, size, true);
        w.Line($"{Rt}.Kernels.Vec.Multiply(dy, mask, dx);");
        w.Close();
        w.Line();
    }

    // ------------------------------------------------------------------ GPU

    public override bool HasGpu(ShapedLayer l) => true;

    public override void WriteGpuWorkspace(GpuLayer g) =>
        g.W.Line($"private readonly global::ILGPU.Runtime.MemoryBuffer1D<float, global::ILGPU.Stride1D.Dense> _mask{g.M}; // [N, {g.Layer.OutSize}] 0 or 1/(1−p)");

    public override void WriteGpuAllocate(GpuLayer g) => g.W.Line($"_mask{g.M} = Allocate((long)maxBatch * {g.Layer.OutSize});");

    public override void WriteGpuForward(GpuLayer g)
    {
        var l = g.Layer;
        float p = (float)((ScalarParams)l.Params).Value;
        g.W.Line($"// The CPU network's counter-based draw (key, layer, step, index): the same masks.");
        g.W.Line($"if (training) Dropout({g.X}, {g.Y}, V(_mask{g.M}), {l.Index}, {GpuLayer.F(p)}, 1f / (1f - {GpuLayer.F(p)}), {GpuLayer.Count(l.OutSize)});");
        g.W.Line($"else Copy({g.X}, {g.Y}, {GpuLayer.Count(l.OutSize)});");
    }

    public override void WriteGpuBackward(GpuLayer g)
    {
        var l = g.Layer;
        g.WriteDx(0, $"{{ if (training) Multiply({g.Dy}, V(_mask{g.M}), {g.Dx}, {GpuLayer.Count(l.OutSize)}); else Copy({g.Dy}, {g.Dx}, {GpuLayer.Count(l.OutSize)}); }}");
    }
}
