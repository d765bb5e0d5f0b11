using System;
using System.Collections.Generic;
using System.Globalization;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Inference;

/// <summary>The shape of one layer input: channels, height, width.</summary>
internal readonly record struct TensorShape(int C, int H, int W)
{
    public long Size => (long)C * H * W;
    public override string ToString() => $"{C.ToString(CultureInfo.InvariantCulture)}×{H.ToString(CultureInfo.InvariantCulture)}×{W.ToString(CultureInfo.InvariantCulture)}";
}

/// <summary>
/// What a layer family sees while it infers one layer: the attribute's arguments (read and validated one by one, each bad
/// value reported on its own argument), the shapes of the layers it reads, and the running parameter and buffer offsets.
/// </summary>
internal sealed class LayerContext
{
    private readonly List<Problem> _problems;

    public LayerContext(LayerSpec layer, int index, string name, string display, EquatableArray<int> inputs, string[] inputNames, TensorShape[] inputShapes,
        List<Problem> problems, int parameterOffset, int bufferOffset)
    {
        Layer = layer; Index = index; Name = name; Display = display; Inputs = inputs; InputNames = inputNames; InputShapes = inputShapes;
        _problems = problems; ParameterOffset = parameterOffset; BufferOffset = bufferOffset;
    }

    public LayerSpec Layer { get; }
    public int Index { get; }
    public string Name { get; }
    public string Display { get; }
    /// <summary>The layers it reads (−1: the network input), resolved from the previous layer, <c>From</c>, or the join's list.</summary>
    public EquatableArray<int> Inputs { get; }
    public TensorShape[] InputShapes { get; }
    /// <summary>The inputs' names as the user wrote them (or would: the previous layer's name).</summary>
    public string[] InputNames { get; }
    public TensorShape Input => InputShapes[0];
    public bool Failed { get; private set; }
    /// <summary>Every layer's name (for repairs that add a layer and must name it uniquely).</summary>
    public IReadOnlyList<string> AllNames { get; init; } = Array.Empty<string>();
    /// <summary>Where the next parameters go in the flat buffer; advanced by <see cref="WithParameters"/>.</summary>
    public int ParameterOffset { get; private set; }
    public int BufferOffset { get; private set; }

    /// <summary>The layer with output shape (c, h, w) reading <see cref="Input"/>.</summary>
    public ShapedLayer Shaped(int c, int h, int w, LayerParams parameters) =>
        new(Layer.Kind, Index, Name, Inputs, Input.C, Input.H, Input.W, c, h, w, parameters) { Frozen = Bool("Frozen", false) };

    /// <summary>The layer with its input shape unchanged.</summary>
    public ShapedLayer SameShape(LayerParams parameters) => Shaped(Input.C, Input.H, Input.W, parameters);

    /// <summary>Gives <paramref name="layer"/> a weight (and a bias when <paramref name="biasShape"/> is given) at the next offset,
    /// or reports NDSL0204 and returns null when the parameters would not fit in one array.</summary>
    public ShapedLayer? WithParameters(ShapedLayer layer, int[] weightShape, int[]? biasShape, int init)
    {
        double weights = 1, biases = biasShape is null ? 0 : 1;
        foreach (int d in weightShape) weights *= d;
        if (biasShape is not null) foreach (int d in biasShape) biases *= d;
        double count = weights + biases;
        if (ParameterOffset + count > ShapeInference.MaxElements)
        {
            Report(DiagnosticIds.TooLarge, null, count > ShapeInference.MaxElements
                ? $"its {count.ToString("N0", CultureInfo.InvariantCulture)} parameters are too many"
                : $"the parameters up to this layer, {(ParameterOffset + count).ToString("N0", CultureInfo.InvariantCulture)}, are too many");
            return null;
        }
        int wc = (int)weights, bc = (int)biases;
        var result = layer with
        {
            Init = init, WeightOffset = ParameterOffset, WeightCount = wc, BiasOffset = ParameterOffset + wc, BiasCount = bc,
            WeightShape = new EquatableArray<int>(weightShape),
            BiasShape = biasShape is null ? EquatableArray<int>.Empty : new EquatableArray<int>(biasShape),
        };
        ParameterOffset += wc + bc;
        return result;
    }

    /// <summary>Gives <paramref name="layer"/> <paramref name="count"/> floats of non-trained state (running statistics).</summary>
    public ShapedLayer WithBuffers(ShapedLayer layer, int count)
    {
        var result = layer with { BufferOffset = BufferOffset, BufferCount = count };
        BufferOffset += count;
        return result;
    }

    public void Report(string id, string? arg, params string[] rest) => Add(id, true, arg, -1, rest);

    public void ReportItem(string id, string arg, int item, params string[] rest) => Add(id, true, arg, item, rest);

    /// <summary>Attaches <paramref name="repair"/> to the last problem reported.</summary>
    public void AttachToLast(Repair repair)
    {
        var p = _problems[_problems.Count - 1];
        _problems[_problems.Count - 1] = p with { Fixes = new EquatableArray<Repair>(new[] { repair }) };
    }

    public void Warn(string id, string? arg, params string[] rest) => Add(id, false, arg, -1, rest);

    private void Add(string id, bool error, string? arg, int item, string[] rest)
    {
        var values = new string[rest.Length + 1];
        values[0] = Display;
        Array.Copy(rest, 0, values, 1, rest.Length);
        _problems.Add(new Problem(id, error, Index, arg, new EquatableArray<string>(values)) { ArgItem = item });
        if (error) Failed = true;
    }

    /// <summary>How many problems have been reported so far (for <see cref="AttachFixes"/>).</summary>
    public int Mark => _problems.Count;

    /// <summary>Attaches repairs to this layer's NDSL0201/0202 problems reported since <paramref name="mark"/>: NDSL0201 gets only
    /// "same" padding (also the kind that still drops rows); NDSL0202 gets "same" (when it drops none), "padding", and the "stride"
    /// fix for its own stride argument.</summary>
    public void AttachFixes(int mark, List<(Repair Repair, bool DropsNone)> fixes)
    {
        for (int i = mark; i < _problems.Count; i++)
        {
            var p = _problems[i];
            if (p.LayerIndex != Index || p.Id is not (DiagnosticIds.OutputTooSmall or DiagnosticIds.OutputNotIntegral)) continue;
            var mine = new List<Repair>();
            foreach (var (f, dropsNone) in fixes)
            {
                if (f.Kind == RepairKind.SamePadding && (dropsNone || p.Id == DiagnosticIds.OutputTooSmall)) mine.Add(f);
                else if (p.Id == DiagnosticIds.OutputNotIntegral && (f.Kind == RepairKind.Padding
                    || f.Kind == RepairKind.Stride && f.Edits.Count > 0 && f.Edits[0].Name == p.ArgName)) mine.Add(f);
            }
            if (mine.Count > 0) _problems[i] = p with { Fixes = mine.ToEquatableArray() };
        }
    }

    public bool Has(string name) => Layer.Find(name) is not null;

    public int Int(string name, int fallback, int min, string expectation)
    {
        var a = Layer.Find(name);
        if (a is null) return fallback;
        if (a.Type != ArgType.Int) { Report(DiagnosticIds.InvalidArgument, name, name, "an integer constant", a.Text ?? "a non-constant"); return fallback; }
        if (a.Int < min || a.Int > 1_000_000) { Report(DiagnosticIds.InvalidArgument, name, name, a.Int < min ? expectation : "at most 1000000", S(a.Int)); return fallback; }
        return (int)a.Int;
    }

    public double Real(string name, double fallback, double min, double max, string expectation, bool upperInclusive)
    {
        var a = Layer.Find(name);
        if (a is null) return fallback;
        double v = a.Type switch { ArgType.Real => a.Real, ArgType.Int => a.Int, _ => double.NaN };
        if (a.Type is not (ArgType.Real or ArgType.Int)) { Report(DiagnosticIds.InvalidArgument, name, name, "a numeric constant", a.Text ?? "a non-constant"); return fallback; }
        bool ok = v >= min && (upperInclusive ? v <= max : v < max);
        if (!ok) { Report(DiagnosticIds.InvalidArgument, name, name, expectation, S(v)); return fallback; }
        return v;
    }

    public bool Bool(string name, bool fallback)
    {
        var a = Layer.Find(name);
        if (a is null) return fallback;
        if (a.Type != ArgType.Bool) { Report(DiagnosticIds.InvalidArgument, name, name, "true or false", a.Text ?? "a non-constant"); return fallback; }
        return a.Int != 0;
    }

    public int InitArg()
    {
        var a = Layer.Find("Init");
        if (a is null) return 0;
        if (a.Type != ArgType.Int || a.Int is < 0 or > 4) { Report(DiagnosticIds.InvalidArgument, "Init", "Init", "a defined NetDsl.Init value", a.Text ?? S(a.Int)); return 0; }
        return (int)a.Int;
    }

    public static string S(long v) => v.ToString(CultureInfo.InvariantCulture);
    public static string S(double v) => v.ToString("R", CultureInfo.InvariantCulture);
}
