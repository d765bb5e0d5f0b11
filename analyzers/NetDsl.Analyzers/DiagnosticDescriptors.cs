using Microsoft.CodeAnalysis;
using NetDsl.Generators.Diagnostics;

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

    public static readonly DiagnosticDescriptor NotPartial = Make(DiagnosticIds.NotPartial,
        "Network class must be partial",
        "Network class '{0}' must be declared partial so the generator can add its forward and backward passes",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnsupportedClass = Make(DiagnosticIds.UnsupportedClass,
        "Unsupported network class",
        "Network class '{0}' {1}; a network must be a non-generic, non-static class, at top level or nested in non-generic partial classes",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor LayersSplit = Make(DiagnosticIds.LayersSplit,
        "Layers split across partial declarations",
        "Network '{0}' has layer attributes on {1} partial declarations; put every layer on one declaration so their order is defined",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor NoLayers = Make(DiagnosticIds.NoLayers,
        "Network has no layers",
        "Network '{0}' declares no layers; add layer attributes such as [Conv2D(6, 5)] or [Dense(10)] after [Network]",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidInputShape = Make(DiagnosticIds.InvalidInputShape,
        "Invalid network input shape",
        "Network '{0}': input {1} must be between 1 and 1000000, got {2}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor ConvolutionalTwin = Make(DiagnosticIds.ConvolutionalTwin,
        "Fully convolutional twin does not fit its network",
        "Network '{0}' cannot be the fully convolutional twin of {1}: {2}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor InvalidArgument = Make(DiagnosticIds.InvalidArgument,
        "Invalid layer argument",
        "{0}: {1} must be {2}, got {3}",
        Arguments, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor DuplicateName = Make(DiagnosticIds.DuplicateName,
        "Duplicate layer name",
        "{0}: the name '{1}' is already used by {2}; layer names must be unique because they name the parameters",
        Arguments, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor UnknownSkipSource = Make(DiagnosticIds.UnknownSource,
        "Layer reads an unknown, later or ambiguous layer",
        "{0}: {1}: {2}",
        Arguments, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor AddShapeMismatch = Make(DiagnosticIds.AddShapeMismatch,
        "Add of unequal shapes",
        "{0}: Add needs equal shapes, but its inputs give {1}; {2} differs (a strided 1×1 convolution on that path can project it)",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor ConcatShapeMismatch = Make(DiagnosticIds.ConcatShapeMismatch,
        "Concat of unequal spatial sizes",
        "{0}: Concat needs equal height and width, but its inputs give {1}; {2} differs",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor OutputTooSmall = Make(DiagnosticIds.OutputTooSmall,
        "Layer output smaller than 1",
        "{0}: output {1} would be {2}, less than 1 (input {1} {3})",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor OutputNotIntegral = Make(DiagnosticIds.OutputNotIntegral,
        "Layer output size is not integral",
        "{0}: {1} is not a multiple of the stride {2}, so the last {3} {4} of the input {5} never read; output {6} is {7}",
        Shapes, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor PoolPaddingTooLarge = Make(DiagnosticIds.PoolPaddingTooLarge,
        "Pooling padding larger than half the window",
        "{0}: padding {1} is larger than half the window size {2}; use at most {3} (PyTorch refuses this too)",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor TooLarge = Make(DiagnosticIds.TooLarge,
        "Tensor or parameter count too large",
        "{0}: {1} (the generated code holds each tensor in one array of at most 1,073,741,823 floats)",
        Shapes, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor NoOpFlatten = Make(DiagnosticIds.NoOpFlatten,
        "Flatten of a 1×1 map is a no-op",
        "{0}: the input is already {1}, so the flatten is a no-op{2}",
        Advice, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor ActivationAfterActivation = Make(DiagnosticIds.ActivationAfterActivation,
        "Activation directly after an activation",
        "{0} directly follows the activation {1}: {2}; remove one of them",
        Advice, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor HiddenSigmoid = Make(DiagnosticIds.HiddenSigmoid,
        "Sigmoid in a hidden layer",
        "{0}: a sigmoid in a hidden layer saturates, so its gradients vanish; the lecture notes advise \"Do not use sigmoid except at the output of a 2 class net.\" and \"By default, people use ReLU.\"",
        Advice, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor SoftmaxNotLast = Make(DiagnosticIds.SoftmaxNotLast,
        "Softmax is not the last layer",
        "{0}: a softmax belongs at the output, but {2}, starting with {1}; move it last, or leave it out when training with SoftmaxCrossEntropy, which applies softmax itself",
        Advice, DiagnosticSeverity.Warning);

    public static readonly DiagnosticDescriptor LargeParameterCount = Make(DiagnosticIds.LargeParameterCount,
        "Very large parameter count",
        "Network '{0}' has {1} parameters ({2} MiB of float32, as much again for the gradients); {3} holds {4} of them ({5} %)",
        Advice, DiagnosticSeverity.Info);

    public static readonly DiagnosticDescriptor UnknownLayerAttribute = Make(DiagnosticIds.UnknownLayerAttribute,
        "Unknown or invalid layer attribute",
        "Network '{0}': {1}",
        Declaration, DiagnosticSeverity.Error);

    public static readonly DiagnosticDescriptor DeadBranch = Make(DiagnosticIds.DeadBranch,
        "Layer output is never read",
        "{0}: no layer reads its output, so it cannot affect the network's output (a dead branch); read it with From = \"{1}\" or a join, or remove it",
        Advice, DiagnosticSeverity.Warning);

    public static DiagnosticDescriptor? ById(string id) => id switch
    {
        DiagnosticIds.NotPartial => NotPartial,
        DiagnosticIds.UnsupportedClass => UnsupportedClass,
        DiagnosticIds.LayersSplit => LayersSplit,
        DiagnosticIds.NoLayers => NoLayers,
        DiagnosticIds.InvalidInputShape => InvalidInputShape,
        DiagnosticIds.UnknownLayerAttribute => UnknownLayerAttribute,
        DiagnosticIds.ConvolutionalTwin => ConvolutionalTwin,
        DiagnosticIds.InvalidArgument => InvalidArgument,
        DiagnosticIds.DuplicateName => DuplicateName,
        DiagnosticIds.UnknownSource => UnknownSkipSource,
        DiagnosticIds.AddShapeMismatch => AddShapeMismatch,
        DiagnosticIds.ConcatShapeMismatch => ConcatShapeMismatch,
        DiagnosticIds.OutputTooSmall => OutputTooSmall,
        DiagnosticIds.OutputNotIntegral => OutputNotIntegral,
        DiagnosticIds.PoolPaddingTooLarge => PoolPaddingTooLarge,
        DiagnosticIds.TooLarge => TooLarge,
        DiagnosticIds.NoOpFlatten => NoOpFlatten,
        DiagnosticIds.ActivationAfterActivation => ActivationAfterActivation,
        DiagnosticIds.HiddenSigmoid => HiddenSigmoid,
        DiagnosticIds.SoftmaxNotLast => SoftmaxNotLast,
        DiagnosticIds.LargeParameterCount => LargeParameterCount,
        DiagnosticIds.DeadBranch => DeadBranch,
        _ => null,
    };
}
