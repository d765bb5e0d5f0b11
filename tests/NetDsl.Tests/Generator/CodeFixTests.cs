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
        const string header = "using NetDsl;\nnamespace User;\n";
        string fixedSource = await ApplyFix(header + before, new MakePartialCodeFix());
        Assert.Equal(header + after, fixedSource);
        // The fixed network now generates and compiles cleanly.
        var (run, output, _) = CompilerHarness.Generate(fixedSource);
        Assert.Single(run.GeneratedTrees);
        Assert.DoesNotContain(output.GetDiagnostics(), d => d.Severity == DiagnosticSeverity.Error);
        Assert.DoesNotContain(CompilerHarness.Analyze(output), d => d.Id == "NDSL0001");
    }

    private static async Task<string> ApplyFix(string source, CodeFixProvider fix)
    {
        var diagnostics = CompilerHarness.Analyze(CompilerHarness.Compile(source)).Where(d => fix.FixableDiagnosticIds.Contains(d.Id)).ToList();
        var diagnostic = Assert.Single(diagnostics);

        using var workspace = new AdhocWorkspace();
        var project = workspace.AddProject("User", LanguageNames.CSharp);
        var document = workspace.AddDocument(project.Id, "File0.cs", SourceText.From(source));
        var actions = new List<CodeAction>();
        var context = new CodeFixContext(document, diagnostic, (a, _) => actions.Add(a), CancellationToken.None);
        await fix.RegisterCodeFixesAsync(context);
        var action = Assert.Single(actions);
        var operations = await action.GetOperationsAsync(CancellationToken.None);
        var changed = operations.OfType<ApplyChangesOperation>().Single().ChangedSolution.GetDocument(document.Id)!;
        return (await changed.GetTextAsync()).ToString();
    }
}
