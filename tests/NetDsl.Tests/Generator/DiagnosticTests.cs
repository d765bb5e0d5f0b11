using System.Linq;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Generator;

/// <summary>Each diagnostic fires on the exact attribute argument (markup {|ID:...|}) and nowhere else;
/// the generator emits nothing for a network with an error.</summary>
public class DiagnosticTests
{
    public static TheoryData<string> Cases() => new()
    {
        // NDSL0001: not partial, on the class name
        "[Network(1, 28, 28)] [Dense(10)] public class {|NDSL0001:Net|} { }",
        // NDSL0002: generic network
        "[Network(1, 28, 28)] [Dense(10)] public partial class {|NDSL0002:Net|}<T> { }",
        // NDSL0003: layers on two partial declarations
        "[Network(1, 28, 28)] [Dense(10)] public partial class {|NDSL0003:Net|} { } [Dense(5)] public partial class Net { }",
        // NDSL0004: no layers
        "[Network(1, 28, 28)] public partial class {|NDSL0004:Net|} { }",
        // NDSL0005: input shape
        "[Network({|NDSL0005:0|}, 28, 28)] [Dense(10)] public partial class Net { }",
        // NDSL0101: invalid argument values, on the argument
        "[Network(1, 28, 28)] [Conv2D(6, 5, {|NDSL0101:Stride = 0|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Conv2D(6, {|NDSL0101:0|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Conv2D({|NDSL0101:-2|}, 3)] public partial class Net { }",
        "[Network(1, 28, 28)] [Conv2D(6, 3, {|NDSL0101:Padding = -1|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Conv2D(6, 3, {|NDSL0101:Dilation = 0|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Conv2D(6, 3, 3, {|NDSL0101:StrideWidth = -1|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Conv2D(6, 3, {|NDSL0101:PadLeft = -3|})] public partial class Net { }",
        "[Network(1, 28, 28)] [MaxPool2D({|NDSL0101:0|})] public partial class Net { }",
        "[Network(1, 28, 28)] [AvgPool2D(2, {|NDSL0101:Stride = -1|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Dense({|NDSL0101:0|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Dense(10)] [Dropout({|NDSL0101:1.0|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Dense(10)] [Dropout({|NDSL0101:-0.1|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Dense(10)] [LeakyReLU({|NDSL0101:1.5|})] public partial class Net { }",
        // NDSL0102: duplicate names, on the second one
        "[Network(1, 28, 28)] [Dense(10, Name = \"head\")] [Dense(5, {|NDSL0102:Name = \"head\"|})] public partial class Net { }",
        // NDSL0103..0105: skip connections
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1)] [Add({|NDSL0103:From = \"stem\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1)] [Add({|NDSL0103:From = \"later\"|})] [ReLU(Name = \"later\")] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"stem\")] [MaxPool2D(2)] [Add({|NDSL0104:From = \"stem\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"stem\")] [Conv2D(4, 3)] [Concat({|NDSL0105:From = \"stem\"|})] public partial class Net { }",
        "[Network(4, 8, 8)] [Conv2D(6, 3, Padding = 1, {|NDSL0101:Groups = 4|})] public partial class Net { }",
        // NDSL0201: output smaller than 1, on the kernel
        "[Network(1, 4, 4)] [Conv2D(6, {|NDSL0201:5|})] public partial class Net { }",
        "[Network(1, 28, 28)] [Conv2D(6, 5)] [MaxPool2D(2)] [Conv2D(16, 5)] [MaxPool2D(2)] [Conv2D(120, {|NDSL0201:5|})] public partial class Net { }",
        "[Network(1, 28, 8)] [Conv2D(6, {|NDSL0201:kernelWidth: 9|}, kernelHeight: 3)] public partial class Net { }",
        // NDSL0202: rows dropped, on the stride (warning; the network is still generated)
        "[Network(1, 28, 27)] [Conv2D(6, 3, {|NDSL0202:Stride = 2|})] public partial class Net { }",
        // NDSL0203: pooling padding over half the window
        "[Network(1, 28, 28)] [MaxPool2D(2, {|NDSL0203:Padding = 2|})] public partial class Net { }",
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void ReportsOnTheExactArgument(string body)
    {
        var (source, expected) = CompilerHarness.ParseMarkup("using NetDsl;\nnamespace User;\n" + body);
        var compilation = CompilerHarness.Compile(source);
        var actual = CompilerHarness.Analyze(compilation).Where(d => d.Id.StartsWith("NDSL")).ToList();
        Assert.True(actual.Count == expected.Count && expected.All(e => actual.Any(a => a.Id == e.Id && a.Location.SourceSpan == e.Span)),
            "expected " + string.Join(", ", expected.Select(e => $"{e.Id} at '{source.Substring(e.Span.Start, e.Span.Length)}'")) +
            "\nactual   " + string.Join(", ", actual.Select(a => $"{a.Id} at '{(a.Location.IsInSource ? source.Substring(a.Location.SourceSpan.Start, a.Location.SourceSpan.Length) : "none")}': {a.GetMessage()}")));

        // The generator never throws, and emits nothing for a network with an error.
        var (run, output, generatorDiagnostics) = CompilerHarness.Generate(source);
        Assert.Empty(generatorDiagnostics);
        bool anyError = expected.Any(e => e.Id != "NDSL0202");
        Assert.Equal(anyError ? 0 : 1, run.GeneratedTrees.Length);
        if (!anyError)
            Assert.Empty(output.GetDiagnostics().Where(d => d.Severity == Microsoft.CodeAnalysis.DiagnosticSeverity.Error));
    }

    [Fact]
    public void OutputTooSmallShowsTheArithmetic()
    {
        var source = "using NetDsl; [Network(1, 28, 28)] [Conv2D(6, 5)] [MaxPool2D(2)] [Conv2D(16, 5)] [MaxPool2D(2)] [Conv2D(120, 5)] public partial class Net { }";
        var d = Assert.Single(CompilerHarness.Analyze(CompilerHarness.Compile(source)), x => x.Id == "NDSL0201" && x.GetMessage().Contains("height"));
        Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Error, d.Severity);
        Assert.Equal("conv3 (layer 5, Conv2D): output height would be ⌊(4 + 0 + 0 − (5 − 1) − 1) / 1⌋ + 1 = ⌊-1 / 1⌋ + 1 = 0, less than 1 (input height is 4 with padding 0+0, smaller than the window 5)", d.GetMessage());
    }

    [Fact]
    public void DroppedRowsWarningSaysHowMany()
    {
        var source = "using NetDsl; [Network(1, 28, 27)] [Conv2D(6, 3, Stride = 2)] public partial class Net { }";
        var d = CompilerHarness.Analyze(CompilerHarness.Compile(source)).First(x => x.Id == "NDSL0202");
        Assert.Equal(Microsoft.CodeAnalysis.DiagnosticSeverity.Warning, d.Severity);
        Assert.Equal("conv1 (layer 1, Conv2D): (28 + 0 + 0 − (3 − 1) − 1) = 25 is not a multiple of the stride 2, so the last 1 row of the input is never read; output height is ⌊25 / 2⌋ + 1 = 13", d.GetMessage());
    }

    [Fact]
    public void CodeBeingTypedProducesNoCrashAndNoOutput()
    {
        foreach (var source in new[]
        {
            "using NetDsl; [Network(1, 28, 28)] [Conv2D(6, ] public partial class Net { }",
            "using NetDsl; [Network(1, 28, 28)] [Conv2D(6, 5, Stride = )] public partial class Net { }",
            "using NetDsl; [Network(1, 28)] [Dense(10)] public partial class Net { }",
            "using NetDsl; [Network(1, 28, 28)] [Dense(\"ten\")] public partial class Net { }",
            "using NetDsl; [Network(1, 28, 28)] [Dense(10)] public partial class",
            "using NetDsl; [Network(1, 28, 28)] [Dense(10)] [Unknown] public partial class Net { }", // not a layer: the compiler reports it
        })
        {
            var (run, _, generatorDiagnostics) = CompilerHarness.Generate(source);
            Assert.Empty(generatorDiagnostics);
            if (!source.Contains("Unknown")) Assert.Empty(run.GeneratedTrees);
            var all = CompilerHarness.Analyze(CompilerHarness.Compile(source));
            Assert.DoesNotContain(all, d => d.Id is "AD0001" or "CS8785");
        }
    }
}
