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

        var layers = new List<ShapedLayer>();
        var names = new Dictionary<string, int>(StringComparer.Ordinal);
        var kindCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        int c = inC, h = inH, w = inW, offset = 0, buffers = 0;
        bool shapeKnown = true;
        var allNames = new Dictionary<string, int>(StringComparer.Ordinal);
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

            if (layer.Kind == LayerKind.Unknown)
            {
                problems.Add(new Problem("NDSL0006", true, i, null, Args(spec.ClassName, $"layer {i + 1} '{layer.AttributeName}' is not a layer NetDsl knows")));
                shapeKnown = false;
                continue;
            }
            if (layer.ExplicitName is { } explicitName && !IsValidName(explicitName))
                problems.Add(new Problem("NDSL0101", true, i, "Name", Args(display, "Name", "a non-empty identifier of letters, digits, '_' or '-'", "'" + explicitName + "'")));
            if (names.TryGetValue(name, out int other))
                problems.Add(new Problem("NDSL0102", true, i, layer.ExplicitName is null ? null : "Name", Args(display, name, $"layer {other + 1}")));
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
            if (shaped is null || !shapeKnown)
            {
                shapeKnown = false;
                continue;
            }
            layers.Add(shaped);
            c = shaped.OutC; h = shaped.OutH; w = shaped.OutW;
        }

        if (!shapeKnown || problems.Exists(p => p.IsError)) return null;

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
        int oh = OutputSize(ctx, "height", "rows", h, pt, pb, kh, sh, dil, kernelArg: ctx.Layer.Find("kernel") is not null ? "kernel" : "kernelHeight", strideArg: hArg);
        if (oh < 1) return null; // one NDSL0201 per layer: a square kernel would report the same thing twice
        int ow = OutputSize(ctx, "width", "columns", w, pl, pr, kw, sw, dil, kernelArg: ctx.Layer.Find("kernel") is not null ? "kernel" : "kernelWidth", strideArg: wArg);
        if (ow < 1) return null;

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
        int oh = OutputSize(ctx, "height", "rows", h, pad, pad, size, stride, 1, "size", "Stride");
        if (oh < 1) return null;
        int ow = OutputSize(ctx, "width", "columns", w, pad, pad, size, stride, 1, "size", "Stride");
        if (ow < 1) return null;
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
        else if (earlier.TryGetValue(source, out index)) { }
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
        if (ctx.Failed) return null;
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
        var l = Base(ctx, name, c, h, w) with
        {
            Real = initial, WeightOffset = offset, WeightCount = count, WeightShape = Shape(count),
        };
        offset += count;
        return l;
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
