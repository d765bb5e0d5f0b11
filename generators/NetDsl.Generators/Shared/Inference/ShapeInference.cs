using System;
using System.Collections.Generic;
using System.Globalization;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Inference;

/// <summary>
/// The single shape-inference module. The generator and the analyzers both call <see cref="Infer"/>, so they
/// can never disagree about a shape. It never throws: every problem becomes a <see cref="Problem"/>.
/// </summary>
internal static class ShapeInference
{
    public static InferenceResult Infer(NetworkSpec spec)
    {
        var problems = new List<Problem>();
        // Attributes the compiler could not bind (code being typed) get the compiler's own errors; stay silent.
        if (spec.HasInvalidAttributes) return new InferenceResult(null, EquatableArray<Problem>.Empty);
        try
        {
            var network = InferCore(spec, problems);
            bool errors = problems.Exists(p => p.IsError);
            return new InferenceResult(errors ? null : network, problems.ToEquatableArray());
        }
        catch (Exception e)
        {
            // A bug here must not crash the user's build: report it as a diagnostic and generate nothing.
            problems.Add(new Problem("NDSL0006", true, -1, null, Args(spec.ClassName, "internal error in shape inference: " + e.Message)));
            return new InferenceResult(null, problems.ToEquatableArray());
        }
    }

    private static EquatableArray<string> Args(params string[] values) => new(values);
    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string S(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static ShapedNetwork? InferCore(NetworkSpec spec, List<Problem> problems)
    {
        if (!spec.IsPartial) problems.Add(new Problem("NDSL0001", true, -1, null, Args(spec.ClassName)));
        if (spec.IsGeneric) problems.Add(new Problem("NDSL0002", true, -1, null, Args(spec.ClassName, "is generic")));
        else if (spec.IsStatic) problems.Add(new Problem("NDSL0002", true, -1, null, Args(spec.ClassName, "is static")));
        foreach (var t in spec.ContainingTypes)
        {
            if (t.IsGeneric) problems.Add(new Problem("NDSL0002", true, -1, null, Args(spec.ClassName, $"is nested in the generic type '{t.Name}'")));
            else if (!t.IsPartial) problems.Add(new Problem("NDSL0002", true, -1, null, Args(spec.ClassName, $"is nested in '{t.Name}', which is not partial")));
            else if (t.Keyword is not ("class" or "struct" or "record" or "record struct")) problems.Add(new Problem("NDSL0002", true, -1, null, Args(spec.ClassName, $"is nested in the {t.Keyword} '{t.Name}'")));
        }
        if (spec.DeclarationsWithLayers > 1) problems.Add(new Problem("NDSL0003", true, -1, null, Args(spec.ClassName, S(spec.DeclarationsWithLayers))));

        int inC = NetworkDim(spec, "channels", problems);
        int inH = NetworkDim(spec, "height", problems);
        int inW = NetworkDim(spec, "width", problems);
        int netInit = (int)(spec.NetworkArgs.AsSpan().Length > 0 ? FindInt(spec.NetworkArgs, "Init", 0) : 0);
        if (netInit is < 0 or > 4) problems.Add(new Problem("NDSL0101", true, -1, "Init", Args("Network", "Init", "a defined NetDsl.Init value", S(netInit))));

        if (spec.Layers.Count == 0)
        {
            problems.Add(new Problem("NDSL0004", true, -1, null, Args(spec.ClassName)));
            return null;
        }
        if (inC < 1 || inH < 1 || inW < 1) return null;
        if ((long)inC * inH * inW > MaxElements)
        {
            problems.Add(new Problem("NDSL0204", true, -1, null, Args(spec.ClassName,
                $"the input {S(inC)}×{S(inH)}×{S(inW)} = {N((long)inC * inH * inW)} floats per sample is too large")));
            return null;
        }

        var layers = new List<ShapedLayer>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var kindCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        int c = inC, h = inH, w = inW, offset = 0, buffers = 0;
        bool shapeKnown = true;
        var allNames = new Dictionary<string, int>(StringComparer.Ordinal);
        var displays = new string[spec.Layers.Count];
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < spec.Layers.Count; i++)
            {
                string prefix = DefaultPrefix(spec.Layers[i].Kind);
                counts.TryGetValue(prefix, out int n);
                counts[prefix] = ++n;
                string layerName = spec.Layers[i].ExplicitName ?? prefix + S(n);
                if (!allNames.ContainsKey(layerName)) allNames[layerName] = i;
            }
        }

        for (int i = 0; i < spec.Layers.Count; i++)
        {
            var layer = spec.Layers[i];
            string prefix = DefaultPrefix(layer.Kind);
            kindCounts.TryGetValue(prefix, out int k);
            kindCounts[prefix] = ++k;
            string name = layer.ExplicitName ?? prefix + S(k);
            string display = $"{name} (layer {i + 1}, {layer.AttributeName})";
            displays[i] = display;

            if (layer.Kind == LayerKind.Unknown)
            {
                problems.Add(new Problem("NDSL0006", true, i, null, Args(spec.ClassName, $"layer {i + 1} '{layer.AttributeName}' is not a layer NetDsl knows")));
                shapeKnown = false;
                continue;
            }
            if (layer.ExplicitName is { } explicitName && !IsValidName(explicitName))
                problems.Add(new Problem("NDSL0101", true, i, "Name", Args(display, "Name", "a non-empty identifier of letters, digits, '_' or '-'", "'" + explicitName + "'")));
            if (names.TryGetValue(name, out int other))
            {
                var duplicate = new Problem("NDSL0102", true, i, layer.ExplicitName is null ? null : "Name", Args(display, name, $"layer {other + 1}"));
                if (IsValidName(name)) duplicate = duplicate with { Fixes = Args("name|Name=\"" + UniqueName(name, allNames) + "\"") };
                problems.Add(duplicate);
            }
            else names[name] = i;

            var ctx = new LayerContext(layer, i, display, problems);
            ShapedLayer? shaped = layer.Kind switch
            {
                LayerKind.Conv2D => Conv(ctx, name, c, h, w, ref offset),
                LayerKind.ConvTranspose2D => ConvTranspose(ctx, name, c, h, w, ref offset),
                LayerKind.MaxPool2D or LayerKind.AvgPool2D or LayerKind.MinPool2D => Pool(ctx, name, c, h, w),
                LayerKind.GlobalAvgPool2D => Base(ctx, name, c, h, w) with { OutH = 1, OutW = 1 },
                LayerKind.Flatten => Base(ctx, name, c, h, w) with { OutC = c * h * w, OutH = 1, OutW = 1 },
                LayerKind.Dense => Dense(ctx, name, c, h, w, ref offset),
                LayerKind.Maxout => Maxout(ctx, name, c, h, w, ref offset),
                LayerKind.BatchNorm => BatchNorm(ctx, name, c, h, w, ref offset, ref buffers),
                LayerKind.LocalResponseNorm => Lrn(ctx, name, c, h, w),
                LayerKind.PReLU => PRelu(ctx, name, c, h, w, ref offset),
                LayerKind.ELU => Elementwise(ctx, name, c, h, w, ctx.Real("alpha", 1.0, 0, 1e6, "at least 0", upperInclusive: true)),
                LayerKind.LeakyReLU => Elementwise(ctx, name, c, h, w, ctx.Real("slope", 0.01, 0, 1, "in [0, 1)", upperInclusive: false)),
                LayerKind.Dropout => Elementwise(ctx, name, c, h, w, ctx.Real("p", 0.5, 0, 1, "in [0, 1)", upperInclusive: false)),
                LayerKind.Add or LayerKind.Concat => Join(ctx, name, c, h, w, names, allNames, layers, inC, inH, inW, shapeKnown),
                _ => Elementwise(ctx, name, c, h, w, 0),
            };
            if (shaped is not null && ctx.Bool("Frozen", false)) shaped = shaped with { Frozen = true };
            if (shaped is not null && shapeKnown && !FitsInArrays(ctx, shaped)) shaped = null;
            if (shaped is null || !shapeKnown)
            {
                shapeKnown = false;
                continue;
            }
            layers.Add(shaped);
            c = shaped.OutC; h = shaped.OutH; w = shaped.OutW;
        }

        Advise(spec, displays, problems);
        if (!shapeKnown || problems.Exists(p => p.IsError)) return null;
        AdviseOnShapes(spec, layers, displays, offset, problems);

        // Auto initialization looks at the activation that follows each parametered layer.
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            if (!l.HasParameters || l.Kind is LayerKind.BatchNorm or LayerKind.PReLU) continue;
            int init = l.Init != 0 ? l.Init : netInit;
            if (init == 0)
            {
                var next = i + 1 < layers.Count ? layers[i + 1].Kind : LayerKind.Unknown;
                init = next is LayerKind.ReLU or LayerKind.LeakyReLU ? 1 : 2; // He : Glorot
            }
            layers[i] = l with { Init = init };
        }

        return new ShapedNetwork(spec.Namespace, spec.ClassName, spec.ContainingTypes, inC, inH, inW, layers.ToEquatableArray(), offset, buffers);
    }

    private static bool IsValidName(string name)
    {
        if (name.Length == 0) return false;
        foreach (char ch in name) if (!(char.IsLetterOrDigit(ch) || ch == '_' || ch == '-')) return false;
        return true;
    }

    /// <summary>The largest element count of one array: a layer's output per sample, a layer's weights, all parameters.</summary>
    internal const long MaxElements = int.MaxValue / 2;

    /// <summary>Sizes past <see cref="MaxElements"/> would overflow the int indices of the generated code: NDSL0204.</summary>
    private static bool FitsInArrays(LayerContext ctx, ShapedLayer l)
    {
        double outSize = (double)l.OutC * l.OutH * l.OutW;
        // The im2col workspace of a convolution is kernel-area times larger than either side.
        double workspace = l.Kind switch
        {
            LayerKind.Conv2D => (double)l.InC * l.KernelH * l.KernelW * l.OutH * l.OutW,
            LayerKind.ConvTranspose2D => (double)l.OutC * l.KernelH * l.KernelW * l.InH * l.InW,
            _ => 0,
        };
        if (workspace > MaxElements)
        {
            ctx.Report("NDSL0204", null, $"its im2col workspace of {workspace.ToString("N0", CultureInfo.InvariantCulture)} floats per sample is too large");
            return false;
        }
        if (outSize <= MaxElements) return true;
        ctx.Report("NDSL0204", null, $"its output {S(l.OutC)}×{S(l.OutH)}×{S(l.OutW)} = {outSize.ToString("N0", CultureInfo.InvariantCulture)} floats per sample is too large");
        return false;
    }

    /// <summary>Whether this layer's parameters, and all parameters up to it, stay within <see cref="MaxElements"/> (else NDSL0204).</summary>
    private static bool ParametersFit(LayerContext ctx, double count, int offset)
    {
        if (offset + count <= MaxElements) return true;
        ctx.Report("NDSL0204", null, count > MaxElements
            ? $"its {count.ToString("N0", CultureInfo.InvariantCulture)} parameters are too many"
            : $"the parameters up to this layer, {(offset + count).ToString("N0", CultureInfo.InvariantCulture)}, are too many");
        return false;
    }

    /// <summary>The name's stem (trailing digits removed) plus the smallest number ≥ 2 that no layer uses.</summary>
    private static string UniqueName(string name, Dictionary<string, int> used)
    {
        string stem = name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
        if (stem.Length == 0) stem = name + "_";
        for (int n = 2; ; n++)
        {
            string candidate = stem + S(n);
            if (!used.ContainsKey(candidate) && candidate != "input") return candidate;
        }
    }

    private static bool IsActivation(LayerKind kind) => kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.PReLU
        or LayerKind.ELU or LayerKind.Tanh or LayerKind.Sigmoid or LayerKind.Softmax;

    /// <summary>Advice from the layer order alone (NDSL0302–0304): reported even while shapes have errors.</summary>
    private static void Advise(NetworkSpec spec, string?[] displays, List<Problem> problems)
    {
        int last = spec.Layers.Count - 1;
        for (int i = 0; i <= last; i++)
        {
            var kind = spec.Layers[i].Kind;
            if (displays[i] is not { } display) continue;
            if (i > 0 && IsActivation(kind) && IsActivation(spec.Layers[i - 1].Kind) && displays[i - 1] is { } previous)
            {
                var before = spec.Layers[i - 1].Kind;
                bool nonNegative = before is LayerKind.ReLU or LayerKind.Sigmoid or LayerKind.Softmax;
                string why = nonNegative && kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.PReLU or LayerKind.ELU
                    ? $"{before} outputs are never negative, so this {kind} changes nothing"
                    : "with no layer between them the second only distorts the first one's output";
                problems.Add(new Problem("NDSL0302", false, i, null, Args(display, previous, why)));
            }
            if (kind == LayerKind.Sigmoid && i < last)
                problems.Add(new Problem("NDSL0303", false, i, null, Args(display)));
            if (kind == LayerKind.Softmax && i < last && displays[i + 1] is { } next)
                problems.Add(new Problem("NDSL0304", false, i, null, Args(display, next, last - i == 1 ? "1 more layer follows" : S(last - i) + " more layers follow")));
        }
    }

    /// <summary>Parameter counts above this get NDSL0305.</summary>
    internal const long LargeParameterCount = 10_000_000;

    /// <summary>Advice that needs every shape (NDSL0301, NDSL0305): only for a network without errors.</summary>
    private static void AdviseOnShapes(NetworkSpec spec, List<ShapedLayer> layers, string?[] displays, int parameters, List<Problem> problems)
    {
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            if (l.Kind is not (LayerKind.Dense or LayerKind.Flatten) || l.InH != 1 || l.InW != 1) continue;
            string input = $"{S(l.InC)}×1×1";
            if (l.Kind == LayerKind.Flatten)
            {
                problems.Add(new Problem("NDSL0301", false, l.Index, null, Args(displays[l.Index]!, input, "; remove it (a Dense flattens by itself)")));
                continue;
            }
            // A Dense after a Dense, Maxout, Flatten or global pooling (or on a 1×1 input) is the normal case. Only a
            // convolution or a pooling window that shrank a real map to one pixel is worth a word.
            int j = i - 1;
            while (j >= 0 && layers[j].Kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.PReLU or LayerKind.ELU or LayerKind.Tanh
                       or LayerKind.Sigmoid or LayerKind.Softmax or LayerKind.Dropout or LayerKind.BatchNorm or LayerKind.LocalResponseNorm or LayerKind.Add)
                j--;
            if (j < 0) continue;
            var origin = layers[j];
            if (origin.Kind is not (LayerKind.Conv2D or LayerKind.ConvTranspose2D or LayerKind.MaxPool2D or LayerKind.AvgPool2D or LayerKind.MinPool2D)
                || origin.InH * origin.InW <= 1)
                continue;
            problems.Add(new Problem("NDSL0301", false, l.Index, null, Args(displays[l.Index]!, input,
                $" ({origin.Name} already shrinks its {S(origin.InH)}×{S(origin.InW)} input to one pixel, so it acts as a dense layer; if that was not meant, pool less or pad more)")));
        }

        if (parameters <= LargeParameterCount || layers.Count == 0) return;
        var largest = layers[0];
        foreach (var l in layers) if (l.ParameterCount > largest.ParameterCount) largest = l;
        // Truncated, so a layer holding all but a few parameters reads 99.9 %, not 100.0 %.
        string share = (Math.Floor(1000.0 * largest.ParameterCount / parameters) / 10).ToString("0.0", CultureInfo.InvariantCulture);
        problems.Add(new Problem("NDSL0305", false, largest.Index, null, Args(spec.ClassName, N(parameters),
            (parameters * 4.0 / (1 << 20)).ToString("0", CultureInfo.InvariantCulture), displays[largest.Index]!, N(largest.ParameterCount), share)));
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static int NetworkDim(NetworkSpec spec, string name, List<Problem> problems)
    {
        long v = FindInt(spec.NetworkArgs, name, -1);
        if (v < 1 || v > 1_000_000)
        {
            problems.Add(new Problem("NDSL0005", true, -1, name, Args(spec.ClassName, name, S(v))));
            return 0;
        }
        return (int)v;
    }

    private static long FindInt(EquatableArray<Arg> args, string name, long fallback)
    {
        foreach (var a in args) if (a.Name == name && a.Type == ArgType.Int) return a.Int;
        return fallback;
    }

    private static string DefaultPrefix(LayerKind kind) => kind switch
    {
        LayerKind.Conv2D => "conv",
        LayerKind.MaxPool2D or LayerKind.AvgPool2D => "pool",
        LayerKind.Dense => "dense",
        LayerKind.ReLU => "relu",
        LayerKind.LeakyReLU => "leakyrelu",
        LayerKind.Tanh => "tanh",
        LayerKind.Sigmoid => "sigmoid",
        LayerKind.Dropout => "dropout",
        LayerKind.ConvTranspose2D => "deconv",
        LayerKind.MinPool2D or LayerKind.GlobalAvgPool2D => "pool",
        LayerKind.BatchNorm => "bn",
        LayerKind.LocalResponseNorm => "lrn",
        LayerKind.PReLU => "prelu",
        LayerKind.ELU => "elu",
        LayerKind.Softmax => "softmax",
        LayerKind.Maxout => "maxout",
        LayerKind.Flatten => "flatten",
        LayerKind.Add => "add",
        LayerKind.Concat => "concat",
        _ => "layer",
    };

    private static ShapedLayer Base(LayerContext ctx, string name, int c, int h, int w) =>
        new(ctx.Layer.Kind, ctx.Index, name, ctx.Index - 1, c, h, w, c, h, w,
            0, 0, 1, 1, 0, 0, 0, 0, 1, false, 0, 0, 0, 0, 0, 0);

    private static ShapedLayer Elementwise(LayerContext ctx, string name, int c, int h, int w, double real) =>
        Base(ctx, name, c, h, w) with { Real = real };

    private static ShapedLayer? Conv(LayerContext ctx, string name, int c, int h, int w, ref int offset)
    {
        int filters = ctx.Int("filters", 1, 1, "at least 1");
        int kh, kw;
        if (ctx.Layer.Find("kernel") is not null)
            kh = kw = ctx.Int("kernel", 1, 1, "at least 1");
        else
        {
            kh = ctx.Int("kernelHeight", 1, 1, "at least 1");
            kw = ctx.Int("kernelWidth", 1, 1, "at least 1");
        }
        int stride = ctx.Int("Stride", 1, 1, "at least 1");
        int sh = ctx.Layer.Find("StrideHeight") is null ? stride : ctx.Int("StrideHeight", 1, 1, "at least 1");
        int sw = ctx.Layer.Find("StrideWidth") is null ? stride : ctx.Int("StrideWidth", 1, 1, "at least 1");
        int pad = ctx.Int("Padding", 0, 0, "at least 0");
        int pt = ctx.Layer.Find("PadTop") is null ? pad : ctx.Int("PadTop", 0, 0, "at least 0");
        int pb = ctx.Layer.Find("PadBottom") is null ? pad : ctx.Int("PadBottom", 0, 0, "at least 0");
        int pl = ctx.Layer.Find("PadLeft") is null ? pad : ctx.Int("PadLeft", 0, 0, "at least 0");
        int pr = ctx.Layer.Find("PadRight") is null ? pad : ctx.Int("PadRight", 0, 0, "at least 0");
        int dil = ctx.Int("Dilation", 1, 1, "at least 1");
        int groups = ctx.Int("Groups", 1, 1, "at least 1");
        bool bias = ctx.Bool("Bias", true);
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        if (c % groups != 0 || filters % groups != 0)
        {
            ctx.Report("NDSL0101", "Groups", "Groups", $"a divisor of both the input channels {S(c)} and the filters {S(filters)}", S(groups));
            return null;
        }

        string hArg = ctx.Layer.Find("StrideHeight") is not null ? "StrideHeight" : "Stride";
        string wArg = ctx.Layer.Find("StrideWidth") is not null ? "StrideWidth" : "Stride";
        int mark = ctx.Mark;
        int oh = OutputSize(ctx, "height", "rows", h, pt, pb, kh, sh, dil, kernelArg: ctx.Layer.Find("kernel") is not null ? "kernel" : "kernelHeight", strideArg: hArg);
        // one NDSL0201 per layer: a square kernel would report the same thing twice
        int ow = oh < 1 ? 0 : OutputSize(ctx, "width", "columns", w, pl, pr, kw, sw, dil, kernelArg: ctx.Layer.Find("kernel") is not null ? "kernel" : "kernelWidth", strideArg: wArg);
        if (ctx.Mark > mark) ctx.AttachFixes(mark, ConvFixes(ctx.Layer, h, w, kh, kw, sh, sw, pt, pb, pl, pr, dil, hArg, wArg));
        if (oh < 1 || ow < 1) return null;

        if (!ParametersFit(ctx, (double)filters * (c / groups) * kh * kw + (bias ? filters : 0), offset)) return null;
        int wc = filters * (c / groups) * kh * kw, bc = bias ? filters : 0;
        var l = Base(ctx, name, c, h, w) with
        {
            OutC = filters, OutH = oh, OutW = ow, KernelH = kh, KernelW = kw, StrideH = sh, StrideW = sw,
            PadTop = pt, PadBottom = pb, PadLeft = pl, PadRight = pr, Dilation = dil, HasBias = bias, Init = init,
            WeightOffset = offset, WeightCount = wc, BiasOffset = offset + wc, BiasCount = bc, Groups = groups,
            WeightShape = Shape(filters, c / groups, kh, kw), BiasShape = bias ? Shape(filters) : EquatableArray<int>.Empty,
        };
        offset += wc + bc;
        return l;
    }

    private static ShapedLayer? Pool(LayerContext ctx, string name, int c, int h, int w)
    {
        int size = ctx.Int("size", 1, 1, "at least 1");
        int stride = ctx.Layer.Find("Stride") is null ? size : ctx.Int("Stride", size, 1, "at least 1");
        int pad = ctx.Int("Padding", 0, 0, "at least 0");
        if (ctx.Failed) return null;
        if (pad * 2 > size)
        {
            ctx.Report("NDSL0203", "Padding", S(pad), S(size), S(size / 2));
            return null;
        }
        int mark = ctx.Mark;
        int oh = OutputSize(ctx, "height", "rows", h, pad, pad, size, stride, 1, "size", "Stride");
        int ow = oh < 1 ? 0 : OutputSize(ctx, "width", "columns", w, pad, pad, size, stride, 1, "size", "Stride");
        if (ctx.Mark > mark) ctx.AttachFixes(mark, PoolFixes(h, w, size, stride, pad));
        if (oh < 1 || ow < 1) return null;
        return Base(ctx, name, c, h, w) with
        {
            OutH = oh, OutW = ow, KernelH = size, KernelW = size, StrideH = stride, StrideW = stride,
            PadTop = pad, PadBottom = pad, PadLeft = pad, PadRight = pad,
        };
    }

    private static ShapedLayer? Dense(LayerContext ctx, string name, int c, int h, int w, ref int offset)
    {
        int units = ctx.Int("units", 1, 1, "at least 1");
        bool bias = ctx.Bool("Bias", true);
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        int inSize = c * h * w;
        long wc = (long)units * inSize;
        if (wc > int.MaxValue / 2)
        {
            ctx.Report("NDSL0101", "units", "small enough that the weight fits in memory", $"{S(units)} × {S(inSize)} = {S(wc)} weights");
            return null;
        }
        int bc = bias ? units : 0;
        if (!ParametersFit(ctx, (double)wc + bc, offset)) return null;
        var l = Base(ctx, name, c, h, w) with
        {
            OutC = units, OutH = 1, OutW = 1, HasBias = bias, Init = init,
            WeightOffset = offset, WeightCount = (int)wc, BiasOffset = offset + (int)wc, BiasCount = bc,
            WeightShape = Shape(units, inSize), BiasShape = bias ? Shape(units) : EquatableArray<int>.Empty,
        };
        offset += (int)wc + bc;
        return l;
    }

    private static EquatableArray<int> Shape(params int[] dims) => new(dims);

    /// <summary>Add (equal shapes) or Concat (equal height and width) of the previous layer and the one named by From.</summary>
    private static ShapedLayer? Join(LayerContext ctx, string name, int c, int h, int w, Dictionary<string, int> earlier,
        Dictionary<string, int> all, List<ShapedLayer> layers, int inC, int inH, int inW, bool shapesKnown)
    {
        var from = ctx.Layer.Find("From");
        string kind = ctx.Layer.Kind == LayerKind.Add ? "Add" : "Concat";
        if (from?.Text is not { Length: > 0 } source)
        {
            ctx.Report("NDSL0101", from is null ? null : "From", "From", "the name of an earlier layer (or \"input\")", from?.Text is null ? "nothing" : "''");
            return null;
        }
        int index;
        if (source == "input" && !earlier.ContainsKey("input")) index = -1;
        else if (earlier.TryGetValue(source, out index) && index < ctx.Index) { }
        else
        {
            string why = all.TryGetValue(source, out int later) && later >= ctx.Index
                ? $"layer {S(later + 1)} is named '{source}', but a skip can only read an earlier layer"
                : $"no earlier layer is named '{source}'; earlier layers: {(earlier.Count == 0 ? "none" : string.Join(", ", earlier.Keys))} (or \"input\")";
            ctx.Report("NDSL0103", "From", source, why);
            return null;
        }
        if (!shapesKnown || index >= layers.Count) return null;
        int sc = index < 0 ? inC : layers[index].OutC, sh = index < 0 ? inH : layers[index].OutH, sw = index < 0 ? inW : layers[index].OutW;
        string prev = $"{S(c)}×{S(h)}×{S(w)}", skip = $"{S(sc)}×{S(sh)}×{S(sw)}";
        if (kind == "Add" && (sc != c || sh != h || sw != w))
        {
            ctx.Report("NDSL0104", "From", prev, source, skip);
            return null;
        }
        if (kind == "Concat" && (sh != h || sw != w))
        {
            ctx.Report("NDSL0105", "From", prev, source, skip);
            return null;
        }
        return Base(ctx, name, c, h, w) with { OutC = kind == "Add" ? c : c + sc, SkipLayer = index };
    }

    private static ShapedLayer? ConvTranspose(LayerContext ctx, string name, int c, int h, int w, ref int offset)
    {
        int filters = ctx.Int("filters", 1, 1, "at least 1");
        int k = ctx.Int("kernel", 1, 1, "at least 1");
        int stride = ctx.Int("Stride", 1, 1, "at least 1");
        int pad = ctx.Int("Padding", 0, 0, "at least 0");
        int outPad = ctx.Int("OutputPadding", 0, 0, "at least 0");
        int dil = ctx.Int("Dilation", 1, 1, "at least 1");
        bool bias = ctx.Bool("Bias", true);
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        if (outPad >= stride && outPad >= dil)
        {
            ctx.Report("NDSL0101", "OutputPadding", "OutputPadding", $"smaller than the stride {S(stride)} or the dilation {S(dil)}", S(outPad));
            return null;
        }
        long oh = (long)(h - 1) * stride - 2L * pad + (long)dil * (k - 1) + outPad + 1;
        long ow = (long)(w - 1) * stride - 2L * pad + (long)dil * (k - 1) + outPad + 1;
        if (oh < 1 || ow < 1)
        {
            long o = oh < 1 ? oh : ow; int i = oh < 1 ? h : w;
            ctx.Report("NDSL0201", "Padding", oh < 1 ? "height" : "width",
                $"({S(i)} − 1)·{S(stride)} − 2·{S(pad)} + {S(dil)}·({S(k)} − 1) + {S(outPad)} + 1 = {S(o)}", $"is {S(i)}, too small for padding {S(pad)}");
            return null;
        }
        if (oh > MaxElements || ow > MaxElements)
        {
            ctx.Report("NDSL0204", null, $"its output {S(filters)}×{S(oh)}×{S(ow)} is too large");
            return null;
        }
        if (!ParametersFit(ctx, (double)c * filters * k * k + (bias ? filters : 0), offset)) return null;
        int wc = c * filters * k * k, bc = bias ? filters : 0;
        var l = Base(ctx, name, c, h, w) with
        {
            OutC = filters, OutH = (int)oh, OutW = (int)ow, KernelH = k, KernelW = k, StrideH = stride, StrideW = stride,
            PadTop = pad, PadBottom = pad, PadLeft = pad, PadRight = pad, Dilation = dil, OutputPadding = outPad, HasBias = bias, Init = init,
            WeightOffset = offset, WeightCount = wc, BiasOffset = offset + wc, BiasCount = bc,
            WeightShape = Shape(c, filters, k, k), BiasShape = bias ? Shape(filters) : EquatableArray<int>.Empty,
        };
        offset += wc + bc;
        return l;
    }

    private static ShapedLayer? Maxout(LayerContext ctx, string name, int c, int h, int w, ref int offset)
    {
        int units = ctx.Int("units", 1, 1, "at least 1");
        int pieces = ctx.Int("pieces", 2, 1, "at least 1");
        int init = ctx.InitArg();
        if (ctx.Failed) return null;
        int inSize = c * h * w;
        if (!ParametersFit(ctx, ((double)inSize + 1) * units * pieces, offset)) return null;
        int wc = units * pieces * inSize, bc = units * pieces;
        var l = Base(ctx, name, c, h, w) with
        {
            OutC = units, OutH = 1, OutW = 1, Count = pieces, HasBias = true, Init = init,
            WeightOffset = offset, WeightCount = wc, BiasOffset = offset + wc, BiasCount = bc,
            WeightShape = Shape(units, pieces, inSize), BiasShape = Shape(units, pieces),
        };
        offset += wc + bc;
        return l;
    }

    private static ShapedLayer? BatchNorm(LayerContext ctx, string name, int c, int h, int w, ref int offset, ref int buffers)
    {
        double momentum = ctx.Real("Momentum", 0.1, 0, 1, "in [0, 1]", upperInclusive: true);
        double eps = ctx.Real("Epsilon", 1e-5, 1e-30, 1, "in (0, 1]", upperInclusive: true);
        if (ctx.Failed || !ParametersFit(ctx, 2.0 * c, offset)) return null;
        var l = Base(ctx, name, c, h, w) with
        {
            Real = momentum, Real2 = eps, HasBias = true,
            WeightOffset = offset, WeightCount = c, BiasOffset = offset + c, BiasCount = c,
            WeightShape = Shape(c), BiasShape = Shape(c), BufferOffset = buffers, BufferCount = 2 * c,
        };
        offset += 2 * c;
        buffers += 2 * c;
        return l;
    }

    private static ShapedLayer? Lrn(LayerContext ctx, string name, int c, int h, int w)
    {
        int size = ctx.Int("size", 5, 1, "at least 1");
        double alpha = ctx.Real("Alpha", 1e-4, 0, 1e6, "at least 0", upperInclusive: true);
        double beta = ctx.Real("Beta", 0.75, 0, 1e6, "at least 0", upperInclusive: true);
        double k = ctx.Real("K", 1.0, 1e-30, 1e6, "greater than 0", upperInclusive: true);
        if (ctx.Failed) return null;
        return Base(ctx, name, c, h, w) with { Count = size, Real = alpha, Real2 = beta, Real3 = k };
    }

    private static ShapedLayer? PRelu(LayerContext ctx, string name, int c, int h, int w, ref int offset)
    {
        bool perChannel = ctx.Bool("PerChannel", false);
        double initial = ctx.Real("InitialSlope", 0.25, -1e6, 1e6, "a finite number", upperInclusive: true);
        if (ctx.Failed) return null;
        int count = perChannel ? c : 1;
        if (!ParametersFit(ctx, count, offset)) return null;
        var l = Base(ctx, name, c, h, w) with
        {
            Real = initial, WeightOffset = offset, WeightCount = count, WeightShape = Shape(count),
        };
        offset += count;
        return l;
    }

    /// <summary>Input rows never read for this geometry (0: none), or -1 when the window does not fit (output &lt; 1).</summary>
    private static long Dropped(int input, long padA, long padB, int k, int stride, int dil)
    {
        long span = input + padA + padB - (long)dil * (k - 1) - 1;
        if (span < 0) return -1;
        return Math.Max(0, span % stride - padB);
    }

    /// <summary>
    /// Repairs for NDSL0201/0202 on a Conv2D: "same" padding for odd kernels (when it removes the problem), the stride
    /// nearest to each stride argument with no row dropped, and the symmetric padding nearest to the current one with no
    /// row dropped (only when no per-side padding is written).
    /// </summary>
    private static List<string> ConvFixes(LayerSpec layer, int h, int w, int kh, int kw, int sh, int sw, int pt, int pb, int pl, int pr,
        int dil, string hArg, string wArg)
    {
        var fixes = new List<string>();
        bool perSide = layer.Find("PadTop") is not null || layer.Find("PadBottom") is not null || layer.Find("PadLeft") is not null || layer.Find("PadRight") is not null;
        string? same = null;
        if (kh % 2 == 1 && kw % 2 == 1)
        {
            long ph = (long)(kh - 1) / 2 * dil, pw = (long)(kw - 1) / 2 * dil;
            bool changes = ph != pt || ph != pb || pw != pl || pw != pr;
            long dh = Dropped(h, ph, ph, kh, sh, dil), dw = Dropped(w, pw, pw, kw, sw, dil);
            if (changes && ph <= 1_000_000 && pw <= 1_000_000 && dh >= 0 && dw >= 0)
            {
                same = ph == pw
                    ? $"Padding={S(ph)}" + (perSide ? ";PadTop=;PadBottom=;PadLeft=;PadRight=" : "")
                    : $"Padding=;PadTop={S(ph)};PadBottom={S(ph)};PadLeft={S(pw)};PadRight={S(pw)}";
                // "same" fixes an output < 1 always, but dropped rows only when it leaves none.
                fixes.Add((dh == 0 && dw == 0 ? "same|" : "same-fits|") + same);
            }
        }
        foreach (string arg in hArg == wArg ? new[] { hArg } : new[] { hArg, wArg })
        {
            bool height = hArg == arg, width = wArg == arg;
            int current = height ? sh : sw;
            for (int d = 1; d < current; d++)
            {
                int found = 0;
                foreach (int s in new[] { current - d, current + d })
                    if ((!height || Dropped(h, pt, pb, kh, s, dil) == 0) && (!width || Dropped(w, pl, pr, kw, s, dil) == 0)) { found = s; break; }
                if (found == 0) continue;
                fixes.Add($"stride|{arg}={S(found)}");
                break;
            }
        }
        if (!perSide)
        {
            int pad = pt;
            for (int d = 1; d <= Math.Max(sh, sw); d++)
            {
                int found = -1;
                foreach (int p in new[] { pad - d, pad + d })
                    if (p >= 0 && p <= 1_000_000 && Dropped(h, p, p, kh, sh, dil) == 0 && Dropped(w, p, p, kw, sw, dil) == 0) { found = p; break; }
                if (found < 0) continue;
                if (same != $"Padding={S(found)}") fixes.Add($"padding|Padding={S(found)}");
                break;
            }
        }
        return fixes;
    }

    /// <summary>Repairs for NDSL0202 on a pooling layer: the nearest stride, and the nearest padding (at most half the window), with no row dropped.</summary>
    private static List<string> PoolFixes(int h, int w, int size, int stride, int pad)
    {
        var fixes = new List<string>();
        for (int d = 1; d < stride; d++)
        {
            int found = 0;
            foreach (int s in new[] { stride - d, stride + d })
                if (Dropped(h, pad, pad, size, s, 1) == 0 && Dropped(w, pad, pad, size, s, 1) == 0) { found = s; break; }
            if (found == 0) continue;
            fixes.Add($"stride|Stride={S(found)}");
            break;
        }
        for (int d = 1; d <= size / 2; d++)
        {
            int found = -1;
            foreach (int p in new[] { pad - d, pad + d })
                if (p >= 0 && 2 * p <= size && Dropped(h, p, p, size, stride, 1) == 0 && Dropped(w, p, p, size, stride, 1) == 0) { found = p; break; }
            if (found < 0) continue;
            fixes.Add($"padding|Padding={S(found)}");
            break;
        }
        return fixes;
    }

    /// <summary>floor((in + padA + padB − dil·(k−1) − 1) / stride) + 1, with the diagnostics that show that arithmetic.</summary>
    private static int OutputSize(LayerContext ctx, string dim, string unit, int input, int padA, int padB, int k, int stride, int dil,
        string kernelArg, string strideArg)
    {
        long span = (long)input + padA + padB - (long)dil * (k - 1) - 1;
        long output = FloorDiv(span, stride) + 1;
        string dilText = dil == 1 ? $"({S(k)} − 1)" : $"{S(dil)}·({S(k)} − 1)";
        string arithmetic = $"⌊({S(input)} + {S(padA)} + {S(padB)} − {dilText} − 1) / {S(stride)}⌋ + 1 = ⌊{S(span)} / {S(stride)}⌋ + 1 = {S(output)}";
        if (output < 1)
        {
            ctx.Report("NDSL0201", kernelArg, dim, arithmetic,
                $"is {S(input)} with padding {S(padA)}+{S(padB)}, smaller than the window {S(dil * (k - 1) + 1)}");
            return 0;
        }
        // Only real rows matter: trailing rows that are all padding are no loss.
        if (span % stride > padB)
        {
            long dropped = span % stride - padB;
            ctx.Warn("NDSL0202", strideArg, $"({S(input)} + {S(padA)} + {S(padB)} − {dilText} − 1) = {S(span)}", S(stride), S(dropped),
                dropped == 1 ? unit.TrimEnd('s') : unit, dropped == 1 ? "is" : "are", dim, $"⌊{S(span)} / {S(stride)}⌋ + 1 = {S(output)}");
        }
        return output > int.MaxValue ? int.MaxValue : (int)output;
    }

    private static long FloorDiv(long a, long b) => a >= 0 ? a / b : -((-a + b - 1) / b);

    /// <summary>Reads and validates one layer's arguments, reporting each bad value on its own argument.</summary>
    private sealed class LayerContext
    {
        private readonly List<Problem> _problems;
        public LayerContext(LayerSpec layer, int index, string display, List<Problem> problems)
        {
            Layer = layer; Index = index; Display = display; _problems = problems;
        }

        public LayerSpec Layer { get; }
        public int Index { get; }
        public string Display { get; }
        public bool Failed { get; private set; }

        public void Report(string id, string? arg, params string[] rest)
        {
            var values = new string[rest.Length + 1];
            values[0] = Display;
            Array.Copy(rest, 0, values, 1, rest.Length);
            _problems.Add(new Problem(id, true, Index, arg, new EquatableArray<string>(values)));
            Failed = true;
        }

        /// <summary>How many problems have been reported so far (for <see cref="AttachFixes"/>).</summary>
        public int Mark => _problems.Count;

        /// <summary>Attaches repairs to this layer's NDSL0201/0202 problems reported since <paramref name="mark"/>: NDSL0201 gets only
        /// "same"; NDSL0202 gets "same", "padding", and the "stride" fix for its own stride argument.</summary>
        public void AttachFixes(int mark, List<string> fixes)
        {
            for (int i = mark; i < _problems.Count; i++)
            {
                var p = _problems[i];
                if (p.LayerIndex != Index || p.Id is not ("NDSL0201" or "NDSL0202")) continue;
                var mine = new List<string>();
                foreach (var f in fixes)
                {
                    if (f.StartsWith("same|", StringComparison.Ordinal)) mine.Add(f);
                    else if (p.Id == "NDSL0201" && f.StartsWith("same-fits|", StringComparison.Ordinal)) mine.Add("same|" + f.Substring("same-fits|".Length));
                    else if (p.Id == "NDSL0202" && (f.StartsWith("padding|", StringComparison.Ordinal) || f.StartsWith("stride|" + p.ArgName + "=", StringComparison.Ordinal))) mine.Add(f);
                }
                if (mine.Count > 0) _problems[i] = p with { Fixes = mine.ToEquatableArray() };
            }
        }

        public void Warn(string id, string? arg, params string[] rest)
        {
            var values = new string[rest.Length + 1];
            values[0] = Display;
            Array.Copy(rest, 0, values, 1, rest.Length);
            _problems.Add(new Problem(id, false, Index, arg, new EquatableArray<string>(values)));
        }

        public int Int(string name, int fallback, int min, string expectation)
        {
            var a = Layer.Find(name);
            if (a is null) return fallback;
            if (a.Type != ArgType.Int) { Report("NDSL0101", name, name, "an integer constant", a.Text ?? "a non-constant"); return fallback; }
            if (a.Int < min || a.Int > 1_000_000) { Report("NDSL0101", name, name, a.Int < min ? expectation : "at most 1000000", S(a.Int)); return fallback; }
            return (int)a.Int;
        }

        public double Real(string name, double fallback, double min, double max, string expectation, bool upperInclusive)
        {
            var a = Layer.Find(name);
            if (a is null) return fallback;
            double v = a.Type switch { ArgType.Real => a.Real, ArgType.Int => a.Int, _ => double.NaN };
            if (a.Type is not (ArgType.Real or ArgType.Int)) { Report("NDSL0101", name, name, "a numeric constant", a.Text ?? "a non-constant"); return fallback; }
            bool ok = v >= min && (upperInclusive ? v <= max : v < max);
            if (!ok) { Report("NDSL0101", name, name, expectation, S(v)); return fallback; }
            return v;
        }

        public bool Bool(string name, bool fallback)
        {
            var a = Layer.Find(name);
            if (a is null) return fallback;
            if (a.Type != ArgType.Bool) { Report("NDSL0101", name, name, "true or false", a.Text ?? "a non-constant"); return fallback; }
            return a.Int != 0;
        }

        public int InitArg()
        {
            var a = Layer.Find("Init");
            if (a is null) return 0;
            if (a.Type != ArgType.Int || a.Int is < 0 or > 4) { Report("NDSL0101", "Init", "Init", "a defined NetDsl.Init value", a.Text ?? S(a.Int)); return 0; }
            return (int)a.Int;
        }
    }
}
