using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.Text;
using NetDsl.CodeFixes;
using NetDsl.Tests.Infrastructure;
using Xunit;

namespace NetDsl.Tests.Generator;

public class CodeFixTests
{
    [Theory]
    [InlineData("[Network(1, 28, 28)] [Dense(10)]\npublic class Net { }", "[Network(1, 28, 28)] [Dense(10)]\npublic partial class Net { }")]
    [InlineData("[Network(1, 28, 28)] [Dense(10)]\nclass Net { }", "[Network(1, 28, 28)] [Dense(10)]\npartial class Net { }")]
    [InlineData("[Network(1, 28, 28)] [Dense(10)]\ninternal sealed class Net;", "[Network(1, 28, 28)] [Dense(10)]\ninternal sealed partial class Net;")]
    public async Task MakePartialFixesNdsl0001(string before, string after)
    {
        string fixedSource = await ApplyFix(Header + before, new MakePartialCodeFix());
        Assert.Equal(Header + after, fixedSource);
        // The fixed network now generates and compiles cleanly.
        var (run, output, _) = CompilerHarness.Generate(fixedSource);
        Assert.Single(run.GeneratedTrees);
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
        Assert.DoesNotContain(CompilerHarness.Analyze(output), d => d.Id == "NDSL0001");
    }

    private const string Header = "using NetDsl;\nnamespace User;\n";

    // ---- "same" padding (NDSL0201, NDSL0202) -----------------------------------------------------------------------

    [Theory]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 5)]", "NDSL0201", "[Network(1, 4, 4)] [Conv2D(6, 5, Padding = 2)]")]
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Dilation = 4)]", "NDSL0201", "[Network(1, 8, 8)] [Conv2D(4, 3, Dilation = 4, Padding = 4)]")]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 3, 5)]", "NDSL0201", "[Network(1, 4, 4)] [Conv2D(6, 3, 5, PadTop = 1, PadBottom = 1, PadLeft = 2, PadRight = 2)]")]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 5, PadLeft = 1, Stride = 1)]", "NDSL0201", "[Network(1, 4, 4)] [Conv2D(6, 5, Stride = 1, Padding = 2)]")]
    [InlineData("[Network(1, 4, 4)] [Conv2D(6, 5, Padding = 0)]", "NDSL0201", "[Network(1, 4, 4)] [Conv2D(6, 5, Padding = 2)]")]
    [InlineData("[Network(1, 28, 27)] [Conv2D(6, 3, Stride = 2)]", "NDSL0202", "[Network(1, 28, 27)] [Conv2D(6, 3, Stride = 2, Padding = 1)]")]
    public async Task SamePaddingFixesOddKernels(string before, string id, string after)
    {
        string fixedSource = await ApplyFix(Header + before + " public partial class Net;", new SamePaddingCodeFix(), id, "Pad to keep the size");
        Assert.Equal(Header + after + " public partial class Net;", fixedSource);
        AssertClean(fixedSource, id);
    }

    [Fact]
    public async Task SamePaddingIsNotOfferedForEvenKernels()
    {
        var source = Header + "[Network(1, 4, 4)] [Conv2D(6, 6)] public partial class Net;";
        Assert.Empty(await Actions(source, new SamePaddingCodeFix(), "NDSL0201"));
    }

    // ---- nearest stride or padding with an integral output (NDSL0202) ----------------------------------------------

    [Theory]
    [InlineData("[Network(1, 28, 27)] [Conv2D(6, 3, Stride = 2)]", "Set Stride = 1", "[Network(1, 28, 27)] [Conv2D(6, 3, Stride = 1)]")]
    [InlineData("[Network(1, 9, 8)] [Conv2D(4, 2, Stride = 2)]", "Set Stride = 1", "[Network(1, 9, 8)] [Conv2D(4, 2, Stride = 1)]")]
    [InlineData("[Network(1, 9, 8)] [Conv2D(4, 2, Stride = 2)]", "Set Padding = 1", "[Network(1, 9, 8)] [Conv2D(4, 2, Stride = 2, Padding = 1)]")]
    [InlineData("[Network(1, 12, 16)] [Conv2D(4, 4, Stride = 3)]", "Set Stride = 2", "[Network(1, 12, 16)] [Conv2D(4, 4, Stride = 2)]")]
    [InlineData("[Network(1, 12, 16)] [Conv2D(4, 4, Stride = 3)]", "Set Padding = 2", "[Network(1, 12, 16)] [Conv2D(4, 4, Stride = 3, Padding = 2)]")]
    [InlineData("[Network(1, 8, 10)] [Conv2D(2, 3, StrideWidth = 2)]", "Set StrideWidth = 1", "[Network(1, 8, 10)] [Conv2D(2, 3, StrideWidth = 1)]")]
    [InlineData("[Network(1, 7, 8)] [MaxPool2D(2)]", "Set Stride = 1", "[Network(1, 7, 8)] [MaxPool2D(2, Stride = 1)]")]
    [InlineData("[Network(1, 7, 8)] [MaxPool2D(2)]", "Set Padding = 1", "[Network(1, 7, 8)] [MaxPool2D(2, Padding = 1)]")]
    [InlineData("[Network(1, 7, 8)] [AvgPool2D(2, Padding = 0, Name = \"p\")]", "Set Padding = 1", "[Network(1, 7, 8)] [AvgPool2D(2, Padding = 1, Name = \"p\")]")]
    public async Task IntegralOutputFixSetsTheNearestStrideOrPadding(string before, string title, string after)
    {
        string fixedSource = await ApplyFix(Header + before + " public partial class Net;", new IntegralOutputCodeFix(), "NDSL0202", title);
        Assert.Equal(Header + after + " public partial class Net;", fixedSource);
        AssertClean(fixedSource, "NDSL0202");
    }

    // ---- rename a duplicate (NDSL0102) ------------------------------------------------------------------------------

    [Theory]
    [InlineData("[Dense(10, Name = \"head\")] [Dense(5, Name = \"head\")]", "[Dense(10, Name = \"head\")] [Dense(5, Name = \"head2\")]")]
    [InlineData("[Dense(10, Name = \"head\")] [ReLU(Name = \"head2\")] [Dense(5, Name = \"head\")]", "[Dense(10, Name = \"head\")] [ReLU(Name = \"head2\")] [Dense(5, Name = \"head3\")]")]
    [InlineData("[Dense(10, Name = \"dense2\")] [Dense(5)]", "[Dense(10, Name = \"dense2\")] [Dense(5, Name = \"dense3\")]")]
    [InlineData("[Dense(10, Name = \"conv1\")] [Dense(5, Name = \"conv1\")]", "[Dense(10, Name = \"conv1\")] [Dense(5, Name = \"conv2\")]")]
    [InlineData("[Dense(10, Name = \"x\")] [ReLU(Name = \"x\")]", "[Dense(10, Name = \"x\")] [ReLU(Name = \"x2\")]")]
    public async Task RenameDuplicatePicksAnUnusedName(string before, string after)
    {
        string fixedSource = await ApplyFix(Header + "[Network(1, 8, 8)] " + before + " public partial class Net;", new RenameDuplicateCodeFix(), "NDSL0102", "Rename");
        Assert.Equal(Header + "[Network(1, 8, 8)] " + after + " public partial class Net;", fixedSource);
        AssertClean(fixedSource, "NDSL0102");
    }

    // ---- remove a redundant activation (NDSL0302) --------------------------------------------------------------------

    [Theory]
    [InlineData("[Dense(10)] [ReLU] [ReLU]\n[Dense(2)]", "[Dense(10)] [ReLU]\n[Dense(2)]")]
    [InlineData("[Dense(10)]\n[Tanh]\n[Tanh]\n[Dense(2)]", "[Dense(10)]\n[Tanh]\n[Dense(2)]")]
    [InlineData("[Dense(10)] [ReLU]\n[ReLU] [Dense(2)]", "[Dense(10)] [ReLU]\n[Dense(2)]")]
    [InlineData("[Dense(10), ReLU, ReLU]\n[Dense(2)]", "[Dense(10), ReLU]\n[Dense(2)]")]
    [InlineData("[Dense(10)] [Tanh] [Sigmoid(Frozen = true)]", "[Dense(10)] [Tanh]")]
    public async Task RemoveRedundantActivation(string before, string after)
    {
        string fixedSource = await ApplyFix(Header + "[Network(1, 8, 8)]\n" + before + "\npublic partial class Net;", new RemoveRedundantActivationCodeFix(), "NDSL0302", "Remove the redundant");
        Assert.Equal(Header + "[Network(1, 8, 8)]\n" + after + "\npublic partial class Net;", fixedSource);
        AssertClean(fixedSource, "NDSL0302");
    }

    [Fact]
    public async Task RemoveRedundantActivationKeepsANamedLayer()
    {
        var source = Header + "[Network(1, 8, 8)] [Dense(10)] [ReLU] [ReLU(Name = \"r\")] [Add(From = \"r\")] public partial class Net;";
        Assert.Empty(await Actions(source, new RemoveRedundantActivationCodeFix(), "NDSL0302"));
    }

    // ---- projection shortcut (NDSL0104) ----------------------------------------------------------------------------

    [Theory]
    // A listed Add: the strided, wider input gets a strided 1×1 projection and the Add reads it.
    [InlineData("[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Conv2D(8, 3, Stride = 2, Padding = 1, Name = \"b\")] [Add(\"b\", \"a\")]",
        "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Conv2D(8, 3, Stride = 2, Padding = 1, Name = \"b\")] [Conv2D(8, 1, Stride = 2, Bias = false, From = \"a\", Name = \"a_proj\")] [Add(\"b\", \"a_proj\")]")]
    // Add(From = ...) becomes a list, since the previous layer would otherwise be the projection; its Name stays.
    [InlineData("[Network(3, 8, 8)] [Conv2D(4, 3, Padding = 1)] [ReLU(Name = \"r\")] [Add(From = \"input\", Name = \"sum\")]",
        "[Network(3, 8, 8)] [Conv2D(4, 3, Padding = 1)] [ReLU(Name = \"r\")] [Conv2D(4, 1, Bias = false, From = \"input\", Name = \"input_proj\")] [Add(\"r\", \"input_proj\", Name = \"sum\")]")]
    public async Task InsertProjectionFixesNdsl0104(string before, string after)
    {
        string fixedSource = await ApplyFix(Header + before + " public partial class Net;", new InsertProjectionCodeFix(), "NDSL0104", "Project the shortcut");
        Assert.Equal(Header + after + " public partial class Net;", fixedSource);
        AssertClean(fixedSource, "NDSL0104");
    }

    [Fact]
    public void NoProjectionWhenNoStrideFits()
    {
        // 8×8 cannot become 5×5 by a 1×1 convolution with any stride (8, 4, 3, 2, ...): no fix is offered.
        var source = Header + "[Network(1, 8, 8)] [Conv2D(4, 3, Padding = 1, Name = \"a\")] [Conv2D(4, 4, Name = \"b\")] [Add(\"b\", \"a\")] public partial class Net;";
        var d = Assert.Single(CompilerHarness.Analyze(CompilerHarness.Compile(source)), x => x.Id == "NDSL0104");
        Assert.Empty(d.Properties);
    }

    // ---- helpers --------------------------------------------------------------------------------------------------------

    /// <summary>The fixed source has no diagnostic <paramref name="id"/> and no error; it generates and compiles.</summary>
    private static void AssertClean(string source, string id)
    {
        var diagnostics = CompilerHarness.Analyze(CompilerHarness.Compile(source));
        Assert.DoesNotContain(diagnostics, d => d.Id == id);
        Assert.DoesNotContain(diagnostics, d => d.Severity == DiagnosticSeverity.Error);
        var (run, output, _) = CompilerHarness.Generate(source);
        Assert.Single(run.GeneratedTrees);
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
    }

    private static Task<string> ApplyFix(string source, CodeFixProvider fix) => ApplyFix(source, fix, Assert.Single(fix.FixableDiagnosticIds), "");

    /// <summary>Applies the one action whose title starts with <paramref name="title"/>, offered for the one <paramref name="id"/> diagnostic.</summary>
    private static async Task<string> ApplyFix(string source, CodeFixProvider fix, string id, string title)
    {
        var (document, actions) = await Offered(source, fix, id);
        var action = Assert.Single(actions, a => a.Title.StartsWith(title, System.StringComparison.Ordinal));
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        var changed = operations.OfType<ApplyChangesOperation>().Single().ChangedSolution.GetDocument(document.Id)!;
        return (await changed.GetTextAsync()).ToString();
    }

    private static async Task<List<CodeAction>> Actions(string source, CodeFixProvider fix, string id) => (await Offered(source, fix, id)).Actions;

    private static async Task<(Document Document, List<CodeAction> Actions)> Offered(string source, CodeFixProvider fix, string id)
    {
        var diagnostic = Assert.Single(CompilerHarness.Analyze(CompilerHarness.Compile(source)), d => d.Id == id);
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject("User", LanguageNames.CSharp);
        var document = workspace.AddDocument(project.Id, "File0.cs", SourceText.From(source));
        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None);
        await fix.RegisterCodeFixesAsync(context);
        return (document, actions);
    }
}

/// <summary>CS0176 (a network's constant read through an instance) is fixed by reading it from the class.</summary>
public class NetworkConstantCodeFixTests
{
    private const string Network = "using NetDsl;\nnamespace User;\n[Network(1, 8, 8)] [Conv2D(4, 3)] [ReLU] [Dense(3)]\npublic partial class Net;\n";

    [Theory]
    [InlineData("int P(Net net) => net.ParameterCount;", "int P(Net net) => Net.ParameterCount;")]
    [InlineData("int S(Net net) => 2 * net.InputSize + net.OutputSize;", "int S(Net net) => 2 * Net.InputSize + net.OutputSize;")]
    [InlineData("string T(Net n) => n.Summary;", "string T(Net n) => Net.Summary;")]
    public async Task ReadsTheConstantFromTheClass(string before, string after)
    {
        string user = Network + "public static class Use { public static " + before + " }\n";
        var (run, output, _) = CompilerHarness.Generate(user);
        var diagnostic = output.GetDiagnostics().First(d => d.Id == "CS0176");
        // The workspace holds the user's file and what the generator wrote, as the IDE does.
        var workspace = new AdhocWorkspace();
        var project = workspace.AddProject("User", LanguageNames.CSharp)
            .WithCompilationOptions(new CSharpCompilationOptions(OutputKind.DynamicallyLinkedLibrary))
            .WithParseOptions(CompilerHarness.ParseOptions)
            .WithMetadataReferences(output.References);
        var document = project.AddDocument("File0.cs", SourceText.From(user));
        foreach (var generated in run.GeneratedTrees) document = document.Project.AddDocument(System.IO.Path.GetFileName(generated.FilePath), generated.GetText()).Project.GetDocument(document.Id)!;
        var actions = new List<CodeAction>();
        var located = Diagnostic.Create(diagnostic.Descriptor, Location.Create((await document.GetSyntaxTreeAsync())!, diagnostic.Location.SourceSpan));
        await new NetworkConstantCodeFix().RegisterCodeFixesAsync(new CodeFixContext(document, located, (a, _) => actions.Add(a), CancellationToken.None));
        var action = Assert.Single(actions);
        Assert.StartsWith("Use 'Net.", action.Title, System.StringComparison.Ordinal);
        var changed = (await action.GetOperationsAsync(CancellationToken.None)).OfType<ApplyChangesOperation>().Single().ChangedSolution.GetDocument(document.Id)!;
        string fixedSource = (await changed.GetTextAsync()).ToString();
        Assert.Equal(Network + "public static class Use { public static " + after + " }\n", fixedSource);
    }

    [Fact]
    public void AStaticMemberOfAnOrdinaryClassIsLeftAlone()
    {
        // Only [Network] classes: CS0176 elsewhere is not this fix's business.
        const string user = "namespace User;\npublic class Plain { public const int Size = 3; }\npublic static class Use { public static int P(Plain p) => p.Size; }\n";
        var (_, output, _) = CompilerHarness.Generate(user);
        var diagnostic = output.GetDiagnostics().First(d => d.Id == "CS0176");
        var workspace = new AdhocWorkspace();
        var document = workspace.AddProject("User", LanguageNames.CSharp).WithMetadataReferences(output.References).AddDocument("File0.cs", SourceText.From(user));
        var actions = new List<CodeAction>();
        var located = Diagnostic.Create(diagnostic.Descriptor, Location.Create(document.GetSyntaxTreeAsync().Result!, diagnostic.Location.SourceSpan));
        new NetworkConstantCodeFix().RegisterCodeFixesAsync(new CodeFixContext(document, located, (a, _) => actions.Add(a), CancellationToken.None)).Wait();
        Assert.Empty(actions);
    }
}
