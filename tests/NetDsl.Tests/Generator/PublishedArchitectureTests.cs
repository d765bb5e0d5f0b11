using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.CodeAnalysis;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Generator;

/// <summary>The notes' ImageNet architectures as samples/Architectures declares them (3×224×224, 1000 classes) go through
/// the generator, compile, and have the parameter counts computed here by hand from the papers' layer shapes.</summary>
public class PublishedArchitectureTests
{
    private readonly Xunit.Abstractions.ITestOutputHelper _output;
    public PublishedArchitectureTests(Xunit.Abstractions.ITestOutputHelper output) => _output = output;

    // weights (out · in/groups · k · k) plus biases (out)
    private static long Conv(long cin, long cout, long k, long groups = 1) => cout * (cin / groups) * k * k + cout;
    private static long Dense(long cin, long cout) => cout * cin + cout;

    /// <summary>One inception module: 1×1; 1×1 reduce then 3×3; 1×1 reduce then 5×5; pooling then a 1×1 projection.</summary>
    private static long Inception(long cin, long c1, long r3, long c3, long r5, long c5, long proj) =>
        Conv(cin, c1, 1) + Conv(cin, r3, 1) + Conv(r3, c3, 3) + Conv(cin, r5, 1) + Conv(r5, c5, 5) + Conv(cin, proj, 1);

    public static TheoryData<string, long> Published() => new()
    {
        // torchvision alexnet: 64-192-384-256-256, 256·6·6 = 9216 → 4096 → 4096 → 1000
        { "AlexNet", Conv(3, 64, 11) + Conv(64, 192, 5) + Conv(192, 384, 3) + Conv(384, 256, 3) + Conv(256, 256, 3)
                     + Dense(9216, 4096) + Dense(4096, 4096) + Dense(4096, 1000) },
        // Krizhevsky et al. 2012: conv2, conv4, conv5 see only their tower's half of the channels
        { "AlexNetTwoTower", Conv(3, 96, 11) + Conv(96, 256, 5, 2) + Conv(256, 384, 3) + Conv(384, 384, 3, 2) + Conv(384, 256, 3, 2)
                     + Dense(9216, 4096) + Dense(4096, 4096) + Dense(4096, 1000) },
        // Zeiler and Fergus 2013, Figure 3: 96 7×7, 256 5×5, 384, 384, 256 3×3, 6·6·256 → 4096 → 4096 → 1000
        { "ZfNet", Conv(3, 96, 7) + Conv(96, 256, 5) + Conv(256, 384, 3) + Conv(384, 384, 3) + Conv(384, 256, 3)
                     + Dense(9216, 4096) + Dense(4096, 4096) + Dense(4096, 1000) },
        // VGG-16, configuration D: 64,64 | 128,128 | 256×3 | 512×3 | 512×3, 7·7·512 = 25088 → 4096 → 4096 → 1000
        { "Vgg16", Conv(3, 64, 3) + Conv(64, 64, 3) + Conv(64, 128, 3) + Conv(128, 128, 3)
                     + Conv(128, 256, 3) + 2 * Conv(256, 256, 3) + Conv(256, 512, 3) + 2 * Conv(512, 512, 3) + 3 * Conv(512, 512, 3)
                     + Dense(25088, 4096) + Dense(4096, 4096) + Dense(4096, 1000) },
        // GoogLeNet, Table 1 (no auxiliary classifiers)
        { "GoogLeNet", Conv(3, 64, 7) + Conv(64, 64, 1) + Conv(64, 192, 3)
                     + Inception(192, 64, 96, 128, 16, 32, 32) + Inception(256, 128, 128, 192, 32, 96, 64)
                     + Inception(480, 192, 96, 208, 16, 48, 64) + Inception(512, 160, 112, 224, 24, 64, 64)
                     + Inception(512, 128, 128, 256, 24, 64, 64) + Inception(512, 112, 144, 288, 32, 64, 64)
                     + Inception(528, 256, 160, 320, 32, 128, 128) + Inception(832, 256, 160, 320, 32, 128, 128)
                     + Inception(832, 384, 192, 384, 48, 128, 128) + Dense(1024, 1000) },
    };

    private static readonly Lazy<(GeneratorDriverRunResult Run, Compilation Output, double Seconds)> s_generated = new(() =>
    {
        string dir = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(dir, "NetDsl.sln"))) dir = Path.GetDirectoryName(dir)!;
        string source = File.ReadAllText(Path.Combine(dir, "samples", "Architectures", "Published.cs"));
        var clock = Stopwatch.StartNew();
        var (run, output, diagnostics) = CompilerHarness.Generate(source);
        double seconds = clock.Elapsed.TotalSeconds;
        Assert.Empty(diagnostics);
        return (run, output, seconds);
    });

    [Theory]
    [MemberData(nameof(Published))]
    public void ParameterCountMatchesThePublishedLayerShapes(string network, long expected)
    {
        var (run, output, seconds) = s_generated.Value;
        _output.WriteLine($"generating the five networks took {seconds:F2} s");
        Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error));
        var tree = Assert.Single(run.GeneratedTrees, t => t.FilePath.EndsWith("." + network + ".g.cs"));
        var match = Regex.Match(tree.GetText().ToString(), @"public const int ParameterCount = (\d+);");
        Assert.True(match.Success, "no ParameterCount constant");
        Assert.Equal(expected, long.Parse(match.Groups[1].Value));
    }

    [Fact]
    public void PublishedFiguresAreTheRoundedHandCounts()
    {
        // The papers' own totals: AlexNet "60 million", VGG-16 "138 million"; torchvision's alexnet 61,100,840.
        var counts = Published().ToDictionary(r => (string)r[0], r => (long)r[1]);
        Assert.Equal(61_100_840, counts["AlexNet"]);
        Assert.Equal(60, (int)(counts["AlexNetTwoTower"] / 1_000_000)); // 60,965,224
        Assert.Equal(138, (int)Math.Round(counts["Vgg16"] / 1e6));
        Assert.Equal(138_357_544, counts["Vgg16"]);
    }
}
