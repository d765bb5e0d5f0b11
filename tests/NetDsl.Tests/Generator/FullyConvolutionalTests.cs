using System;
using System.IO;
using System.Linq;
using Microsoft.CodeAnalysis;
using NetDsl.IO;
using NetDsl.Kernels;
using NetDsl.Tests.Infrastructure;
using NetDsl.Tests.Networks;
using Shouldly;
using Xunit;

namespace NetDsl.Tests.Generator;

/// <summary>Fully convolutional twins (<c>ConvolutionalOf</c>): the map's position (i, j) equals the original network on the
/// input window shifted by (i, j) times the total stride; the original's weights load as they are; NDSL0007 on the argument
/// at fault, with the numbers.</summary>
public class FullyConvolutionalTests
{
    private static float[] Random(int n, int seed)
    {
        var rng = new Rng((ulong)seed);
        return Enumerable.Range(0, n).Select(_ => rng.NextFloat() * 2 - 1).ToArray();
    }

    /// <summary>The window of <paramref name="input"/> (c, h, w) at (top, left), of size wh × ww.</summary>
    private static float[] Crop(float[] input, int c, int h, int w, int top, int left, int wh, int ww)
    {
        var crop = new float[c * wh * ww];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < wh; y++)
                Array.Copy(input, (ch * h + top + y) * w + left, crop, (ch * wh + y) * ww, ww);
        return crop;
    }

    private static void MapEqualsCrops(INetwork original, INetwork twin, int c, int h, int w, int wh, int ww, int stride, int mapH, int mapW, int classes, int seed)
    {
        const int batch = 2;
        var input = Random(batch * c * h * w, seed);
        var map = twin.Forward(input, batch).ToArray();
        map.Length.ShouldBe(batch * classes * mapH * mapW);
        int checkedPositions = 0;
        for (int n = 0; n < batch; n++)
        {
            var sample = input.AsSpan(n * c * h * w, c * h * w).ToArray();
            for (int i = 0; i < mapH; i++)
                for (int j = 0; j < mapW; j++)
                {
                    var expected = original.Forward(Crop(sample, c, h, w, i * stride, j * stride, wh, ww), 1).ToArray();
                    for (int k = 0; k < classes; k++)
                    {
                        float got = map[((n * classes + k) * mapH + i) * mapW + j];
                        got.ShouldBe(expected[k], 1e-5f + 1e-5f * Math.Abs(expected[k]), $"sample {n}, position ({i}, {j}), class {k}");
                    }
                    checkedPositions++;
                }
        }
        checkedPositions.ShouldBe(batch * mapH * mapW);
    }

    [Fact]
    public void MapPositionsEqualTheOriginalOnShiftedCrops()
    {
        using var original = new PatchClassifier(1, seed: 3, workers: 1);
        // Running statistics other than (0, 1), so a twin that dropped them would differ.
        var stats = Random(original.Buffers.Length, 5);
        for (int i = 0; i < 8; i++) { original.Buffers[i] = stats[i]; original.Buffers[8 + i] = 0.5f + Math.Abs(stats[8 + i]); }
        using var twin = new PatchClassifierMap(2, seed: 99, workers: 1);
        twin.LoadWeightsFrom(original);

        (PatchClassifierMap.WindowHeight, PatchClassifierMap.WindowWidth).ShouldBe((12, 12));
        (PatchClassifierMap.MapStrideHeight, PatchClassifierMap.MapStrideWidth).ShouldBe((2, 2));
        (PatchClassifierMap.MapHeight, PatchClassifierMap.MapWidth).ShouldBe((4, 3));
        PatchClassifierMap.OutputSize.ShouldBe(5 * 4 * 3);
        PatchClassifierMap.ParameterCount.ShouldBe(PatchClassifier.ParameterCount);
        MapEqualsCrops(original, twin, 2, 18, 16, 12, 12, 2, 4, 3, 5, seed: 11);
    }

    [Fact]
    public void GraphNetworkTwinMatchesEveryCrop()
    {
        using var original = new BranchClassifier(1, seed: 7, workers: 1);
        using var twin = new BranchClassifierMap(2, seed: 1, workers: 1);
        twin.LoadWeightsFrom(original);
        (BranchClassifierMap.MapHeight, BranchClassifierMap.MapWidth).ShouldBe((4, 3)); // (15 − 9)/2 + 1, (13 − 9)/2 + 1
        MapEqualsCrops(original, twin, 1, 15, 13, 9, 9, 2, 4, 3, 3, seed: 12);
    }

    [Fact]
    public void TheOriginalsSafetensorsLoadIntoTheTwin()
    {
        using var original = new PatchClassifier(1, seed: 21, workers: 1);
        for (int i = 0; i < original.Buffers.Length; i++) original.Buffers[i] = 1 + i * 0.01f;
        string path = Path.Combine(Path.GetTempPath(), $"netdsl-fcn-{Guid.NewGuid():N}.safetensors");
        try
        {
            SafeTensors.Save(path, original);
            using var twin = new PatchClassifierMap(1, seed: 5, workers: 1);
            twin.Parameters.SequenceEqual(original.Parameters).ShouldBeFalse();
            SafeTensors.Load(path, twin);
            twin.Parameters.ToArray().ShouldBe(original.Parameters.ToArray());
            twin.Buffers.ToArray().ShouldBe(original.Buffers.ToArray());
            // The converted tensors say which dense shape they also take.
            var dense = twin.ParameterTensors.ToArray().Single(t => t.Name == "dense1.weight");
            dense.Shape.ShouldBe(new[] { 8, 6, 4, 4 });
            dense.DenseShape.ShouldBe(new[] { 8, 96 });
            twin.ParameterTensors.ToArray().Single(t => t.Name == "head.weight").Shape.ShouldBe(new[] { 5, 8, 1, 1 });
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void GeneratedTwinMatchesTheApprovedSnapshot()
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "NetDsl.sln"))) dir = Path.GetDirectoryName(dir)!;
        string source = File.ReadAllText(Path.Combine(dir, "tests", "NetDsl.Tests", "Networks", "FullyConvolutionalNetworks.cs"));
        var (run, output, diagnostics) = CompilerHarness.Generate(source);
        Assert.Empty(diagnostics);
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity >= DiagnosticSeverity.Warning));
        var tree = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith(".PatchClassifierMap.g.cs"));
        tree.GetText().ToString().ShouldMatchApproved(c => c.SubFolder("Approved").WithDiscriminator("PatchClassifierMap").NoDiff());
    }

    /// <summary>The twin's spec carries the original's: an edit in the original's own file regenerates the twin (incremental
    /// pipeline, two files).</summary>
    [Fact]
    public void EditingTheOriginalInAnotherFileRegeneratesTheTwin()
    {
        const string cnn = "using NetDsl; namespace User; [Network(1, 12, 12)] [Conv2D(4, 3)] [MaxPool2D(2)] [Dense(3)] public partial class Cnn { }";
        const string twin = "using NetDsl; namespace User; [Network(1, 16, 14, ConvolutionalOf = typeof(Cnn))] public partial class Map { }";
        var compilation = CompilerHarness.Compile(cnn, twin);
        GeneratorDriver driver = CompilerHarness.Driver().RunGenerators(compilation);
        string Generated() => driver.GetRunResult().GeneratedTrees.Single(t => t.FilePath.EndsWith(".Map.g.cs")).GetText().ToString();
        Generated().ShouldContain("public const int OutputSize = 18;"); // 3 classes × 3×2 positions
        var edited = compilation.ReplaceSyntaxTree(compilation.SyntaxTrees.First(),
            Microsoft.CodeAnalysis.CSharp.CSharpSyntaxTree.ParseText(cnn.Replace("[Dense(3)]", "[Dense(5)]"), CompilerHarness.ParseOptions, path: "File0.cs"));
        driver = driver.RunGenerators(edited);
        Generated().ShouldContain("public const int OutputSize = 30;");
    }

    private const string Original = "[Network(1, 12, 12)] [Conv2D(4, 3)] [MaxPool2D(2)] [Dense(3)] public partial class Cnn { }\n";

    /// <summary>NDSL0007 sits on the argument at fault and gives the numbers; the twin is not generated (the original is).</summary>
    [Theory]
    [InlineData("[Network(1, {|NDSL0007:17|}, 14, ConvolutionalOf = typeof(Cnn))] public partial class Map { }",
        "Network 'Map' cannot be the fully convolutional twin of Cnn: its height 17 − Cnn's 12 = 5 is not a multiple of the total stride 2 (pool1 /2): the last 1 row would fit no window; 16 or 18 would give 3 or 4 positions")]
    [InlineData("[Network(1, 14, {|NDSL0007:10|}, ConvolutionalOf = typeof(Cnn))] public partial class Map { }",
        "Network 'Map' cannot be the fully convolutional twin of Cnn: its width 10 is smaller than Cnn's 12, the window each output position sees")]
    [InlineData("[Network({|NDSL0007:3|}, 14, 14, ConvolutionalOf = typeof(Cnn))] public partial class Map { }",
        "Network 'Map' cannot be the fully convolutional twin of Cnn: its input has 3 channels, Cnn's has 1")]
    [InlineData("[Network(1, 14, 14, {|NDSL0007:ConvolutionalOf = typeof(string)|})] public partial class Map { }",
        "Network 'Map' cannot be the fully convolutional twin of string: String has no [Network] attribute")]
    [InlineData("[Network(1, 14, 14, {|NDSL0007:ConvolutionalOf = typeof(Cnn)|})] [Dense(3)] public partial class Map { }",
        "Network 'Map' cannot be the fully convolutional twin of Cnn: it declares 1 layer attribute of its own; a twin takes every layer from Cnn, so remove them")]
    [InlineData("[Network(1, 14, 14, {|NDSL0007:ConvolutionalOf = typeof(Gap)|})] public partial class Map { }\n[Network(1, 12, 12)] [Conv2D(4, 3)] [GlobalAvgPool2D] [Dense(3)] public partial class Gap { }",
        "Network 'Map' cannot be the fully convolutional twin of Gap: pool1 (layer 2, GlobalAvgPool2D) averages the whole map, so on a larger input it would average over all windows instead of giving a map of answers")]
    public void TwinThatDoesNotFitIsReportedOnTheArgument(string twin, string message)
    {
        var (source, expected) = CompilerHarness.ParseMarkup("using NetDsl;\nnamespace User;\n" + Original + twin);
        var actual = CompilerHarness.Analyze(CompilerHarness.Compile(source)).Where(d => d.Id.StartsWith("NDSL") && d.Severity == DiagnosticSeverity.Error).ToList();
        var d = Assert.Single(actual);
        var e = Assert.Single(expected);
        d.Id.ShouldBe(e.Id);
        source.Substring(d.Location.SourceSpan.Start, d.Location.SourceSpan.Length).ShouldBe(source.Substring(e.Span.Start, e.Span.Length));
        d.GetMessage().ShouldBe(message);
        var (run, _, generatorDiagnostics) = CompilerHarness.Generate(source);
        Assert.Empty(generatorDiagnostics);
        run.GeneratedTrees.ShouldNotContain(t => t.FilePath.EndsWith(".Map.g.cs"));
    }
}
