namespace NetDsl.Generators.Diagnostics;

/// <summary>The IDs of every NetDsl diagnostic, shared by the shape inference (which finds problems), the analyzers
/// (which report them) and the code fixes (which repair them), so no ID is ever spelled twice.
/// NDSL00xx the network class, NDSL01xx layer arguments and the graph, NDSL02xx shapes, NDSL03xx advice, NDSL04xx the GPU backend.</summary>
internal static class DiagnosticIds
{
    public const string NotPartial = "NDSL0001";
    public const string UnsupportedClass = "NDSL0002";
    public const string LayersSplit = "NDSL0003";
    public const string NoLayers = "NDSL0004";
    public const string InvalidInputShape = "NDSL0005";
    public const string UnknownLayerAttribute = "NDSL0006";
    /// <summary>A <c>ConvolutionalOf</c> twin that cannot be built: the original is no network, the input does not fit its windows, ...</summary>
    public const string ConvolutionalTwin = "NDSL0007";
    public const string InvalidArgument = "NDSL0101";
    public const string DuplicateName = "NDSL0102";
    public const string UnknownSource = "NDSL0103";
    public const string AddShapeMismatch = "NDSL0104";
    public const string ConcatShapeMismatch = "NDSL0105";
    public const string OutputTooSmall = "NDSL0201";
    public const string OutputNotIntegral = "NDSL0202";
    public const string PoolPaddingTooLarge = "NDSL0203";
    public const string TooLarge = "NDSL0204";
    public const string NoOpFlatten = "NDSL0301";
    public const string ActivationAfterActivation = "NDSL0302";
    public const string HiddenSigmoid = "NDSL0303";
    public const string SoftmaxNotLast = "NDSL0304";
    public const string LargeParameterCount = "NDSL0305";
    public const string DeadBranch = "NDSL0306";
    /// <summary>The project references NetDsl.Gpu but a layer's family has no device kernels (reported by the generator).</summary>
    public const string NoGpuKernels = "NDSL0401";
}
