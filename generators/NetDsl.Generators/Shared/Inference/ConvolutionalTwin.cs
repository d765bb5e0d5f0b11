using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Families;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Inference;

// [Network(C, H, W, ConvolutionalOf = typeof(X))]: the fully convolutional twin of X for a larger input (the notes' FC ↔ CNN
// equivalence). The twin's layers are X's, with every dense layer rewritten as a convolution over what it read: the first
// dense after a C×h×w map becomes Conv2D(units, h×w), later ones 1×1; a Flatten disappears. The weights keep their names,
// order and float layout, so X's trained parameters load into the twin as they are.
internal static partial class ShapeInference
{
    private const string TwinArg = "ConvolutionalOf";

    private static ShapedNetwork? InferTwin(NetworkSpec spec, int inC, int inH, int inW, List<Problem> problems)
    {
        string original = spec.Original?.ClassName ?? spec.OriginalTypeName!;
        void Fail(string arg, string why) => problems.Add(new Problem(DiagnosticIds.ConvolutionalTwin, true, -1, arg, Args(spec.ClassName, original, why)));

        if (spec.Layers.Count > 0)
        {
            Fail(TwinArg, $"it declares {S(spec.Layers.Count)} layer attribute{(spec.Layers.Count == 1 ? "" : "s")} of its own; a twin takes every layer from {original}, so remove them");
            return null;
        }
        if (spec.Original is not { } o)
        {
            Fail(TwinArg, spec.OriginalProblem ?? "it is not a [Network] class");
            return null;
        }
        var net = Infer(o).Network;
        if (net is null)
        {
            Fail(TwinArg, $"{original} itself does not build (see its errors)");
            return null;
        }
        if (inC != net.InC) { Fail("channels", $"its input has {S(inC)} channels, {original}'s has {S(net.InC)}"); return null; }

        // The layer where the map collapses into a vector (the first dense, flatten or maxout), and the strides before it.
        int collapse = net.Layers.Count;
        foreach (var l in net.Layers)
        {
            var family = LayerFamilies.For(l);
            if (l.Kind is LayerKind.Maxout)
            {
                Fail(TwinArg, $"{l.Display} has no convolutional form (its pieces are not a convolution's weight layout)");
                return null;
            }
            if (l.Kind is LayerKind.GlobalAvgPool2D)
            {
                Fail(TwinArg, $"{l.Display} averages the whole map, so on a larger input it would average over all windows instead of giving a map of answers");
                return null;
            }
            if (family.Window(l) is { Transposed: true })
            {
                Fail(TwinArg, $"{l.Display} upsamples; a twin slides a window, which needs layers that only keep or shrink the map");
                return null;
            }
            if (l.Kind is LayerKind.Dense or LayerKind.Flatten && l.Index < collapse) collapse = l.Index;
        }
        int strideH = 1, strideW = 1;
        var chain = new List<string>();
        for (int i = collapse < net.Layers.Count ? net.Layers[collapse].InputLayer : net.Layers.Count - 1; i >= 0; i = net.Layers[i].InputLayer)
        {
            if (LayerFamilies.For(net.Layers[i]).Window(net.Layers[i]) is not { } w || w.StrideH * w.StrideW == 1) continue;
            strideH *= w.StrideH;
            strideW *= w.StrideW;
            chain.Insert(0, w.StrideH == w.StrideW ? $"{net.Layers[i].Name} /{S(w.StrideH)}" : $"{net.Layers[i].Name} /{S(w.StrideH)}×{S(w.StrideW)}");
        }
        string strides = chain.Count == 0 ? "no strided layer" : string.Join(" · ", chain);

        bool Fits(string arg, string axis, int size, int window, int stride)
        {
            if (size < window)
            {
                Fail(arg, $"its {axis} {S(size)} is smaller than {original}'s {S(window)}, the window each output position sees");
                return false;
            }
            int extra = size - window;
            if (extra % stride == 0) return true;
            int lower = window + extra / stride * stride, upper = lower + stride;
            Fail(arg, $"its {axis} {S(size)} − {original}'s {S(window)} = {S(extra)} is not a multiple of the total stride {S(stride)} ({strides}): " +
                $"the last {S(extra % stride)} {(axis == "height" ? "row" : "column")}{(extra % stride == 1 ? "" : "s")} would fit no window; {S(lower)} or {S(upper)} would give " +
                $"{S((lower - window) / stride + 1)} or {S((upper - window) / stride + 1)} positions");
            return false;
        }
        bool fits = Fits("height", "height", inH, net.InH, strideH);
        fits &= Fits("width", "width", inW, net.InW, strideW);
        if (!fits) return null;

        // The twin's layers: X's, every input named explicitly (a removed Flatten is read through), dense as convolution.
        var rename = new Dictionary<int, int>(); // a removed layer → the layer it read
        int Source(int i) { while (i >= 0 && rename.TryGetValue(i, out int s)) i = s; return i; }
        var layers = new List<LayerSpec>();
        var denseShapes = new Dictionary<string, EquatableArray<int>>();
        foreach (var l in net.Layers)
        {
            var spec0 = o.Layers[l.Index];
            if (l.Kind == LayerKind.Flatten) { rename[l.Index] = l.InputLayer; continue; }
            var inputs = l.Inputs.Select(i => net.NameOf(Source(i))).ToList();
            var args = new List<Arg>();
            LayerKind kind = l.Kind;
            string attribute = spec0.AttributeName;
            if (l.Kind == LayerKind.Dense)
            {
                // The map the dense layer really reads: what a Flatten before it flattened.
                int source = Source(l.InputLayer);
                var (c, h, w) = source < 0 ? (net.InC, net.InH, net.InW) : (net.Layers[source].OutC, net.Layers[source].OutH, net.Layers[source].OutW);
                kind = LayerKind.Conv2D;
                attribute = "Conv2D";
                args.Add(new Arg("filters", ArgType.Int, l.OutC, 0, null, false));
                args.Add(new Arg("kernelHeight", ArgType.Int, h, 0, null, false));
                args.Add(new Arg("kernelWidth", ArgType.Int, w, 0, null, false));
                args.AddRange(spec0.Args.Where(a => a.Name is "Bias" or "Init" or "Frozen"));
                denseShapes[l.Name] = l.WeightShape;
            }
            else args.AddRange(spec0.Args.Where(a => a.Name is not ("Name" or "From" or "inputs")));
            args.Add(new Arg("Name", ArgType.Text, 0, 0, l.Name, true));
            if (kind is LayerKind.Add or LayerKind.Concat)
                args.Add(new Arg("inputs", ArgType.TextList, inputs.Count, 0, null, false) { Texts = inputs.ToEquatableArray() });
            else args.Add(new Arg("From", ArgType.Text, 0, 0, inputs[0], true));
            layers.Add(new LayerSpec(kind, attribute, layers.Count, args.ToEquatableArray()));
        }

        var twinSpec = new NetworkSpec(spec.Namespace, spec.ClassName, spec.ContainingTypes, spec.IsPartial, spec.IsGeneric, spec.IsStatic, 1, false,
            new EquatableArray<Arg>(new[]
            {
                new Arg("channels", ArgType.Int, inC, 0, null, false), new Arg("height", ArgType.Int, inH, 0, null, false),
                new Arg("width", ArgType.Int, inW, 0, null, false),
            }.Concat(o.NetworkArgs.Where(a => a.Name == "Init")).ToArray()),
            layers.ToEquatableArray());
        var inner = new List<Problem>();
        var twin = InferCore(twinSpec, inner);
        // The twin has no layer attributes to point at: its errors go on ConvolutionalOf, in the layers' own words.
        // Its advice is X's advice again, already shown on X.
        foreach (var p in inner)
            if (p.IsError) problems.Add(p with { LayerIndex = -1, ArgName = TwinArg, ArgItem = -1, Fixes = EquatableArray<Repair>.Empty });
        if (twin is null || inner.Exists(p => p.IsError)) return null;
        if (twin.ParameterCount != net.ParameterCount || twin.BufferCount != net.BufferCount)
        {
            Fail(TwinArg, $"internal error: the twin has {S(twin.ParameterCount)} parameters, {original} {S(net.ParameterCount)}");
            return null;
        }
        var converted = twin.Layers.Select(l => denseShapes.TryGetValue(l.Name, out var shape) ? l with { DenseWeightShape = shape } : l).ToEquatableArray();
        return twin with
        {
            Layers = converted,
            Twin = new TwinInfo(spec.OriginalTypeName!, o.ClassName, net.InH, net.InW, strideH, strideW,
                (inH - net.InH) / strideH + 1, (inW - net.InW) / strideW + 1),
        };
    }
}
