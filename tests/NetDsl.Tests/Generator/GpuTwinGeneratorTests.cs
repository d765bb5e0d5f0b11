using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDsl.Generators;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Generator;

/// <summary>The GPU twin (<c>&lt;Net&gt;.Gpu.g.cs</c>) is emitted only when the compilation has NetDsl.Gpu's marker type, is
/// built from the plan with literal shapes and the plan's gradient routing, and keeps the pipeline cached.</summary>
public class GpuTwinGeneratorTests
{
    // Stands in for a reference to NetDsl.Gpu: the generator looks for this type by name (the twin itself is compiled and
    // run in tests/NetDsl.Gpu.Tests, which references the real assembly).
    private const string Marker = "namespace NetDsl.Gpu { public interface IGpuNetwork { } }";

    private const string Residual = """
        using NetDsl;
        namespace Samples;
        [Network(2, 6, 6)]
        [Conv2D(4, 3, Padding = 1, Name = "stem")] [ReLU(Name = "stem_out")]
        [Conv2D(4, 3, Padding = 1, Name = "c1")] [Add("c1", "stem_out")]
        [Dense(3, Name = "fc")]
        public partial class Residual;
        """;

    private static string? Twin(GeneratorDriverRunResult run) =>
        run.GeneratedTrees.FirstOrDefault(t => t.FilePath.EndsWith(".Gpu.g.cs"))?.GetText().ToString();

    [Fact]
    public void TheNotesLayersHaveDeviceKernels()
    {
        const string source = """
            using NetDsl;
            namespace Samples;
            [Network(2, 6, 6)]
            [Conv2D(4, 3, Padding = 1)] [SumPool2D(2, Name = "sum")] [ChannelMaxout(2, Name = "mo")]
            [LocalResponseNorm(3, WithinChannel = true, Name = "norm")]
            [Dense(3, DropConnect = 0.5, Name = "fc")]
            public partial class WithKernels;
            """;
        var (run, _, diagnostics) = CompilerHarness.Generate(source, Marker);
        Assert.Empty(diagnostics);
        string twin = Twin(run) ?? throw new Xunit.Sdk.XunitException("no .Gpu.g.cs generated");
        // Each kernel is compiled for its layer's shape, a struct of constants the launch names.
        Assert.Contains("public readonly struct SumGeometry : global::NetDsl.Gpu.IPoolGeometry", twin);
        Assert.Contains("public const int Channels = 4, InHeight = 6, InWidth = 6, OutHeight = 3, OutWidth = 3, KernelHeight = 2, KernelWidth = 2, StrideHeight = 2, StrideWidth = 2, PadHeight = 0, PadWidth = 0, Mode = 4; // sum", twin);
        Assert.Contains("PoolForward<SumGeometry>(V(_actConv1), V(_actSum), V(_argmaxSum), batch);", twin);
        Assert.Contains("public const int Channels = 2, Height = 3, Width = 3, Pieces = 2;", twin);
        Assert.Contains("ChannelMaxoutForward<MoMap>(V(_actSum), V(_actMo), V(_winnerMo), batch); // 2 pieces", twin);
        Assert.Contains("public const int Channels = 2, Height = 3, Width = 3;", twin);
        Assert.Contains("LrnWithinForward<NormMap>(V(_actMo), V(_actNorm), V(_scaleNorm), 3, 0.0001, 0.75, 1.0, batch);", twin);
        // The constructor compiles what the layers launch.
        Assert.Contains("PreparePool<SumGeometry>();", twin);
        Assert.Contains("PrepareMap<MoMap>(global::NetDsl.Gpu.MapKernel.ChannelMaxout);", twin);
        Assert.Contains("PrepareMap<NormMap>(global::NetDsl.Gpu.MapKernel.LrnWithinChannel);", twin);
        Assert.Contains("PrepareDense<FcGeometry>(biasGradient: true);", twin);
        // DropConnect draws the CPU network's mask over the weight (layer index 4), then the GEMM uses the masked weight.
        Assert.Contains("if (training) Dropout(V(ParameterBuffer, 76, 54), V(_maskedWeightFc), V(_dropConnectMaskFc), 4, 0.5f, 1f / (1f - 0.5f), 54);", twin);
    }

    [Fact]
    public void AnActivationRightAfterAGemmRunsInItsStores()
    {
        const string source = """
            using NetDsl;
            namespace Samples;
            [Network(1, 6, 6)]
            [Conv2D(2, 3, Name = "c1")] [Tanh(Name = "t1")]
            [MaxPool2D(2, Name = "p1")] [ReLU(Name = "r1")]
            [Dense(4, Name = "fc")] [LeakyReLU(0.2, Name = "l1")]
            [Dense(3, Name = "out")] [Softmax(Name = "sm")]
            public partial class Fused;
            """;
        var (run, _, diagnostics) = CompilerHarness.Generate(source, Marker);
        Assert.Empty(diagnostics);
        string twin = Twin(run) ?? throw new Xunit.Sdk.XunitException("no .Gpu.g.cs generated");
        // The convolution and the first dense layer apply the activation that follows them; their own outputs stay written.
        Assert.Contains("V(_actC1), V(_colsC1), batch, new global::NetDsl.Gpu.FusedActivation(global::NetDsl.Gpu.ActivationKind.Tanh, 0.0f, V(_actT1)));", twin);
        Assert.Contains("DenseForward<FcGeometry>(V(_actR1), V(ParameterBuffer, 20, 32), V(ParameterBuffer, 52, 4), true, V(_actFc), batch, new global::NetDsl.Gpu.FusedActivation(global::NetDsl.Gpu.ActivationKind.LeakyReLU, 0.2f, V(_actL1)));", twin);
        Assert.Contains("public const int InputCount = 8, OutputCount = 4;", twin);
        Assert.Contains("// computed in c1's GEMM stores", twin);
        Assert.DoesNotContain("Activation(V(_actC1), V(_actT1)", twin);
        // After a pooling layer (no GEMM) and for softmax (not pointwise) the activation keeps its own pass.
        Assert.Contains("Activation(V(_actP1), V(_actR1), global::NetDsl.Gpu.ActivationKind.ReLU, 0.0f, batch * 8);", twin);
        Assert.Contains("DenseForward<OutGeometry>(V(_actL1), V(ParameterBuffer, 56, 12), V(ParameterBuffer, 68, 3), true, V(_actOut), batch); // x·Wᵀ on the tiled GEMM", twin);
        Assert.Contains("Softmax<SmMap>(V(_actOut), V(_actSm), batch);", twin);
        Assert.Contains("public const int Channels = 3, Height = 1, Width = 1;", twin);
        // The backward passes are unchanged: the activation's backward reads the producer's output and its own.
        Assert.Contains("ActivationBackward(V(_actC1), V(_actT1), V(_gradT1), V(_gradC1), global::NetDsl.Gpu.ActivationKind.Tanh, 0.0f, batch * 32);", twin);
    }

    [Fact]
    public void NoTwinWithoutNetDslGpu()
    {
        var (run, _, diagnostics) = CompilerHarness.Generate(GeneratorTests.LeNet5Source);
        Assert.Null(Twin(run));
        Assert.Empty(diagnostics);
        Assert.Single(run.GeneratedTrees);
    }

    [Fact]
    public void TwinFromThePlanWhenNetDslGpuIsReferenced()
    {
        var (run, _, diagnostics) = CompilerHarness.Generate(Residual, Marker);
        Assert.Empty(diagnostics);
        string twin = Twin(run) ?? throw new Xunit.Sdk.XunitException("no .Gpu.g.cs generated");
        Assert.EndsWith("Samples.Residual.Gpu.g.cs", run.GeneratedTrees.Single(t => t.FilePath.EndsWith(".Gpu.g.cs")).FilePath);
        Assert.Contains("public sealed class Gpu : global::NetDsl.Gpu.GpuNetworkBase", twin);
        // Shapes are constants the kernels are compiled for: stem is 2×6×6 → 4×6×6, 3×3, stride 1, padding 1.
        Assert.Contains("public readonly struct StemGeometry : global::NetDsl.Gpu.IConvGeometry", twin);
        Assert.Contains("public const int InChannels = 2, InHeight = 6, InWidth = 6, OutChannels = 4, OutHeight = 6, OutWidth = 6, KernelHeight = 3, KernelWidth = 3, StrideHeight = 1, StrideWidth = 1, PadTop = 1, PadLeft = 1, DilationHeight = 1, DilationWidth = 1, Groups = 1;", twin);
        Assert.Contains("PrepareConvGemm<StemGeometry>(biasGradient: true);", twin);
        Assert.Contains("PrepareConvGemm<C1Geometry>(biasGradient: true);", twin);
        // stem_out is read by c1 and by the Add: backward meets the Add first (it writes), c1 goes through the scratch buffer.
        Assert.Contains("Copy(V(_gradAdd1), V(_gradStemOut), batch * 144);", twin);
        Assert.Contains("ConvBackwardGemm<C1Geometry>(V(ParameterBuffer, 76, 144), V(_gradC1), V(GradientBuffer, 76, 144), V(GradientBuffer, 220, 4), true, V(_colsC1), V(_dcolsC1), V(_gradScratchStemOut), parameters: true, inputGradient: true, batch);", twin);
        Assert.Contains("AddInto(V(_gradScratchStemOut), V(_gradStemOut), batch * 144);", twin);
        // The first layer's input gradient only on request.
        Assert.Contains("V(_dcolsStem), V(InputGradientBuffer), parameters: true, inputGradient: ComputeInputGradient, batch);", twin);
    }

    [Fact]
    public void UnrelatedEditsLeaveTheTwinCached()
    {
        var compilation = CompilerHarness.Compile(Residual, Marker, "namespace Other; public class Unrelated { public int X; }");
        GeneratorDriver driver = CompilerHarness.Driver().RunGenerators(compilation);
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("namespace Other; public class Unrelated { public int X; public int Y; }", CompilerHarness.ParseOptions, path: "File2.cs"));
        driver = driver.RunGenerators(edited);
        var result = driver.GetRunResult().Results.Single();
        Assert.All(result.TrackedSteps[NetworkGenerator.Steps.GpuReferenced].SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"GpuReferenced: {o.Reason}"));
        Assert.All(result.TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
        Assert.NotNull(Twin(driver.GetRunResult()));
    }
}
