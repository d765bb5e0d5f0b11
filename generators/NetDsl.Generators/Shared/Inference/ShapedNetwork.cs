using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Inference;

// ---- Typed per-family hyperparameters, resolved (defaults applied, validated). Plain values only. ----

/// <summary>A family's resolved hyperparameters. Each family has its own record; layers without any use <see cref="NoParams"/>.</summary>
internal abstract record LayerParams;

internal sealed record NoParams : LayerParams
{
    public static readonly NoParams Instance = new();
}

/// <summary>Conv2D and ConvTranspose2D.</summary>
internal sealed record ConvParams(int KernelH, int KernelW, int StrideH, int StrideW, int PadTop, int PadBottom, int PadLeft, int PadRight,
    int Dilation, int Groups, int OutputPadding, bool HasBias) : LayerParams
{
    public bool IsPointwise => KernelH == 1 && KernelW == 1 && StrideH == 1 && StrideW == 1 && PadTop + PadBottom + PadLeft + PadRight == 0;
}

internal enum PoolMode { Max, Min, Average, L2, Sum }

/// <summary>Max, min, average, L2 and sum pooling: window, stride and symmetric padding per axis, PyTorch's ceil mode and count_include_pad.</summary>
internal sealed record PoolParams(PoolMode Mode, int KernelH, int KernelW, int StrideH, int StrideW, int PadH, int PadW, bool CeilMode, bool CountIncludePad) : LayerParams;

/// <summary>Dense: whether it adds a bias, and DropConnect's drop probability (0: none).</summary>
internal sealed record DenseParams(bool HasBias, double DropConnect = 0) : LayerParams;

/// <summary>One number: LeakyReLU's slope, ELU's alpha, dropout's p.</summary>
internal sealed record ScalarParams(double Value) : LayerParams;

internal sealed record PReluParams(bool PerChannel, double InitialSlope) : LayerParams;

internal sealed record BatchNormParams(double Momentum, double Epsilon) : LayerParams;

/// <summary>Local response normalization: across channels (PyTorch's), or within each channel over a size×size neighbourhood.</summary>
internal sealed record LrnParams(int Size, double Alpha, double Beta, double K, bool WithinChannel = false) : LayerParams;

internal sealed record MaxoutParams(int Units, int Pieces) : LayerParams;

/// <summary>Channel-wise maxout: the maximum over each group of <paramref name="Pieces"/> consecutive channels.</summary>
internal sealed record ChannelMaxoutParams(int Pieces) : LayerParams;

/// <summary>A layer with every shape and parameter offset resolved. Plain values only.</summary>
/// <param name="Inputs">The layers it reads, in order (−1: the network input). One for every layer but Add and Concat.</param>
internal sealed record ShapedLayer(
    LayerKind Kind,
    int Index,
    string Name,
    EquatableArray<int> Inputs,
    int InC, int InH, int InW,
    int OutC, int OutH, int OutW,
    LayerParams Params)
{
    /// <summary>NetDsl.Init value (resolved from Auto after inference).</summary>
    public int Init { get; init; }
    public int WeightOffset { get; init; }
    public int WeightCount { get; init; }
    public int BiasOffset { get; init; }
    public int BiasCount { get; init; }
    public EquatableArray<int> WeightShape { get; init; } = EquatableArray<int>.Empty;
    public EquatableArray<int> BiasShape { get; init; } = EquatableArray<int>.Empty;
    /// <summary>Non-trained state (BN running mean and variance) in the network's buffer array.</summary>
    public int BufferOffset { get; init; }
    public int BufferCount { get; init; }
    public bool Frozen { get; init; }
    /// <summary>In a fully convolutional twin, the dense weight shape [out, C·H·W] this convolution's weight [out, C, H, W]
    /// was in the original network (same floats in the same order); empty otherwise.</summary>
    public EquatableArray<int> DenseWeightShape { get; init; } = EquatableArray<int>.Empty;

    /// <summary>The first (for most layers the only) layer it reads.</summary>
    public int InputLayer => Inputs[0];
    public int InSize => InC * InH * InW;
    public int OutSize => OutC * OutH * OutW;
    public bool HasParameters => WeightCount > 0;
    public bool HasBias => BiasCount > 0;
    public int ParameterCount => WeightCount + BiasCount;
    public string Display => $"{Name} (layer {Index + 1}, {Kind})";
    public string OutShapeText => $"{OutC}×{OutH}×{OutW}";
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
    /// <summary>Set when this network is the fully convolutional twin of another (<c>ConvolutionalOf</c>).</summary>
    public TwinInfo? Twin { get; init; }

    public int InputSize => InC * InH * InW;
    public ShapedLayer Output => Layers[Layers.Count - 1];
    public int OutputSize => Output.OutSize;

    /// <summary>The floats per sample of layer <paramref name="index"/>'s output (−1: the input).</summary>
    public int SizeOf(int index) => index < 0 ? InputSize : Layers[index].OutSize;

    /// <summary>The name of layer <paramref name="index"/> (−1: "input").</summary>
    public string NameOf(int index) => index < 0 ? "input" : Layers[index].Name;
}

/// <summary>What a fully convolutional twin knows about the network it copies: its C# type, its input window, and how many
/// input rows and columns one step of the output map moves (the product of the strides before its first dense layer).</summary>
internal sealed record TwinInfo(string OriginalTypeName, string OriginalClassName, int WindowH, int WindowW, int StrideH, int StrideW, int MapH, int MapW);

/// <summary>One finding of the shape inference; the analyzer turns it into a located diagnostic.</summary>
/// <param name="Id">One of <see cref="DiagnosticIds"/>.</param>
/// <param name="LayerIndex">-1 for the network itself.</param>
/// <param name="ArgName">The attribute argument at fault (constructor parameter or property name), or null for the whole attribute.</param>
/// <param name="IsError">Errors stop generation; warnings and advice (NDSL03xx) do not.</param>
internal sealed record Problem(string Id, bool IsError, int LayerIndex, string? ArgName, EquatableArray<string> MessageArgs)
{
    /// <summary>Repairs the inference can vouch for; the analyzer passes them on as diagnostic properties, the code fixes apply them.</summary>
    public EquatableArray<Repair> Fixes { get; init; } = EquatableArray<Repair>.Empty;

    /// <summary>Which positional item of a <c>params</c> argument (Add/Concat inputs) is at fault, or −1 for the whole argument.</summary>
    public int ArgItem { get; init; } = -1;
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
