using System;
using System.Linq;
using System.Reflection;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NetDsl.Generators;
using NetDsl.Tests.Infrastructure;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Generator;

public class GeneratorTests
{
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
    public void SummaryConstantHoldsTheLayerTable()
    {
        Assert.Equal("""
            LeNet5: 1×28×28 → 10, 61,706 parameters
             #  layer  kind         output    params
             0  input  Input        1×28×28        0
             1  conv1  Conv2D 5×5   6×28×28      156
             2  tanh1  Tanh         6×28×28        0
             3  pool1  AvgPool 2×2  6×14×14        0
             4  conv2  Conv2D 5×5   16×10×10   2,416
             5  tanh2  Tanh         16×10×10       0
             6  pool2  AvgPool 2×2  16×5×5         0
             7  fc1    Dense        120×1×1   48,120
             8  tanh3  Tanh         120×1×1        0
             9  fc2    Dense        84×1×1    10,164
            10  tanh4  Tanh         84×1×1         0
            11  fc3    Dense        10×1×1       850
            """.Replace("\r\n", "\n"), Networks.LeNet5.Summary.ToString());
        // 6·25+6 + 16·150+16 + 120·400+120 + 84·120+84 + 10·84+10
        Assert.Equal(61706, Networks.LeNet5.ParameterCount);
        Assert.Equal(Networks.LeNet5.ParameterCount, new Networks.LeNet5(1).ParameterTensors.ToArray().Sum(t => t.Length));
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
        foreach (var name in new[] { NetworkGenerator.Steps.Spec, NetworkGenerator.Steps.Shaped })
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
        var models = new[] { "NetworkSpec", "LayerSpec", "Arg", "ContainingType", "ShapedNetwork", "ShapedLayer", "Problem", "InferenceResult" }
            .Select(n => assembly.GetTypes().Single(t => t.Name == n)).ToList();
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
