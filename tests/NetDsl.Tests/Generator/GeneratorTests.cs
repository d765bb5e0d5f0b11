using System;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Generators;
using NetDsl.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Generator;

public class GeneratorTests
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    public GeneratorTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    public const string LeNet5Source = """
        using NetDsl;

        namespace Samples;

        [Network(1, 28, 28)]
        [Conv2D(6, 5, Padding = 2)] [Tanh]
        [AvgPool2D(2)]
        [Conv2D(16, 5)] [Tanh]
        [AvgPool2D(2)]
        [Dense(120)] [Tanh]
        [Dense(84)] [Tanh]
        [Dense(10)]
        public partial class LeNet5;
        """;

    [Fact]
    public void LeNet5GeneratedSourceMatchesTheApprovedSnapshot()
    {
        var (run, output, diagnostics) = CompilerHarness.Generate(LeNet5Source);
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var tree = Assert.Single(run.GeneratedTrees);
        Assert.EndsWith("Samples.LeNet5.g.cs", tree.FilePath);
        tree.GetText().ToString().ShouldMatchApproved(c => c.SubFolder("Approved").WithDiscriminator("LeNet5").NoDiff());
    }

    /// <summary>The samples' graph networks, generated from the sample files themselves: a ResNet with identity skips, the
    /// U-Net (transposed convolutions, Concat skips), the inception network and the ResNet with projection shortcuts.</summary>
    [Theory]
    [InlineData("ResNet", "ResNet")]
    [InlineData("Segmentation", "UNet")]
    [InlineData("Architectures", "InceptionNet")]
    [InlineData("Architectures", "ProjectionResNet")]
    public void SampleGraphNetworksMatchTheirApprovedSnapshots(string sample, string network)
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "NetDsl.sln"))) dir = Path.GetDirectoryName(dir)!;
        string source = File.ReadAllText(Path.Combine(dir, "samples", sample, "Networks.cs"));
        var (run, output, diagnostics) = CompilerHarness.Generate(source);
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var tree = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("." + network + ".g.cs"));
        tree.GetText().ToString().ShouldMatchApproved(c => c.SubFolder("Approved").WithDiscriminator(network).NoDiff());
    }

    /// <summary>Receptive fields, by hand: LeNet-5's conv1 sees 5×5; 2×2/2 pooling adds one tap of jump 1 (6×6, jump 2);
    /// conv2's 5 taps of jump 2 add 8 (14×14); pool2 adds 2 (16×16, jump 4); dense1 sees pool2's whole 5×5 map: 16 + 4·4 = 32.
    /// The inception sample's concat takes its widest branch: the 5×5 one after a 2×2/2 stem (stem 4×4 → 4 + 4·2 = 12).</summary>
    [Fact]
    public void SummaryShowsEachLayersReceptiveField()
    {
        string Field(string summary, string layer) => summary.Split('\n').Single(r => r.Split("  ", StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1)?.Trim().StartsWith(layer + " ") == true
            || r.Split("  ", StringSplitOptions.RemoveEmptyEntries).ElementAtOrDefault(1)?.Trim() == layer).Split(' ', StringSplitOptions.RemoveEmptyEntries).Last();
        string lenet = Networks.LeNet5.Summary;
        Assert.Equal("5×5", Field(lenet, "conv1"));
        Assert.Equal("6×6", Field(lenet, "pool1"));
        Assert.Equal("14×14", Field(lenet, "conv2"));
        Assert.Equal("16×16", Field(lenet, "pool2"));
        Assert.Equal("32×32", Field(lenet, "fc1"));
        Assert.Equal("32×32", Field(lenet, "fc3"));
        string inception = ArchitecturesSample.InceptionNet.Summary;
        Assert.Equal("4×4", Field(inception, "stem"));
        Assert.Equal("12×12", Field(inception, "i1_5x5"));
        Assert.Equal("12×12", Field(inception, "inception1"));
    }

    [Fact]
    public void NestedAndGlobalNamespaceNetworksCompile()
    {
        var source = """
            using NetDsl;
            [Network(3, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = "stem")] [ReLU] [MaxPool2D(2)] [Dense(2)]
            public partial class TopLevel;
            namespace A.B
            {
                public partial class Outer
                {
                    [Network(1, 5, 5)] [Dense(3)] [Sigmoid] [Dropout(0.2)] [LeakyReLU] [Dense(1, Name = "out-layer")]
                    internal partial class Inner { }
                }
            }
            """;
        var (run, output, diagnostics) = CompilerHarness.Generate(source);
        Assert.Empty(diagnostics);
        Assert.Equal(2, run.GeneratedTrees.Length);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
    }

    [Fact]
    public void GroupedPointwiseConvolutionAloneCompiles()
    {
        // Found by the property test: a grouped 1×1 convolution needs the im2col workspace even though a plain one does not.
        var (run, output, diagnostics) = CompilerHarness.Generate("using NetDsl; [Network(4, 5, 5)] [Conv2D(4, 1, Groups = 2)] public partial class Net;");
        Assert.Empty(diagnostics);
        Assert.Single(run.GeneratedTrees);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
    }

    [Fact]
    public void SummaryConstantHoldsTheLayerTable()
    {
        Assert.Equal("""
            LeNet5: 1×28×28 → 10, 61,706 parameters (field: the input pixels one output position sees)
             #  layer  kind         output    params  field
             0  input  Input        1×28×28        0    1×1
             1  conv1  Conv2D 5×5   6×28×28      156    5×5
             2  tanh1  Tanh         6×28×28        0    5×5
             3  pool1  AvgPool 2×2  6×14×14        0    6×6
             4  conv2  Conv2D 5×5   16×10×10   2,416  14×14
             5  tanh2  Tanh         16×10×10       0  14×14
             6  pool2  AvgPool 2×2  16×5×5         0  16×16
             7  fc1    Dense        120×1×1   48,120  32×32
             8  tanh3  Tanh         120×1×1        0  32×32
             9  fc2    Dense        84×1×1    10,164  32×32
            10  tanh4  Tanh         84×1×1         0  32×32
            11  fc3    Dense        10×1×1       850  32×32
            """.Replace("\r\n", "\n"), Networks.LeNet5.Summary.ToString());
        // 6·25+6 + 16·150+16 + 120·400+120 + 84·120+84 + 10·84+10
        Assert.Equal(61706, Networks.LeNet5.ParameterCount);
        Assert.Equal(Networks.LeNet5.ParameterCount, new Networks.LeNet5(1).ParameterTensors.ToArray().Sum(t => t.Length));
    }

    [Fact]
    public void ClassXmlDocHoldsTheLayerTable()
    {
        var (run, output, _) = CompilerHarness.Generate(LeNet5Source);
        Assert.Single(run.GeneratedTrees);
        var type = output.GetTypeByMetadataName("Samples.LeNet5")!;
        var xml = System.Xml.Linq.XDocument.Parse(type.GetDocumentationCommentXml()!);
        var summary = xml.Root!.Element("summary")!;
        Assert.StartsWith("Network LeNet5, generated by NetDsl: input 1×28×28, output 10, 61,706 parameters.", summary.Value.Trim());
        // The <code> block is the generated Summary constant's table, line for line (what an IDE shows on hover).
        var code = summary.Element("code")!.Value.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToArray();
        var summaryConstant = (string)type.GetMembers("Summary").OfType<IFieldSymbol>().Single().ConstantValue!;
        var table = summaryConstant.Replace("\r\n", "\n").Split('\n').Select(l => l.TrimEnd()).Where(l => l.Length > 0).ToArray();
        Assert.Equal(table.Select(l => l.Trim()), code.Select(l => l.Trim()));
        Assert.Contains(code, l => l.Contains("conv1") && l.Contains("Conv2D 5×5") && l.Contains("6×28×28") && l.Contains("156"));
        Assert.Contains(code, l => l.Contains("dense1") && l.Contains("120×1×1") && l.Contains("48,120"));
    }

    /// <summary>
    /// Generator plus analyzer on a 200-layer residual network, after warm-up: prints the figures. The assertion is
    /// deliberately loose (2 s) so that only a pathological regression fails it on a loaded CI machine.
    /// </summary>
    [Fact]
    public void TwoHundredLayerNetworkIsFast()
    {
        var source = new System.Text.StringBuilder("using NetDsl;\nnamespace Deep;\n[Network(8, 16, 16)]\n[Conv2D(8, 3, Padding = 1, Name = \"b0\")]\n");
        const int blocks = 28;
        for (int b = 1; b <= blocks; b++)
            source.Append($"[Conv2D(8, 3, Padding = 1)] [BatchNorm] [ReLU] [Conv2D(8, 3, Padding = 1)] [BatchNorm] [Add(From = \"b{b - 1}\")] [ReLU(Name = \"b{b}\")]\n");
        source.Append("[GlobalAvgPool2D] [Dropout(0.1)] [Dense(10)]\npublic partial class Deep200;\n");
        string text = source.ToString();
        var compilation = CompilerHarness.Compile(text);
        var analyzers = System.Collections.Immutable.ImmutableArray.Create<Microsoft.CodeAnalysis.Diagnostics.DiagnosticAnalyzer>(new NetDsl.Analyzers.NetworkShapeAnalyzer());

        double Generate()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var run = CompilerHarness.Driver(track: false).RunGenerators(compilation).GetRunResult();
            clock.Stop();
            Assert.Single(run.GeneratedTrees);
            return clock.Elapsed.TotalMilliseconds;
        }
        double Analyze()
        {
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var diagnostics = compilation.WithAnalyzers(analyzers).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
            clock.Stop();
            Assert.Empty(diagnostics);
            return clock.Elapsed.TotalMilliseconds;
        }
        for (int i = 0; i < 3; i++) { Generate(); Analyze(); } // warm-up: JIT, Roslyn's caches

        const int runs = 7;
        var generate = Enumerable.Range(0, runs).Select(_ => Generate()).OrderBy(t => t).ToArray();
        var analyze = Enumerable.Range(0, runs).Select(_ => Analyze()).OrderBy(t => t).ToArray();

        // An edit to one layer, run incrementally (what the IDE does while typing).
        GeneratorDriver driver = CompilerHarness.Driver(track: false).RunGenerators(compilation);
        var incremental = new double[runs];
        for (int i = 0; i < runs; i++)
        {
            var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Single(),
                CSharpSyntaxTree.ParseText(text.Replace("[Dropout(0.1)]", $"[Dropout(0.{i + 2})]"), CompilerHarness.ParseOptions, path: "File0.cs"));
            var clock = System.Diagnostics.Stopwatch.StartNew();
            driver = driver.RunGenerators(edited);
            clock.Stop();
            incremental[i] = clock.Elapsed.TotalMilliseconds;
        }
        Array.Sort(incremental);

        var (run, output, _) = CompilerHarness.Generate(text);
        var layerCount = (int)output.GetTypeByMetadataName("Deep.Deep200")!.GetMembers("LayerCount").OfType<IFieldSymbol>().Single().ConstantValue!;
        Assert.Equal(200, layerCount);
        double median(double[] t) => t[t.Length / 2];
        _output.WriteLine($"200-layer network ({run.GeneratedTrees[0].GetText().Lines.Count:N0} generated lines), median of {runs} warm runs: " +
                          $"generator {median(generate):F1} ms (full run, fresh driver), analyzer {median(analyze):F1} ms, " +
                          $"together {median(generate) + median(analyze):F1} ms; one-layer edit, incremental generator run {median(incremental):F1} ms");
        Assert.True(median(generate) + median(analyze) < 2000, $"generator {median(generate):F0} ms + analyzer {median(analyze):F0} ms");
    }

    [Fact]
    public void UnrelatedEditsAndCommentEditsLeaveEveryStepCached()
    {
        var compilation = CompilerHarness.Compile(LeNet5Source, "namespace Other; public class Unrelated { public int X; }");
        GeneratorDriver driver = CompilerHarness.Driver().RunGenerators(compilation);

        // An unrelated file changes.
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.Last(),
            CSharpSyntaxTree.ParseText("namespace Other; public class Unrelated { public int X; public int Y; }", CompilerHarness.ParseOptions, path: "File1.cs"));
        driver = driver.RunGenerators(edited);
        AssertCached(driver.GetRunResult());

        // A comment in the network's own file changes.
        var commented = edited.ReplaceSyntaxTree(edited.SyntaxTrees.First(),
            CSharpSyntaxTree.ParseText(LeNet5Source.Replace("[AvgPool2D(2)]\n[Conv2D(16", "[AvgPool2D(2)] // subsample\n[Conv2D(16"), CompilerHarness.ParseOptions, path: "File0.cs"));
        driver = driver.RunGenerators(commented);
        AssertCached(driver.GetRunResult());

        // A comment inside an attribute's argument list, a doc comment on the class, and a reformatting.
        foreach (var variant in new[]
        {
            LeNet5Source.Replace("[Conv2D(16, 5)]", "[Conv2D(16, /* kernel */ 5)]"),
            LeNet5Source.Replace("public partial class LeNet5;", "/// <summary>The classic.</summary>\npublic partial class LeNet5;"),
            LeNet5Source.Replace("] [", "]\n["),
        })
        {
            commented = commented.ReplaceSyntaxTree(commented.SyntaxTrees.First(), CSharpSyntaxTree.ParseText(variant, CompilerHarness.ParseOptions, path: "File0.cs"));
            driver = driver.RunGenerators(commented);
            AssertCached(driver.GetRunResult());
        }

        // A real change re-runs the pipeline.
        var changed = commented.ReplaceSyntaxTree(commented.SyntaxTrees.First(),
            CSharpSyntaxTree.ParseText(LeNet5Source.Replace("[Dense(84)]", "[Dense(80)]"), CompilerHarness.ParseOptions, path: "File0.cs"));
        driver = driver.RunGenerators(changed);
        var shaped = driver.GetRunResult().Results.Single().TrackedSteps[NetworkGenerator.Steps.Shaped];
        Assert.Contains(shaped.SelectMany(s => s.Outputs), o => o.Reason == IncrementalStepRunReason.Modified);
    }

    private static void AssertCached(GeneratorDriverRunResult run)
    {
        var steps = run.Results.Single().TrackedSteps;
        foreach (var name in new[] { NetworkGenerator.Steps.Spec, NetworkGenerator.Steps.Shaped, NetworkGenerator.Steps.Plan, NetworkGenerator.Steps.CpuPlan })
        {
            Assert.True(steps.ContainsKey(name), $"step {name} was not tracked");
            foreach (var output in steps[name].SelectMany(s => s.Outputs))
                Assert.True(output.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"step {name}: {output.Reason}");
        }
        Assert.All(run.Results.Single().TrackedOutputSteps.SelectMany(s => s.Value).SelectMany(s => s.Outputs),
            o => Assert.Equal(IncrementalStepRunReason.Cached, o.Reason));
    }

    [Fact]
    public void PipelineModelsHoldOnlyPlainValues()
    {
        var forbidden = new[] { typeof(ISymbol), typeof(Location), typeof(SyntaxNode), typeof(Compilation), typeof(SyntaxTree), typeof(SemanticModel) };
        var assembly = typeof(NetworkGenerator).Assembly;
        var models = new[]
            {
                "NetworkSpec", "LayerSpec", "Arg", "ContainingType", "ShapedNetwork", "ShapedLayer", "Problem", "InferenceResult", "Repair", "ArgumentEdit",
                "Plan", "PlanOp", "PlanBuffer", "GradientRoute", "TensorView", "CpuPlan", "CpuPhase", "CacheBlock", "ConvStrategy",
            }
            .Select(n => assembly.GetTypes().Single(t => t.Name == n))
            // every family's typed parameters too
            .Concat(assembly.GetTypes().Where(t => t.BaseType?.Name == "LayerParams"))
            .ToList();
        Assert.True(models.Count > 25, "the family parameter records were not found");
        foreach (var type in models)
            foreach (var field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
                CheckPlain(field.FieldType, $"{type.Name}.{field.Name}", forbidden);
    }

    private static void CheckPlain(Type type, string where, Type[] forbidden)
    {
        foreach (var f in forbidden)
            Assert.False(f.IsAssignableFrom(type), $"{where} is a {type.Name}, which would defeat caching");
        if (type.IsGenericType)
            foreach (var arg in type.GetGenericArguments()) CheckPlain(arg, where + "<>", forbidden);
        Assert.True(type.IsPrimitive || type.IsEnum || type == typeof(string) || type.Namespace?.StartsWith("NetDsl.Generators") == true || type.IsGenericType && type.Name.StartsWith("Nullable"),
            $"{where} has type {type}, not a plain value");
    }
}
