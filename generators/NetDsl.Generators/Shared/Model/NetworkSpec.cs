namespace NetDsl.Generators.Model;

// The generator's input model: what the user wrote, as plain values (no ISymbol, Location or
// Compilation), so the incremental pipeline can compare it and cache everything downstream.

internal enum LayerKind
{
    Unknown = 0,
    Conv2D,
    MaxPool2D,
    AvgPool2D,
    Dense,
    ReLU,
    LeakyReLU,
    Tanh,
    Sigmoid,
    Dropout,
    ConvTranspose2D,
    MinPool2D,
    GlobalAvgPool2D,
    BatchNorm,
    LocalResponseNorm,
    PReLU,
    ELU,
    Softmax,
    Maxout,
    Flatten,
    Add,
    Concat,
    L2Pool2D,
    SumPool2D,
    ChannelMaxout,
}

internal enum ArgType { Int, Real, Bool, Text, TextList, Invalid }

/// <summary>One attribute argument as written: a constructor parameter (by its parameter name) or a named property.
/// A <c>params string[]</c> argument (Add/Concat inputs) is a <see cref="ArgType.TextList"/> in <see cref="Texts"/>.</summary>
internal sealed record Arg(string Name, ArgType Type, long Int, double Real, string? Text, bool IsNamed)
{
    public EquatableArray<string> Texts { get; init; } = EquatableArray<string>.Empty;
}

/// <summary>One layer attribute. <see cref="From"/> names the layer it reads (a skip reference); null means the previous layer.</summary>
internal sealed record LayerSpec(LayerKind Kind, string AttributeName, int Position, EquatableArray<Arg> Args)
{
    public Arg? Find(string name)
    {
        foreach (var a in Args) if (a.Name == name) return a;
        return null;
    }

    public string? ExplicitName => Find("Name")?.Text;
    public string? From => Find("From")?.Text;
}

/// <summary>A type that contains the network class, outermost first, as "class Outer" / "struct S".</summary>
internal sealed record ContainingType(string Keyword, string Name, bool IsPartial, bool IsGeneric);

internal sealed record NetworkSpec(
    string? Namespace,
    string ClassName,
    EquatableArray<ContainingType> ContainingTypes,
    bool IsPartial,
    bool IsGeneric,
    bool IsStatic,
    int DeclarationsWithLayers,
    bool HasInvalidAttributes,
    EquatableArray<Arg> NetworkArgs,
    EquatableArray<LayerSpec> Layers)
{
    /// <summary>For <c>[Network(..., ConvolutionalOf = typeof(X))]</c>: X's spec (the network this one is the fully
    /// convolutional twin of), its C# name in <see cref="OriginalTypeName"/>; null when X is not a network class.</summary>
    public NetworkSpec? Original { get; init; }

    /// <summary>The <c>ConvolutionalOf</c> type as C# code (<c>global::Ns.Cnn</c>), or null when the argument is absent.</summary>
    public string? OriginalTypeName { get; init; }

    /// <summary>Why <see cref="Original"/> is missing although <see cref="OriginalTypeName"/> is set (not a network, itself a twin, ...).</summary>
    public string? OriginalProblem { get; init; }

    public string FullName => (Namespace is null ? "" : Namespace + ".") +
        string.Concat(System.Linq.Enumerable.Select(ContainingTypes, t => t.Name + ".")) + ClassName;
}
