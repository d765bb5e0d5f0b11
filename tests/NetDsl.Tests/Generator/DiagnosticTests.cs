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

        // ---- more of each ID ------------------------------------------------------------------------------------
        // NDSL0001 with other modifiers
        "[Network(1, 28, 28)] [Dense(10)] internal sealed class {|NDSL0001:Net|} { }",
        // NDSL0002: static; nested in a generic type; nested in a non-partial type
        "[Network(1, 28, 28)] [Dense(10)] public static partial class {|NDSL0002:Net|} { }",
        "public partial class Outer<T> { [Network(1, 28, 28)] [Dense(10)] public partial class {|NDSL0002:Net|} { } }",
        "public class Outer { [Network(1, 28, 28)] [Dense(10)] public partial class {|NDSL0002:Net|} { } }",
        // NDSL0003: three declarations, on the first one's name
        "[Network(1, 28, 28)] [Dense(10)] public partial class {|NDSL0003:Net|} { } [ReLU] partial class Net { } [Dense(2)] partial class Net { }",
        // NDSL0004 with a network-wide Init
        "[Network(3, 32, 32, Init = Init.He)] public partial class {|NDSL0004:Net|};",
        // NDSL0005: each dimension, on its argument, including one past the limit
        "[Network(1, {|NDSL0005:-28|}, 28)] [Dense(10)] public partial class Net { }",
        "[Network(1, 28, {|NDSL0005:2000000|})] [Dense(10)] public partial class Net { }",
        // NDSL0006: a LayerAttribute NetDsl does not know, on the attribute
        "public sealed class MyLayerAttribute : LayerAttribute { } [Network(1, 28, 28)] [Dense(10)] [{|NDSL0006:MyLayer|}] public partial class Net { }",
        // NDSL0101: more argument domains
        "[Network(4, 8, 8)] [Conv2D(8, 3, {|NDSL0101:Groups = 0|})] public partial class Net { }",
        "[Network(4, 8, 8)] [Conv2D(6, 3, {|NDSL0101:Init = (Init)9|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Dense(10, {|NDSL0101:Name = \"a b\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Dense(10)] [ELU({|NDSL0101:-1.0|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Maxout(4, {|NDSL0101:0|})] public partial class Net { }",
        "[Network(3, 8, 8)] [LocalResponseNorm({|NDSL0101:0|})] public partial class Net { }",
        "[Network(3, 8, 8)] [Conv2D(4, 3)] [BatchNorm({|NDSL0101:Momentum = 2.0|})] public partial class Net { }",
        "[Network(3, 8, 8)] [Conv2D(4, 3)] [BatchNorm({|NDSL0101:Epsilon = 0.0|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Dense(10)] [LeakyReLU({|NDSL0101:-0.5|})] public partial class Net { }",
        "[Network(1, 4, 4)] [ConvTranspose2D(4, 3, Stride = 2, {|NDSL0101:OutputPadding = 2|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1)] [{|NDSL0101:Add|}] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1)] [Concat({|NDSL0101:From = \"\"|})] public partial class Net { }",
        "[Network(1, 1000, 1000)] [Dense({|NDSL0101:5000|})] public partial class Net { }",
        // NDSL0102: a default name taken by an explicit one (on the attribute); the same name on two kinds
        "[Network(1, 8, 8)] [Dense(10, Name = \"dense2\")] [{|NDSL0102:Dense(5)|}] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Name = \"x\")] [ReLU({|NDSL0102:Name = \"x\"|})] public partial class Net { }",
        // NDSL0103: a skip that reads itself; Concat from an unknown name
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1)] [Add(Name = \"self\", {|NDSL0103:From = \"self\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1)] [Concat({|NDSL0103:From = \"nope\"|})] public partial class Net { }",
        // The graph: From on any layer, Add/Concat input lists; each bad name on its own list item.
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"stem\")] [Conv2D(2, 1, {|NDSL0103:From = \"nope\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [ReLU(Name = \"b\")] [Concat(\"a\", {|NDSL0103:\"later\"|})] [ReLU(Name = \"later\")] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [ReLU({|NDSL0102:Name = \"a\"|})] [Conv2D(2, 1, {|NDSL0103:From = \"a\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Conv2D(4, 3, Stride = 2, Padding = 1, Name = \"b\")] [Add(\"a\", {|NDSL0104:\"b\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Conv2D(4, 3, Stride = 2, Padding = 1, Name = \"b\")] [Concat(\"a\", {|NDSL0105:\"b\"|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Add({|NDSL0101:\"a\"|})] public partial class Net { }",
        // NDSL0104: channels differ from the input's
        "[Network(3, 8, 8)] [Conv2D(4, 3, Padding = 1)] [Add({|NDSL0104:From = \"input\"|})] public partial class Net { }",
        // NDSL0105: Concat with the input after pooling
        "[Network(3, 8, 8)] [MaxPool2D(2)] [Concat({|NDSL0105:From = \"input\"|})] public partial class Net { }",
        // NDSL0201: pooling window, dilated kernel, transposed convolution with too much padding
        "[Network(1, 3, 3)] [MaxPool2D({|NDSL0201:4|})] public partial class Net { }",
        "[Network(1, 8, 8)] [Conv2D(4, {|NDSL0201:3|}, Dilation = 4)] public partial class Net { }",
        "[Network(1, 2, 2)] [ConvTranspose2D(4, 2, {|NDSL0201:Padding = 3|})] public partial class Net { }",
        // NDSL0202: pooling with its default stride (on the attribute: both height and width drop a row); a width stride
        "[Network(1, 7, 7)] [{|NDSL0202:{|NDSL0202:MaxPool2D(2)|}|}] public partial class Net { }",
        "[Network(1, 8, 10)] [Conv2D(2, 3, {|NDSL0202:StrideWidth = 2|})] public partial class Net { }",
        // NDSL0203 on average pooling
        "[Network(1, 8, 8)] [AvgPool2D(3, {|NDSL0203:Padding = 2|})] public partial class Net { }",
        // NDSL0204: sizes past the int-indexed arrays
        "[Network(1000000, 1000, 2)] [Dense(10)] public partial class {|NDSL0204:Net|} { }",
        "[Network(1, 1000, 1000)] [{|NDSL0204:Conv2D(2000, 1)|}] public partial class Net { }",
        // NDSL0301: an explicit Flatten of a 1×1 map; a Dense after a convolution that shrank the map to one pixel
        "[Network(1, 28, 28)] [Conv2D(8, 3)] [GlobalAvgPool2D] [{|NDSL0301:Flatten|}] [Dense(10)] public partial class Net { }",
        "[Network(1, 5, 5)] [Conv2D(16, 5)] [ReLU] [{|NDSL0301:Dense(10)|}] public partial class Net { }",
        // NDSL0306: a layer no one reads (a dead branch), on the attribute
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [{|NDSL0306:Tanh|}] [Conv2D(2, 1, From = \"a\")] public partial class Net { }",
        // NDSL0302: activation after activation (the second one)
        "[Network(1, 8, 8)] [Dense(10)] [ReLU] [{|NDSL0302:ReLU|}] [Dense(2)] public partial class Net { }",
        "[Network(1, 8, 8)] [Dense(10)] [Tanh] [{|NDSL0302:Sigmoid|}] public partial class Net { }",
        "[Network(1, 8, 8)] [Dense(10)] [ReLU] [{|NDSL0302:Softmax|}] public partial class Net { }",
        // NDSL0303: sigmoid in a hidden layer
        "[Network(1, 8, 8)] [Dense(10)] [{|NDSL0303:Sigmoid|}] [Dense(1)] public partial class Net { }",
        // NDSL0304: softmax not last
        "[Network(1, 8, 8)] [Dense(10)] [{|NDSL0304:Softmax|}] [Dense(2)] public partial class Net { }",
        // NDSL0305: over 10 million parameters, on the layer holding most
        "[Network(3, 64, 64)] [Conv2D(64, 3, Padding = 1)] [ReLU] [{|NDSL0305:Dense(100)|}] public partial class Net { }",
        // Several at once: each on its own argument
        "[Network(1, 28, 28)] [Conv2D(6, 5, {|NDSL0101:Stride = 0|})] [Dense(10, Name = \"head\")] [Dense(5, {|NDSL0102:Name = \"head\"|})] public partial class Net { }",
    };

    /// <summary>Networks that must raise nothing: the advice stays quiet on the normal idioms.</summary>
    public static TheoryData<string> CleanCases() => new()
    {
        // Dense after global pooling, after a Dense, on a 1×1 input; sigmoid at the output; softmax last
        "[Network(1, 8, 8)] [Conv2D(4, 3)] [GlobalAvgPool2D] [Dense(10)] [ReLU] [Dense(1)] [Sigmoid] public partial class Net { }",
        "[Network(5, 1, 1)] [Dense(8)] [Tanh] [Dense(3)] [Softmax] public partial class Net { }",
        // LeNet-5 and a residual block
        "[Network(1, 28, 28)] [Conv2D(6, 5, Padding = 2)] [Tanh] [AvgPool2D(2)] [Conv2D(16, 5)] [Tanh] [AvgPool2D(2)] [Dense(120)] [Tanh] [Dense(84)] [Tanh] [Dense(10)] public partial class Net { }",
        "[Network(4, 8, 8)] [Conv2D(4, 3, Padding = 1)] [BatchNorm] [ReLU(Name = \"a\")] [Conv2D(4, 3, Padding = 1)] [BatchNorm] [Add(From = \"a\")] [ReLU] [GlobalAvgPool2D] [Dense(2)] public partial class Net { }",
    };

    [Theory]
    [MemberData(nameof(CleanCases))]
    public void CleanNetworksRaiseNothing(string body) => ReportsOnTheExactArgument(body);

    [Fact]
    public void TheCorpusHoldsAtLeastFortyBuggyNetworks() => Assert.True(Cases().Count >= 40, $"{Cases().Count} cases");

    private static readonly string[] NonErrors = { "NDSL0202", "NDSL0301", "NDSL0302", "NDSL0303", "NDSL0304", "NDSL0305", "NDSL0306" };

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
        bool anyError = expected.Any(e => !NonErrors.Contains(e.Id));
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

/// <summary>The messages show the numbers: each new diagnostic's full text, and the repairs it carries for the code fixes.</summary>
public class DiagnosticMessageTests
{
    [Theory]
    [InlineData("[Network(1, 4, 4)] [ConvTranspose2D(4, 3, Stride = 2, OutputPadding = 2)]", "NDSL0101",
        "deconv1 (layer 1, ConvTranspose2D): OutputPadding must be smaller than the stride 2 or the dilation 1, got 2")]
    [InlineData("[Network(1, 2, 2)] [ConvTranspose2D(4, 2, Padding = 3)]", "NDSL0201",
        "deconv1 (layer 1, ConvTranspose2D): output height would be (2 − 1)·1 − 2·3 + 1·(2 − 1) + 0 + 1 = -3, less than 1 (input height is 2, too small for padding 3)")]
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Dilation = 4)]", "NDSL0201",
        "conv1 (layer 1, Conv2D): output height would be ⌊(8 + 0 + 0 − 4·(3 − 1) − 1) / 1⌋ + 1 = ⌊-1 / 1⌋ + 1 = 0, less than 1 (input height is 8 with padding 0+0, smaller than the window 9)")]
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1)] [Add(Name = \"self\", From = \"self\")]", "NDSL0103",
        "self (layer 2, Add): From = \"self\": a layer cannot read its own output")]
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [ReLU(Name = \"b\")] [Concat(\"a\", \"later\")] [ReLU(Name = \"later\")]", "NDSL0103",
        "concat1 (layer 3, Concat): input 2 \"later\": layer 4 is named 'later', but a layer can only read an earlier layer")]
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"stem\")] [MaxPool2D(2)] [Add(From = \"stem\")]", "NDSL0104",
        "add1 (layer 3, Add): Add needs equal shapes, but its inputs give 'pool1' 4×4×4, 'stem' 4×8×8; 'stem' differs (a strided 1×1 convolution on that path can project it)")]
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Conv2D(2, 3, Padding = 1, Name = \"b\")] [MaxPool2D(2, Name = \"c\")] [Concat(\"a\", \"b\", \"c\")]", "NDSL0105",
        "concat1 (layer 4, Concat): Concat needs equal height and width, but its inputs give 'a' 4×8×8, 'b' 2×8×8, 'c' 2×4×4; 'c' differs")]
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Tanh] [Conv2D(2, 1, From = \"a\")]", "NDSL0306",
        "tanh1 (layer 2, Tanh): no layer reads its output, so it cannot affect the network's output (a dead branch); read it with From = \"tanh1\" or a join, or remove it")]
    [InlineData("[Network(1000000, 1000, 2)] [Dense(10)]", "NDSL0204",
        "Net: the input 1000000×1000×2 = 2,000,000,000 floats per sample is too large (the generated code holds each tensor in one array of at most 1,073,741,823 floats)")]
    [InlineData("[Network(1, 1000, 1000)] [Conv2D(2000, 1)]", "NDSL0204",
        "conv1 (layer 1, Conv2D): its output 2000×1000×1000 = 2,000,000,000 floats per sample is too large (the generated code holds each tensor in one array of at most 1,073,741,823 floats)")]
    [InlineData("[Network(1, 28, 28)] [Conv2D(8, 3)] [GlobalAvgPool2D] [Flatten] [Dense(10)]", "NDSL0301",
        "flatten1 (layer 3, Flatten): the input is already 8×1×1, so the flatten is a no-op; remove it (a Dense flattens by itself)")]
    [InlineData("[Network(1, 5, 5)] [Conv2D(16, 5)] [ReLU] [Dense(10)]", "NDSL0301",
        "dense1 (layer 3, Dense): the input is already 16×1×1, so the flatten is a no-op (conv1 already shrinks its 5×5 input to one pixel, so it acts as a dense layer; if that was not meant, pool less or pad more)")]
    [InlineData("[Network(1, 8, 8)] [Dense(10)] [ReLU] [ReLU] [Dense(2)]", "NDSL0302",
        "relu2 (layer 3, ReLU) directly follows the activation relu1 (layer 2, ReLU): ReLU outputs are never negative, so this ReLU changes nothing; remove one of them")]
    [InlineData("[Network(1, 8, 8)] [Dense(10)] [Tanh] [Sigmoid]", "NDSL0302",
        "sigmoid1 (layer 3, Sigmoid) directly follows the activation tanh1 (layer 2, Tanh): with no layer between them the second only distorts the first one's output; remove one of them")]
    [InlineData("[Network(1, 8, 8)] [Dense(10)] [Sigmoid] [Dense(1)]", "NDSL0303",
        "sigmoid1 (layer 2, Sigmoid): a sigmoid in a hidden layer saturates, so its gradients vanish; the lecture notes advise \"Do not use sigmoid except at the output of a 2 class net.\" and \"By default, people use ReLU.\"")]
    [InlineData("[Network(1, 8, 8)] [Dense(10)] [Softmax] [Dense(2)]", "NDSL0304",
        "softmax1 (layer 2, Softmax): a softmax belongs at the output, but 1 more layer follows, starting with dense2 (layer 3, Dense); move it last, or leave it out when training with SoftmaxCrossEntropy, which applies softmax itself")]
    [InlineData("[Network(1, 8, 8)] [Dense(10)] [Softmax] [Dense(2)] [ReLU]", "NDSL0304",
        "softmax1 (layer 2, Softmax): a softmax belongs at the output, but 2 more layers follow, starting with dense2 (layer 3, Dense); move it last, or leave it out when training with SoftmaxCrossEntropy, which applies softmax itself")]
    [InlineData("[Network(3, 64, 64)] [Conv2D(64, 3, Padding = 1)] [ReLU] [Dense(100)]", "NDSL0305",
        "Network 'Net' has 26,216,292 parameters (100 MiB of float32, as much again for the gradients); dense1 (layer 3, Dense) holds 26,214,500 of them (99.9 %)")]
    public void MessageShowsTheNumbers(string attributes, string id, string message)
    {
        var d = Assert.Single(CompilerHarness.Analyze(CompilerHarness.Compile("using NetDsl;\n" + attributes + " public partial class Net { }")), x => x.Id == id);
        Assert.Equal(message, d.GetMessage());
    }

    [Theory]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 5)]", "NDSL0201", "SamePadding=Padding=2")]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 3, 5)]", "NDSL0201", "SamePadding=Padding=;PadTop=1;PadBottom=1;PadLeft=2;PadRight=2")]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 5, PadLeft = 1)]", "NDSL0201", "SamePadding=Padding=2;PadTop=;PadBottom=;PadLeft=;PadRight=")]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 6)]", "NDSL0201", "")] // even kernel: no "same" padding
    [InlineData("[Network(1, 28, 27)] [Conv2D(6, 3, Stride = 2)]", "NDSL0202", "SamePadding=Padding=1 Stride=Stride=1")]
    [InlineData("[Network(1, 9, 8)] [Conv2D(4, 2, Stride = 2)]", "NDSL0202", "Padding=Padding=1 Stride=Stride=1")]
    [InlineData("[Network(1, 12, 16)] [Conv2D(4, 4, Stride = 3)]", "NDSL0202", "Padding=Padding=2 Stride=Stride=2")]
    [InlineData("[Network(1, 7, 8)] [MaxPool2D(2)]", "NDSL0202", "Padding=Padding=1 Stride=Stride=1")]
    [InlineData("[Network(1, 8, 10)] [Conv2D(2, 3, StrideWidth = 2)]", "NDSL0202", "SamePadding=Padding=1 Stride=StrideWidth=1")]
    [InlineData("[Network(1, 8, 8)] [Dense(10, Name = \"head\")] [Dense(5, Name = \"head\")]", "NDSL0102", "UniqueName=Name=\"head2\"")]
    [InlineData("[Network(1, 8, 8)] [Dense(10, Name = \"dense2\")] [Dense(5)]", "NDSL0102", "UniqueName=Name=\"dense3\"")]
    [InlineData("[Network(1, 8, 8)] [Dense(10, Name = \"a b\")] [Dense(5, Name = \"a b\")]", "NDSL0102", "")] // invalid name: rename by hand
    public void RepairsTravelAsDiagnosticProperties(string attributes, string id, string properties)
    {
        var d = Assert.Single(CompilerHarness.Analyze(CompilerHarness.Compile("using NetDsl;\n" + attributes + " public partial class Net { }")), x => x.Id == id);
        Assert.Equal(properties, string.Join(" ", d.Properties.OrderBy(p => p.Key).Select(p => p.Key + "=" + p.Value)));
    }
}
