using Microsoft.CodeAnalysis;

namespace NetDsl.Analyzers;

/// <summary>The one catalogue of NetDsl diagnostics. IDs are stable; grouped by area:
/// NDSL00xx the network class, NDSL01xx layer arguments, NDSL02xx shapes, NDSL03xx advice (warnings and
/// information about networks that build but are probably not what was meant).</summary>
internal static class DiagnosticDescriptors
{
    private const string HelpBase = "https://github.com/netdsl/netdsl/blob/main/docs/diagnostics.md#";
    private const string Declaration = "NetDsl.Declaration";
    private const string Arguments = "NetDsl.Arguments";
    private const string Shapes = "NetDsl.Shapes";
    private const string Advice = "NetDsl.Advice";

    private static DiagnosticDescriptor Make(string id, string title, string message, string category, DiagnosticSeverity severity) =>
        new(id, title, message, category, severity, isEnabledByDefault: true, helpLinkUri: HelpBase + id.ToLowerInvariant());

    public static readonly DiagnosticDescriptor NotPartial = Make("NDSL0001",
        "Network class must be partial",
        "Network class '{0}' must be declared partial so the generator can add its forward and backward passes",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnsupportedClass = Make("NDSL0002",
        "Unsupported network class",
        "Network class '{0}' {1}; a network must be a non-generic, non-static class, at top level or nested in non-generic partial classes",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor LayersSplit = Make("NDSL0003",
        "Layers split across partial declarations",
        "Network '{0}' has layer attributes on {1} partial declarations; put every layer on one declaration so their order is defined",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor NoLayers = Make("NDSL0004",
        "Network has no layers",
        "Network '{0}' declares no layers; add layer attributes such as [Conv2D(6, 5)] or [Dense(10)] after [Network]",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidInputShape = Make("NDSL0005",
        "Invalid network input shape",
        "Network '{0}': input {1} must be between 1 and 1000000, got {2}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidArgument = Make("NDSL0101",
        "Invalid layer argument",
        "{0}: {1} must be {2}, got {3}",
        Arguments, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor DuplicateName = Make("NDSL0102",
        "Duplicate layer name",
        "{0}: the name '{1}' is already used by {2}; layer names must be unique because they name the parameters",
        Arguments, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnknownSkipSource = Make("NDSL0103",
        "Skip connection reads an unknown or later layer",
        "{0}: From = \"{1}\": {2}",
        Arguments, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor AddShapeMismatch = Make("NDSL0104",
        "Add of unequal shapes",
        "{0}: the previous layer gives {1}, but '{2}' gives {3}; Add needs equal shapes",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor ConcatShapeMismatch = Make("NDSL0105",
        "Concat of unequal spatial sizes",
        "{0}: the previous layer gives {1}, but '{2}' gives {3}; Concat needs equal height and width",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor OutputTooSmall = Make("NDSL0201",
        "Layer output smaller than 1",
        "{0}: output {1} would be {2}, less than 1 (input {1} {3})",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor OutputNotIntegral = Make("NDSL0202",
        "Layer output size is not integral",
        "{0}: {1} is not a multiple of the stride {2}, so the last {3} {4} of the input {5} never read; output {6} is {7}",
        Shapes, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor PoolPaddingTooLarge = Make("NDSL0203",
        "Pooling padding larger than half the window",
        "{0}: padding {1} is larger than half the window size {2}; use at most {3} (PyTorch refuses this too)",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor TooLarge = Make("NDSL0204",
        "Tensor or parameter count too large",
        "{0}: {1} (the generated code holds each tensor in one array of at most 1,073,741,823 floats)",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor NoOpFlatten = Make("NDSL0301",
        "Flatten of a 1×1 map is a no-op",
        "{0}: the input is already {1}, so the flatten is a no-op{2}",
        Advice, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor ActivationAfterActivation = Make("NDSL0302",
        "Activation directly after an activation",
        "{0} directly follows the activation {1}: {2}; remove one of them",
        Advice, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor HiddenSigmoid = Make("NDSL0303",
        "Sigmoid in a hidden layer",
        "{0}: a sigmoid in a hidden layer saturates, so its gradients vanish; the lecture notes advise \"Do not use sigmoid except at the output of a 2 class net.\" and \"By default, people use ReLU.\"",
        Advice, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor SoftmaxNotLast = Make("NDSL0304",
        "Softmax is not the last layer",
        "{0}: a softmax belongs at the output, but {2}, starting with {1}; move it last, or leave it out when training with SoftmaxCrossEntropy, which applies softmax itself",
        Advice, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor LargeParameterCount = Make("NDSL0305",
        "Very large parameter count",
        "Network '{0}' has {1} parameters ({2} MiB of float32, as much again for the gradients); {3} holds {4} of them ({5} %)",
        Advice, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor UnknownLayerAttribute = Make("NDSL0006",
        "Unknown or invalid layer attribute",
        "Network '{0}': {1}",
        Declaration, DiagnosticSeverity.Error);

    public static DiagnosticDescriptor? ById(string id) => id switch
    {
        "NDSL0001" => NotPartial,
        "NDSL0002" => UnsupportedClass,
        "NDSL0003" => LayersSplit,
        "NDSL0004" => NoLayers,
        "NDSL0005" => InvalidInputShape,
        "NDSL0006" => UnknownLayerAttribute,
        "NDSL0101" => InvalidArgument,
        "NDSL0102" => DuplicateName,
        "NDSL0103" => UnknownSkipSource,
        "NDSL0104" => AddShapeMismatch,
        "NDSL0105" => ConcatShapeMismatch,
        "NDSL0201" => OutputTooSmall,
        "NDSL0202" => OutputNotIntegral,
        "NDSL0203" => PoolPaddingTooLarge,
        "NDSL0204" => TooLarge,
        "NDSL0301" => NoOpFlatten,
        "NDSL0302" => ActivationAfterActivation,
        "NDSL0303" => HiddenSigmoid,
        "NDSL0304" => SoftmaxNotLast,
        "NDSL0305" => LargeParameterCount,
        _ => null,
    };
}
