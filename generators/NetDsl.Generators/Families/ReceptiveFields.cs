using System;
using System.Globalization;
using NetDsl.Generators.Inference;

namespace NetDsl.Generators.Families;

/// <summary>
/// The theoretical receptive field of every layer: how many input rows and columns one output position can depend on.
/// Along the graph, a window of k taps, dilation d, adds (k − 1)·d·jump to the field and multiplies the jump (the
/// input-pixel distance between neighbouring positions) by its stride; a transposed convolution divides the jump by its
/// stride and adds (⌈k / s⌉ − 1) taps of the input's jump; a join takes the largest field of its inputs; dense, maxout and
/// global pooling see the whole input. Fields are not clipped to the image (padding counts).
/// </summary>
internal static class ReceptiveFields
{
    public static (double H, double W)[] Compute(ShapedNetwork net)
    {
        int n = net.Layers.Count;
        var field = new (double H, double W)[n];
        var jump = new (double H, double W)[n];
        (double, double) FieldOf(int i) => i < 0 ? (1, 1) : field[i];
        (double, double) JumpOf(int i) => i < 0 ? (1, 1) : jump[i];
        foreach (var l in net.Layers)
        {
            var family = LayerFamilies.For(l);
            var (fh, fw) = FieldOf(l.InputLayer);
            var (jh, jw) = JumpOf(l.InputLayer);
            foreach (int s in l.Inputs)
            {
                var (h, w) = FieldOf(s);
                fh = Math.Max(fh, h); fw = Math.Max(fw, w);
                var (a, b) = JumpOf(s);
                jh = Math.Max(jh, a); jw = Math.Max(jw, b);
            }
            if (family.SeesWholeInput(l))
            {
                // Every output sees every position of the input map, so the field is the input's extent in image pixels.
                fh += (l.InH - 1) * jh; fw += (l.InW - 1) * jw;
            }
            else if (family.Window(l) is { } win)
            {
                if (win.Transposed)
                {
                    fh += (Math.Ceiling((double)win.KernelH / win.StrideH) - 1) * jh;
                    fw += (Math.Ceiling((double)win.KernelW / win.StrideW) - 1) * jw;
                    jh /= win.StrideH; jw /= win.StrideW;
                }
                else
                {
                    fh += (win.KernelH - 1) * win.Dilation * jh; fw += (win.KernelW - 1) * win.Dilation * jw;
                    jh *= win.StrideH; jw *= win.StrideW;
                }
            }
            field[l.Index] = (fh, fw);
            jump[l.Index] = (jh, jw);
        }
        return field;
    }

    /// <summary>"5×5" (fractions, which only transposed convolutions give, to one decimal).</summary>
    public static string Text((double H, double W) f) => $"{Number(f.H)}×{Number(f.W)}";

    private static string Number(double v) =>
        Math.Abs(v - Math.Round(v)) < 1e-9 ? Math.Round(v).ToString(CultureInfo.InvariantCulture) : v.ToString("0.0", CultureInfo.InvariantCulture);
}
