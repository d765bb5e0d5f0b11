using NetDsl.Generators.Model;

namespace NetDsl.Generators.Inference;

/// <summary>A layer with every shape and parameter offset resolved. Plain values only.</summary>
internal sealed record ShapedLayer(
    LayerKind Kind,
    int Index,
    string Name,
    int InputLayer,          // index of the layer it reads, -1 for the network input
    int InC, int InH, int InW,
    int OutC, int OutH, int OutW,
    int KernelH, int KernelW,
    int StrideH, int StrideW,
    int PadTop, int PadBottom, int PadLeft, int PadRight,
    int Dilation,
    bool HasBias,
    double Real,             // dropout p, leaky slope, ELU alpha, BN momentum, LRN alpha, PReLU initial slope
    int Init,                // NetDsl.Init value
    int WeightOffset, int WeightCount,
    int BiasOffset, int BiasCount)
{
    public int Groups { get; init; } = 1;
    public int OutputPadding { get; init; }
    /// <summary>BN epsilon; LRN beta.</summary>
    public double Real2 { get; init; }
    /// <summary>LRN k.</summary>
    public double Real3 { get; init; }
    /// <summary>LRN size; Maxout pieces.</summary>
    public int Count { get; init; }
    public EquatableArray<int> WeightShape { get; init; } = EquatableArray<int>.Empty;
    public EquatableArray<int> BiasShape { get; init; } = EquatableArray<int>.Empty;
    /// <summary>Non-trained state (BN running mean and variance) in the network's buffer array.</summary>
    public int BufferOffset { get; init; }
    public int BufferCount { get; init; }
    /// <summary>Add/Concat: the layer whose output joins the previous one (-1: the network input); -2: none.</summary>
    public int SkipLayer { get; init; } = -2;
    public bool Frozen { get; init; }

    public int InSize => InC * InH * InW;
    public int OutSize => OutC * OutH * OutW;
    public bool HasParameters => WeightCount > 0;
    public int ParameterCount => WeightCount + BiasCount;
    public string Display => $"{Name} (layer {Index + 1}, {Kind})";
    public string OutShapeText => $"{OutC}×{OutH}×{OutW}";
    public bool IsSpatialInput => InH * InW > 1;
}

internal sealed record ShapedNetwork(
    string? Namespace,
    string ClassName,
    EquatableArray<ContainingType> ContainingTypes,
    int InC, int InH, int InW,
    EquatableArray<ShapedLayer> Layers,
    int ParameterCount,
    int BufferCount)
{
    public int InputSize => InC * InH * InW;
    public ShapedLayer Output => Layers[Layers.Count - 1];
    public int OutputSize => Output.OutSize;
}

/// <summary>One finding of the shape inference; the analyzer turns it into a located diagnostic.</summary>
/// <param name="LayerIndex">-1 for the network itself.</param>
/// <param name="ArgName">The attribute argument at fault (constructor parameter or property name), or null for the whole attribute.</param>
/// <param name="IsError">Errors stop generation; warnings and advice (NDSL03xx) do not.</param>
internal sealed record Problem(string Id, bool IsError, int LayerIndex, string? ArgName, EquatableArray<string> MessageArgs)
{
    /// <summary>
    /// Repairs the inference can vouch for, each "kind|Arg=expression;Arg=expression" (an empty expression removes that
    /// argument): kinds "same" (padding that keeps the size), "stride" and "padding" (nearest values with no row dropped),
    /// "name" (a unique name). The analyzer passes them on as diagnostic properties; the code fixes apply them.
    /// </summary>
    public EquatableArray<string> Fixes { get; init; } = EquatableArray<string>.Empty;
}

internal sealed record InferenceResult(ShapedNetwork? Network, EquatableArray<Problem> Problems)
{
    public bool HasErrors
    {
        get
        {
            foreach (var p in Problems) if (p.IsError) return true;
            return false;
        }
    }
}
