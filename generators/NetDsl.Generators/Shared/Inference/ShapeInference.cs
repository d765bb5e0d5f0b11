using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Families;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Inference;

/// <summary>
/// The single shape-inference module. The generator and the analyzers both call <see cref="Infer"/>, so they
/// can never disagree about a shape. It never throws: every problem becomes a <see cref="Problem"/>.
/// </summary>
internal static partial class ShapeInference
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
            problems.Add(new Problem(DiagnosticIds.UnknownLayerAttribute, true, -1, null, Args(spec.ClassName, "internal error in shape inference: " + e.Message)));
            return new InferenceResult(null, problems.ToEquatableArray());
        }
    }

    private static EquatableArray<string> Args(params string[] values) => new(values);
    private static string S(long v) => v.ToString(CultureInfo.InvariantCulture);
    private static string S(double v) => v.ToString("R", CultureInfo.InvariantCulture);

    private static ShapedNetwork? InferCore(NetworkSpec spec, List<Problem> problems)
    {
        if (!spec.IsPartial) problems.Add(new Problem(DiagnosticIds.NotPartial, true, -1, null, Args(spec.ClassName)));
        if (spec.IsGeneric) problems.Add(new Problem(DiagnosticIds.UnsupportedClass, true, -1, null, Args(spec.ClassName, "is generic")));
        else if (spec.IsStatic) problems.Add(new Problem(DiagnosticIds.UnsupportedClass, true, -1, null, Args(spec.ClassName, "is static")));
        foreach (var t in spec.ContainingTypes)
        {
            if (t.IsGeneric) problems.Add(new Problem(DiagnosticIds.UnsupportedClass, true, -1, null, Args(spec.ClassName, $"is nested in the generic type '{t.Name}'")));
            else if (!t.IsPartial) problems.Add(new Problem(DiagnosticIds.UnsupportedClass, true, -1, null, Args(spec.ClassName, $"is nested in '{t.Name}', which is not partial")));
            else if (t.Keyword is not ("class" or "struct" or "record" or "record struct")) problems.Add(new Problem(DiagnosticIds.UnsupportedClass, true, -1, null, Args(spec.ClassName, $"is nested in the {t.Keyword} '{t.Name}'")));
        }
        if (spec.DeclarationsWithLayers > 1) problems.Add(new Problem(DiagnosticIds.LayersSplit, true, -1, null, Args(spec.ClassName, S(spec.DeclarationsWithLayers))));

        int inC = NetworkDim(spec, "channels", problems);
        int inH = NetworkDim(spec, "height", problems);
        int inW = NetworkDim(spec, "width", problems);
        int netInit = (int)(spec.NetworkArgs.AsSpan().Length > 0 ? FindInt(spec.NetworkArgs, "Init", 0) : 0);
        if (netInit is < 0 or > 4) problems.Add(new Problem(DiagnosticIds.InvalidArgument, true, -1, "Init", Args("Network", "Init", "a defined NetDsl.Init value", S(netInit))));

        if (spec.Layers.Count == 0 && spec.OriginalTypeName is null)
        {
            problems.Add(new Problem(DiagnosticIds.NoLayers, true, -1, null, Args(spec.ClassName)));
            return null;
        }
        if (inC < 1 || inH < 1 || inW < 1) return null;
        if (spec.OriginalTypeName is not null) return InferTwin(spec, inC, inH, inW, problems);
        if ((long)inC * inH * inW > MaxElements)
        {
            problems.Add(new Problem(DiagnosticIds.TooLarge, true, -1, null, Args(spec.ClassName,
                $"the input {S(inC)}×{S(inH)}×{S(inW)} = {N((long)inC * inH * inW)} floats per sample is too large")));
            return null;
        }

        // Every layer's name first (default: the family's prefix and a running number), so references can point anywhere.
        int count = spec.Layers.Count;
        var layerNames = new string[count];
        var byName = new Dictionary<string, List<int>>(StringComparer.Ordinal);
        {
            var counts = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < count; i++)
            {
                string prefix = LayerFamilies.Of(spec.Layers[i].Kind)?.Prefix(spec.Layers[i].Kind) ?? "layer";
                counts.TryGetValue(prefix, out int n);
                counts[prefix] = ++n;
                layerNames[i] = spec.Layers[i].ExplicitName ?? prefix + S(n);
                if (!byName.TryGetValue(layerNames[i], out var list)) byName[layerNames[i]] = list = new List<int>();
                list.Add(i);
            }
        }

        var shaped = new ShapedLayer?[count];
        var displays = new string[count];
        int offset = 0, buffers = 0;
        bool shapeKnown = true;
        var lastKnown = new TensorShape(inC, inH, inW);
        var firstUse = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < count; i++)
        {
            var layer = spec.Layers[i];
            string name = layerNames[i];
            string display = $"{name} (layer {i + 1}, {layer.AttributeName})";
            displays[i] = display;
            var family = LayerFamilies.Of(layer.Kind);
            if (family is null)
            {
                problems.Add(new Problem(DiagnosticIds.UnknownLayerAttribute, true, i, null, Args(spec.ClassName, $"layer {i + 1} '{layer.AttributeName}' is not a layer NetDsl knows")));
                shapeKnown = false;
                continue;
            }
            if (layer.ExplicitName is { } explicitName && !IsValidName(explicitName))
                problems.Add(new Problem(DiagnosticIds.InvalidArgument, true, i, "Name", Args(display, "Name", "a non-empty identifier of letters, digits, '_' or '-'", "'" + explicitName + "'")));
            if (firstUse.TryGetValue(name, out int other))
            {
                var duplicate = new Problem(DiagnosticIds.DuplicateName, true, i, layer.ExplicitName is null ? null : "Name", Args(display, name, $"layer {other + 1}"));
                if (IsValidName(name)) duplicate = duplicate with { Fixes = new EquatableArray<Repair>(new[] { Repair.Of(RepairKind.UniqueName, new ArgumentEdit("Name", "\"" + UniqueName(name, byName) + "\"")) }) };
                problems.Add(duplicate);
            }
            else firstUse[name] = i;

            var inputs = ResolveInputs(spec, i, display, layerNames, byName, problems);
            if (inputs is null) { shapeKnown = false; continue; }
            var shapes = new TensorShape[inputs.Count];
            var inputNames = new string[inputs.Count];
            for (int j = 0; j < inputs.Count; j++)
            {
                int source = inputs[j].Index;
                inputNames[j] = inputs[j].Name;
                shapes[j] = source < 0 ? new TensorShape(inC, inH, inW)
                    : shaped[source] is { } s ? new TensorShape(s.OutC, s.OutH, s.OutW)
                    : lastKnown; // an earlier layer failed: check this one's arguments against the last shape known
            }
            var ctx = new LayerContext(layer, i, name, display, inputs.Select(x => x.Index).ToEquatableArray(), inputNames, shapes, problems, offset, buffers)
            {
                AllNames = layerNames,
            };
            var result = family.Infer(ctx);
            if (result is not null && shapeKnown && !FitsInArrays(ctx, result)) result = null;
            if (result is null || !shapeKnown)
            {
                shapeKnown = false;
                continue;
            }
            offset = ctx.ParameterOffset;
            buffers = ctx.BufferOffset;
            shaped[i] = result;
            lastKnown = new TensorShape(result.OutC, result.OutH, result.OutW);
        }

        Advise(spec, displays, problems);
        if (!shapeKnown || problems.Exists(p => p.IsError)) return null;
        var layers = shaped.Select(l => l!).ToList();
        AdviseOnShapes(spec, layers, displays, offset, problems);
        AdviseOnGraph(layers, displays, problems);

        // Auto initialization looks at the activation that reads each parametered layer.
        for (int i = 0; i < layers.Count; i++)
        {
            var l = layers[i];
            if (!l.HasParameters || l.Kind is LayerKind.BatchNorm or LayerKind.PReLU) continue;
            int init = l.Init != 0 ? l.Init : netInit;
            if (init == 0)
            {
                bool relu = layers.Any(r => r.InputLayer == i && r.Kind is LayerKind.ReLU or LayerKind.LeakyReLU);
                init = relu ? 1 : 2; // He : Glorot
            }
            layers[i] = l with { Init = init };
        }

        return new ShapedNetwork(spec.Namespace, spec.ClassName, spec.ContainingTypes, inC, inH, inW, layers.ToEquatableArray(), offset, buffers);
    }

    /// <summary>
    /// The layers layer <paramref name="i"/> reads: the previous one; the one its <c>From</c> names; for Add and Concat, the
    /// listed ones (<c>[Concat("b1", "b2")]</c>), or the previous one and <c>From</c>. Null after reporting a bad reference.
    /// </summary>
    private static List<(int Index, string Name)>? ResolveInputs(NetworkSpec spec, int i, string display, string[] names,
        Dictionary<string, List<int>> byName, List<Problem> problems)
    {
        var layer = spec.Layers[i];
        bool join = layer.Kind is LayerKind.Add or LayerKind.Concat;
        var from = layer.Find("From");
        var list = layer.Find("inputs");
        string previous = i == 0 ? "input" : names[i - 1];
        var inputs = new List<(int, string)>();
        void Bad(string arg, int item, string expectation, string got) =>
            problems.Add(new Problem(DiagnosticIds.InvalidArgument, true, i, arg, Args(display, arg, expectation, got)) { ArgItem = item });

        if (join && list is { Type: ArgType.TextList } && list.Texts.Count > 0)
        {
            if (from is not null) { Bad("From", -1, "left out when the inputs are listed", $"\"{from.Text}\""); return null; }
            if (list.Texts.Count < 2) { Bad("inputs", -1, "at least two layer names", "one"); return null; }
            for (int j = 0; j < list.Texts.Count; j++)
            {
                int index = Resolve(list.Texts[j], i, display, names, byName, problems, "inputs", j);
                if (index == int.MinValue) return null;
                inputs.Add((index, list.Texts[j]));
            }
            return inputs;
        }
        if (join && from?.Text is not { Length: > 0 })
        {
            Bad(from is null ? (list is null ? null! : "inputs") : "From", -1, "the name of an earlier layer (or \"input\")", from?.Text is null ? "nothing" : "''");
            return null;
        }
        if (join) inputs.Add((i - 1, previous));
        if (from is not null)
        {
            if (from.Text is not { Length: > 0 } source) { Bad("From", -1, "the name of an earlier layer (or \"input\")", from.Text is null ? "null" : "''"); return null; }
            int index = Resolve(source, i, display, names, byName, problems, "From", -1);
            if (index == int.MinValue) return null;
            inputs.Add((index, source));
        }
        else inputs.Add((i - 1, previous));
        return inputs;
    }

    /// <summary>The index of the layer named <paramref name="source"/> (−1: "input"), or int.MinValue after NDSL0103.</summary>
    private static int Resolve(string source, int i, string display, string[] names, Dictionary<string, List<int>> byName,
        List<Problem> problems, string arg, int item)
    {
        string? why = null;
        if (!byName.TryGetValue(source, out var owners))
        {
            if (source == "input") return -1;
            var earlier = names.Take(i).Distinct().ToList();
            why = $"no earlier layer is named '{source}'; earlier layers: {(earlier.Count == 0 ? "none" : string.Join(", ", earlier))} (or \"input\")";
        }
        else if (owners.Count > 1 && owners[0] < i)
            why = $"the name is ambiguous: layers {string.Join(" and ", owners.Select(o => S(o + 1)))} are both named '{source}'";
        else if (owners[0] == i) why = "a layer cannot read its own output";
        else if (owners[0] > i) why = $"layer {S(owners[0] + 1)} is named '{source}', but a layer can only read an earlier layer";
        else return owners[0];
        string reference = item < 0 ? $"From = \"{source}\"" : $"input {S(item + 1)} \"{source}\"";
        problems.Add(new Problem(DiagnosticIds.UnknownSource, true, i, arg, Args(display, reference, why)) { ArgItem = item });
        return int.MinValue;
    }

    /// <summary>NDSL0306: a layer (other than the last) whose output no layer reads does not affect the output.</summary>
    private static void AdviseOnGraph(List<ShapedLayer> layers, string[] displays, List<Problem> problems)
    {
        var read = new bool[layers.Count];
        foreach (var l in layers) foreach (int s in l.Inputs) if (s >= 0) read[s] = true;
        for (int i = 0; i < layers.Count - 1; i++)
            if (!read[i])
                problems.Add(new Problem(DiagnosticIds.DeadBranch, false, i, null, Args(displays[i], layers[i].Name)));
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
        double workspace = l.Params is ConvParams c
            ? l.Kind == LayerKind.Conv2D ? (double)l.InC * c.KernelH * c.KernelW * l.OutH * l.OutW : (double)l.OutC * c.KernelH * c.KernelW * l.InH * l.InW
            : 0;
        if (workspace > MaxElements)
        {
            ctx.Report(DiagnosticIds.TooLarge, null, $"its im2col workspace of {workspace.ToString("N0", CultureInfo.InvariantCulture)} floats per sample is too large");
            return false;
        }
        if (outSize <= MaxElements) return true;
        ctx.Report(DiagnosticIds.TooLarge, null, $"its output {S(l.OutC)}×{S(l.OutH)}×{S(l.OutW)} = {outSize.ToString("N0", CultureInfo.InvariantCulture)} floats per sample is too large");
        return false;
    }

    /// <summary>The name's stem (trailing digits removed) plus the smallest number ≥ 2 that no layer uses.</summary>
    private static string UniqueName<T>(string name, Dictionary<string, T> used)
    {
        string stem = name.TrimEnd('0', '1', '2', '3', '4', '5', '6', '7', '8', '9');
        if (stem.Length == 0) stem = name + "_";
        for (int n = 2; ; n++)
        {
            string candidate = stem + S(n);
            if (!used.ContainsKey(candidate) && candidate != "input") return candidate;
        }
    }

    private static bool IsActivation(LayerKind kind) => LayerFamilies.IsActivation(kind);

    /// <summary>Advice from the layer order alone (NDSL0302–0304): reported even while shapes have errors.</summary>
    private static void Advise(NetworkSpec spec, string?[] displays, List<Problem> problems)
    {
        int last = spec.Layers.Count - 1;
        for (int i = 0; i <= last; i++)
        {
            var kind = spec.Layers[i].Kind;
            if (displays[i] is not { } display) continue;
            if (i > 0 && spec.Layers[i].From is null && IsActivation(kind) && IsActivation(spec.Layers[i - 1].Kind) && displays[i - 1] is { } previous)
            {
                var before = spec.Layers[i - 1].Kind;
                bool nonNegative = before is LayerKind.ReLU or LayerKind.Sigmoid or LayerKind.Softmax;
                string why = nonNegative && kind is LayerKind.ReLU or LayerKind.LeakyReLU or LayerKind.PReLU or LayerKind.ELU
                    ? $"{before} outputs are never negative, so this {kind} changes nothing"
                    : "with no layer between them the second only distorts the first one's output";
                problems.Add(new Problem(DiagnosticIds.ActivationAfterActivation, false, i, null, Args(display, previous, why)));
            }
            if (kind == LayerKind.Sigmoid && i < last)
                problems.Add(new Problem(DiagnosticIds.HiddenSigmoid, false, i, null, Args(display)));
            if (kind == LayerKind.Softmax && i < last && displays[i + 1] is { } next)
                problems.Add(new Problem(DiagnosticIds.SoftmaxNotLast, false, i, null, Args(display, next, last - i == 1 ? "1 more layer follows" : S(last - i) + " more layers follow")));
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
                problems.Add(new Problem(DiagnosticIds.NoOpFlatten, false, l.Index, null, Args(displays[l.Index]!, input, "; remove it (a Dense flattens by itself)")));
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
            problems.Add(new Problem(DiagnosticIds.NoOpFlatten, false, l.Index, null, Args(displays[l.Index]!, input,
                $" ({origin.Name} already shrinks its {S(origin.InH)}×{S(origin.InW)} input to one pixel, so it acts as a dense layer; if that was not meant, pool less or pad more)")));
        }

        if (parameters <= LargeParameterCount || layers.Count == 0) return;
        var largest = layers[0];
        foreach (var l in layers) if (l.ParameterCount > largest.ParameterCount) largest = l;
        // Truncated, so a layer holding all but a few parameters reads 99.9 %, not 100.0 %.
        string share = (Math.Floor(1000.0 * largest.ParameterCount / parameters) / 10).ToString("0.0", CultureInfo.InvariantCulture);
        problems.Add(new Problem(DiagnosticIds.LargeParameterCount, false, largest.Index, null, Args(spec.ClassName, N(parameters),
            (parameters * 4.0 / (1 << 20)).ToString("0", CultureInfo.InvariantCulture), displays[largest.Index]!, N(largest.ParameterCount), share)));
    }

    private static string N(long v) => v.ToString("N0", CultureInfo.InvariantCulture);

    private static int NetworkDim(NetworkSpec spec, string name, List<Problem> problems)
    {
        long v = FindInt(spec.NetworkArgs, name, -1);
        if (v < 1 || v > 1_000_000)
        {
            problems.Add(new Problem(DiagnosticIds.InvalidInputShape, true, -1, name, Args(spec.ClassName, name, S(v))));
            return 0;
        }
        return (int)v;
    }

    private static long FindInt(EquatableArray<Arg> args, string name, long fallback)
    {
        foreach (var a in args) if (a.Name == name && a.Type == ArgType.Int) return a.Int;
        return fallback;
    }
}
