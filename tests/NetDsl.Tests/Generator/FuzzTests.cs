using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using CsCheck;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Analyzers;
using NetDsl.Tests.Infrastructure;
using Xunit;
using Xunit.Abstractions;

namespace NetDsl.Tests.Generator;

/// <summary>
/// Property test (CsCheck): random [Network] attribute stacks, with invalid values, type errors and source cut off
/// mid-attribute (as while typing), through the real generator driver (run incrementally from case to case, like the
/// IDE), the real analyzer and the compiler. Every case must: not throw, raise no AD0001 (analyzer crash) or CS8785
/// (generator crash), keep the generator silent on a network with an NDSL error, and otherwise compile (user code plus
/// generated code) without any error; a well-typed stack must not raise a C# error of its own, so it is either valid
/// and compiles, or has an NDSL error. NETDSL_FUZZ_ITERATIONS changes the count (default 10,000), NETDSL_FUZZ_SEED
/// replays the seed CsCheck prints on a failure.
/// </summary>
public class FuzzTests
{
    private readonly ITestOutputHelper _output;
    public FuzzTests(ITestOutputHelper output) => _output = output;

    public enum Mode { WellTyped, TypeError, CutToEnd, CutAttribute }

    public sealed record Case(Mode Mode, string Source)
    {
        public override string ToString() => $"{Mode}: {Source}";
    }

    // ---- values -------------------------------------------------------------------------------------------------

    private static string I(int v) => v.ToString(CultureInfo.InvariantCulture);

    /// <summary>Mostly small valid sizes; sometimes zero, negative, or huge.</summary>
    private static readonly Gen<string> Size = Gen.Frequency(
        (12, Gen.Int[1, 5]),
        (3, Gen.Int[0, 12]),
        (1, Gen.Int[-3, -1]),
        (1, Gen.OneOf(Gen.Const(100), Gen.Const(1000), Gen.Const(1_000_000), Gen.Const(1_000_001), Gen.Const(int.MaxValue), Gen.Const(int.MinValue))))
        .Select(I);

    private static readonly Gen<string> Pad = Gen.Frequency((8, Gen.Int[0, 2]), (1, Gen.Int[-2, 6]), (1, Gen.Const(1_000_000))).Select(I);

    private static readonly Gen<string> Real = Gen.OneOf(
        Gen.Const("0.0"), Gen.Const("0.5"), Gen.Const("0.01"), Gen.Const("0.99"), Gen.Const("1.0"), Gen.Const("1"), Gen.Const("-0.1"),
        Gen.Const("1.5"), Gen.Const("1e-40"), Gen.Const("2e6"), Gen.Const("0.25f"), Gen.Const("double.NaN"), Gen.Const("double.PositiveInfinity"));

    private static readonly Gen<string> Bool = Gen.OneOf(Gen.Const("true"), Gen.Const("false"));
    private static readonly Gen<string> InitValue = Gen.OneOf(Gen.Const("Init.He"), Gen.Const("Init.Auto"), Gen.Const("Init.LeCun"), Gen.Const("(Init)7"), Gen.Const("(Init)(-1)"));
    private static readonly Gen<string> NameValue = Gen.OneOf(new[] { "\"a\"", "\"b\"", "\"stem\"", "\"conv1\"", "\"dense2\"", "\"relu1\"", "\"pool1\"", "\"input\"", "\"\"", "\"a b\"", "null" }.Select(Gen.Const).ToArray());

    private static Gen<string> Named(string name, Gen<string> value) => value.Select(v => $"{name} = {v}");

    // ---- layers -------------------------------------------------------------------------------------------------

    /// <summary>A layer attribute: constructor arguments, then up to three distinct named arguments.</summary>
    private static Gen<string> Layer(string attribute, Gen<string> ctor, params Gen<string>[] named)
    {
        var common = named.Concat(new[] { Named("Name", NameValue), Named("Frozen", Bool), Named("From", NameValue) }).ToArray();
        return Gen.Select(ctor, Gen.OneOf(common).List[0, 3], (c, extra) =>
        {
            var args = new List<string>();
            if (c.Length > 0) args.Add(c);
            var seen = new HashSet<string>();
            foreach (var e in extra) if (seen.Add(e.Substring(0, e.IndexOf(' ')))) args.Add(e);
            return args.Count == 0 ? attribute : $"{attribute}({string.Join(", ", args)})";
        });
    }

    private static readonly Gen<string> None = Gen.Const("");

    private static Gen<string> Pool(string attribute, params Gen<string>[] extra) => Layer(attribute,
        Gen.Frequency((4, Size), (1, Gen.Select(Size, Size, (h, w) => $"{h}, {w}"))),
        new[] { Named("Stride", Size), Named("StrideHeight", Size), Named("StrideWidth", Size), Named("Padding", Pad), Named("CeilMode", Bool) }.Concat(extra).ToArray());

    /// <summary>Add/Concat inputs as written: nothing (then From), or a list of names.</summary>
    private static readonly Gen<string> InputList = Gen.Frequency((2, Gen.Const("")), (3, NameValue.Array[1, 4].Select(names => string.Join(", ", names))));

    /// <summary>Every layer attribute the fuzzer writes, with its weight. <c>FamilyRegistryTests</c> checks that every layer kind is here.</summary>
    internal static readonly (int Weight, string Attribute, Gen<string> Gen)[] Layers =
    {
        (6, "Conv2D", Layer("Conv2D",
            Gen.Frequency((4, Gen.Select(Size, Size, (f, k) => $"{f}, {k}")), (1, Gen.Select(Size, Size, Size, (f, h, w) => $"{f}, {h}, {w}"))),
            Named("Stride", Size), Named("StrideHeight", Size), Named("StrideWidth", Size), Named("Padding", Pad), Named("PadTop", Pad),
            Named("PadBottom", Pad), Named("PadLeft", Pad), Named("PadRight", Pad), Named("Dilation", Size), Named("Groups", Size),
            Named("Bias", Bool), Named("Init", InitValue))),
        (2, "ConvTranspose2D", Layer("ConvTranspose2D", Gen.Select(Size, Size, (f, k) => $"{f}, {k}"),
            Named("Stride", Size), Named("Padding", Pad), Named("OutputPadding", Pad), Named("Dilation", Size), Named("Bias", Bool))),
        (3, "MaxPool2D", Pool("MaxPool2D")),
        (2, "AvgPool2D", Pool("AvgPool2D", Named("CountIncludePad", Bool))),
        (1, "MinPool2D", Pool("MinPool2D")),
        (1, "L2Pool2D", Layer("L2Pool2D", Gen.Frequency((4, Size), (1, Gen.Select(Size, Size, (h, w) => $"{h}, {w}"))),
            Named("Stride", Size), Named("StrideHeight", Size), Named("StrideWidth", Size), Named("CeilMode", Bool))),
        (1, "SumPool2D", Pool("SumPool2D")),
        (1, "GlobalAvgPool2D", Layer("GlobalAvgPool2D", None)),
        (4, "Dense", Layer("Dense", Size, Named("Bias", Bool), Named("Init", InitValue), Named("DropConnect", Real))),
        (1, "Flatten", Layer("Flatten", None)),
        (2, "BatchNorm", Layer("BatchNorm", None, Named("Momentum", Real), Named("Epsilon", Real))),
        (1, "LocalResponseNorm", Layer("LocalResponseNorm", Size, Named("Alpha", Real), Named("Beta", Real), Named("K", Real), Named("WithinChannel", Bool))),
        (4, "ReLU", Layer("ReLU", None)),
        (1, "LeakyReLU", Layer("LeakyReLU", Gen.Frequency((1, None), (2, Real)))),
        (1, "PReLU", Layer("PReLU", None, Named("PerChannel", Bool), Named("InitialSlope", Real))),
        (1, "ELU", Layer("ELU", Gen.Frequency((1, None), (2, Real)))),
        (2, "Tanh", Layer("Tanh", None)),
        (2, "Sigmoid", Layer("Sigmoid", None)),
        (1, "Softmax", Layer("Softmax", None)),
        (1, "Maxout", Layer("Maxout", Gen.Select(Size, Size, (u, p) => $"{u}, {p}"), Named("Init", InitValue))),
        (1, "ChannelMaxout", Layer("ChannelMaxout", Size)),
        (2, "Dropout", Layer("Dropout", Real)),
        (2, "Add", Layer("Add", InputList)),
        (2, "Concat", Layer("Concat", InputList)),
    };

    private static readonly Gen<string> LayerGen = Gen.Frequency(Layers.Select(l => ((int Frequency, IGen<string> Gen))(l.Weight, l.Gen)).ToArray());

    /// <summary>Things a user types that C# itself rejects: wrong types, unknown or duplicate named arguments, missing arguments.</summary>
    private static readonly Gen<string> TypeErrorLayer = Gen.OneOf(
        Gen.Const("Dense(\"ten\")"), Gen.Const("Conv2D(6)"), Gen.Const("Conv2D(6, 5, Strde = 2)"), Gen.Const("Conv2D(6, 5, Stride = 1, Stride = 2)"),
        Gen.Const("Dropout(p: \"x\")"), Gen.Const("MaxPool2D(2.5)"), Gen.Const("Dense(3000000000)"), Gen.Const("Dense(10, Name = 5)"),
        Gen.Const("Add(From = nameof(Missing))"), Gen.Const("Conv2D(6, 5, Padding = int.MaxValue + 1)"), Gen.Const("Unknown"), Gen.Const("Dense(x)"));

    private static readonly Gen<string> NetworkAttribute = Gen.Frequency(
        (12, Gen.Select(Gen.Int[1, 4], Gen.Int[1, 32], Gen.Int[1, 32], (c, h, w) => $"Network({c}, {h}, {w})")),
        (2, Gen.Select(Size, Size, Size, (c, h, w) => $"Network({c}, {h}, {w})")),
        (1, Gen.Select(Gen.Int[1, 4], Gen.Int[1, 32], InitValue, (c, h, i) => $"Network({c}, {h}, {h}, Init = {i})")));

    private static readonly Gen<string> ClassDeclaration = Gen.Frequency(
        (40, Gen.Const("public partial class Net;")),
        (10, Gen.Const("internal sealed partial class Net { }")),
        (1, Gen.Const("public class Net { }")),
        (1, Gen.Const("public partial class Net<T> { }")),
        (1, Gen.Const("public static partial class Net { }")),
        (1, Gen.Const("public partial class Outer { public partial class Net { } }")));

    private static Gen<string> Stack(Gen<string> layer) => Gen.Select(NetworkAttribute, layer.List[0, 8], ClassDeclaration, Gen.Bool,
        (network, layers, declaration, oneLine) =>
        {
            string attributes = "[" + network + "]" + (oneLine ? " " : "\n") + string.Join(oneLine ? " " : "\n", layers.Select(l => "[" + l + "]"));
            if (declaration.Contains("Outer"))
                return "using NetDsl;\nnamespace Fuzz;\npublic partial class Outer\n{\n" + attributes + "\npublic partial class Net { }\n}\n";
            return "using NetDsl;\nnamespace Fuzz;\n" + attributes + "\n" + declaration + "\n";
        });

    private static readonly string[] TypeErrorMarkers = { "\"ten\"", "Conv2D(6)", "Strde", "Stride = 1, Stride = 2", "p: \"x\"", "2.5", "3000000000", "Name = 5", "nameof(Missing)", "int.MaxValue + 1", "[Unknown]", "Dense(x)" };

    /// <summary>A well-typed stack, one with a type error spliced in, or one cut off mid-attribute.</summary>
    private static readonly Gen<Case> CaseGen = Gen.Frequency(
        (14, Stack(LayerGen).Select(s => new Case(Mode.WellTyped, s))),
        (2, Stack(Gen.Frequency((6, LayerGen), (1, TypeErrorLayer))).Where(s => TypeErrorMarkers.Any(s.Contains)).Select(s => new Case(Mode.TypeError, s))),
        (2, Gen.Select(Stack(LayerGen), Gen.Int[0, 1 << 20], (s, r) => CutToEnd(s, r))),
        (2, Gen.Select(Stack(LayerGen), Gen.Int[0, 1 << 20], (s, r) => CutAttribute(s, r))));

    /// <summary>Everything after a random point inside the attributes is missing (typing at the end of a file).</summary>
    private static Case CutToEnd(string source, int r)
    {
        int start = source.IndexOf("[Network", StringComparison.Ordinal);
        int at = start + 1 + r % (source.Length - start - 1);
        return new Case(Mode.CutToEnd, source.Substring(0, at));
    }

    /// <summary>A random attribute loses its tail from a random point up to its closing bracket (typing inside an attribute).</summary>
    private static Case CutAttribute(string source, int r)
    {
        int start = source.IndexOf("[Network", StringComparison.Ordinal);
        int end = source.LastIndexOf(']') + 1;
        int at = start + 1 + r % Math.Max(1, end - start - 1);
        int close = source.IndexOf(']', at);
        if (close < 0) close = at;
        return new Case(Mode.CutAttribute, source.Substring(0, at) + source.Substring(close));
    }

    // ---- the check ----------------------------------------------------------------------------------------------

    /// <summary>Counts of outcomes and time per phase, shared by the checking threads.</summary>
    private sealed class Stats
    {
        public readonly ConcurrentDictionary<string, int> Outcomes = new();
        public readonly ConcurrentDictionary<string, double> Seconds = new();
        public void Count(string outcome) => Outcomes.AddOrUpdate(outcome, 1, (_, n) => n + 1);
        public long Time(string phase, long start)
        {
            double s = Stopwatch.GetElapsedTime(start).TotalSeconds;
            Seconds.AddOrUpdate(phase, s, (_, v) => v + s);
            return Stopwatch.GetTimestamp();
        }
    }

    /// <summary>
    /// One per thread: a base compilation whose one syntax tree each case replaces (references and options are reused),
    /// and a generator driver that is run incrementally from case to case, as in an IDE.
    /// </summary>
    private sealed class Checker
    {
        private const string Path = "Fuzz.cs";
        private static readonly CSharpCompilation s_base = CompilerHarness.Compile("using NetDsl; namespace Fuzz; [Network(1, 4, 4)] [Dense(2)] public partial class Net;");
        private static readonly SyntaxTree s_baseTree = s_base.SyntaxTrees.Single();
        private readonly ImmutableArray<DiagnosticAnalyzer> _analyzers = ImmutableArray.Create<DiagnosticAnalyzer>(new NetworkShapeAnalyzer());
        private readonly Stats _stats;
        private GeneratorDriver _driver = CompilerHarness.Driver(track: false);

        public Checker(Stats stats) => _stats = stats;

        public void Check(Case c)
        {
            long t = Stopwatch.GetTimestamp();
            var tree = CSharpSyntaxTree.ParseText(c.Source, CompilerHarness.ParseOptions, path: Path);
            var compilation = s_base.ReplaceSyntaxTree(s_baseTree, tree);

            // The generator: never throws (CS8785), never reports errors of its own.
            _driver = _driver.RunGeneratorsAndUpdateCompilation(compilation, out var output, out var generatorDiagnostics);
            var run = _driver.GetRunResult();
            Assert.All(run.Results, r => Assert.Null(r.Exception));
            Assert.DoesNotContain(generatorDiagnostics, d => d.Id == "CS8785" || d.Severity == DiagnosticSeverity.Error);
            var generated = run.GeneratedTrees;
            t = _stats.Time("generator (incremental)", t);

            // The analyzer, on the user's code (what it reads: the attributes), with crashes caught rather than turned into AD0001.
            Exception? crash = null;
            var options = new CompilationWithAnalyzersOptions(new AnalyzerOptions(ImmutableArray<AdditionalText>.Empty),
                onAnalyzerException: (e, _, _) => crash ??= e, concurrentAnalysis: false, logAnalyzerExecutionTime: false);
            var analyzerDiagnostics = compilation.WithAnalyzers(_analyzers, options).GetAnalyzerDiagnosticsAsync().GetAwaiter().GetResult();
            Assert.Null(crash);
            Assert.DoesNotContain(analyzerDiagnostics, d => d.Id is "AD0001" or "CS8785");
            t = _stats.Time("analyzer", t);

            // The compiler, on the user's code plus whatever was generated: every method body bound.
            var compilerErrors = output.GetDiagnostics().Where(d => d.Severity == DiagnosticSeverity.Error).ToList();
            t = _stats.Time(generated.Length > 0 ? "compile, with generated code" : "compile, nothing generated", t);

            var ndslErrors = analyzerDiagnostics.Where(d => d.Severity == DiagnosticSeverity.Error && d.Id.StartsWith("NDSL", StringComparison.Ordinal)).ToList();
            // Generated code never holds an error, whatever the user's code looks like.
            Assert.DoesNotContain(compilerErrors, d => d.Location.SourceTree is { } s && s.FilePath != Path);
            if (ndslErrors.Count > 0)
            {
                Assert.Empty(generated); // silent on a network the analyzers reject
                _stats.Count(c.Mode + ": NDSL error");
            }
            else if (compilerErrors.Count > 0)
            {
                Assert.True(c.Mode != Mode.WellTyped, "a well-typed stack raised C# errors: " + string.Join("; ", compilerErrors.Take(3)));
                _stats.Count(c.Mode + ": C# error");
            }
            else
            {
                Assert.True(c.Mode != Mode.TypeError, "a stack with a type error compiled");
                Assert.Single(generated); // valid: generated, and user code plus generated code compile without an error
                _stats.Count(c.Mode + ": compiles");
            }
        }
    }

    [Fact]
    public void RandomAttributeStacksNeverCrashAndEitherCompileOrAreDiagnosed()
    {
        int iterations = int.TryParse(Environment.GetEnvironmentVariable("NETDSL_FUZZ_ITERATIONS"), out int n) ? n : 10_000;
        int threads = Math.Clamp(Environment.ProcessorCount, 1, 4);
        var stats = new Stats();
        using var checkers = new ThreadLocal<Checker>(() =>
        {
            var checker = new Checker(stats);
            checker.Check(new Case(Mode.WellTyped, GeneratorTests.LeNet5Source)); // warm this thread's compiler up
            return checker;
        });
        _ = checkers.Value;
        stats.Outcomes.Clear();
        stats.Seconds.Clear();

        var clock = Stopwatch.StartNew();
        int cases = 0;
        CaseGen.Sample(c => { checkers.Value!.Check(c); Interlocked.Increment(ref cases); }, iter: iterations, threads: threads,
            seed: Environment.GetEnvironmentVariable("NETDSL_FUZZ_SEED"), print: c => c.ToString());
        clock.Stop();

        _output.WriteLine($"{cases:N0} random attribute stacks in {clock.Elapsed.TotalSeconds:F1} s on {threads} thread(s): " +
                          "no crash; each compiled with its generated code, or had an NDSL error and nothing generated, or (typos, cut-offs) a C# error");
        foreach (var (outcome, count) in stats.Outcomes.OrderBy(o => o.Key)) _output.WriteLine($"  {outcome,-28} {count,6:N0}");
        _output.WriteLine("time per phase, summed over threads:");
        foreach (var (phase, seconds) in stats.Seconds.OrderBy(o => o.Key)) _output.WriteLine($"  {phase,-32} {seconds,6:F1} s");
        Assert.Equal(iterations, cases);
    }
}
