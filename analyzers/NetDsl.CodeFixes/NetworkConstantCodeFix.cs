using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

namespace NetDsl.CodeFixes;

/// <summary>CS0176 on a network's compile-time constant read through an instance (<c>net.ParameterCount</c>): the constants
/// (InputSize, OutputSize, ParameterCount, Summary, per-layer sizes) belong to the class, so the fix reads them from it
/// (<c>LeNet5.ParameterCount</c>); the value is the same for every instance.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(NetworkConstantCodeFix)), Shared]
public sealed class NetworkConstantCodeFix : CodeFixProvider
{
    /// <summary>The compiler's "member cannot be accessed with an instance reference".</summary>
    public const string DiagnosticId = "CS0176";

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticId);

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        var model = await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null || model is null) return;
        foreach (var diagnostic in context.Diagnostics)
        {
            var access = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).AncestorsAndSelf()
                .OfType<MemberAccessExpressionSyntax>().FirstOrDefault();
            if (access is null) continue;
            var info = model.GetSymbolInfo(access, context.CancellationToken);
            var field = (info.Symbol ?? info.CandidateSymbols.FirstOrDefault()) as IFieldSymbol;
            if (field is not { IsConst: true } || !IsNetwork(field.ContainingType)) continue;
            string typeName = field.ContainingType.ToMinimalDisplayString(model, access.SpanStart);
            context.RegisterCodeFix(
                CodeAction.Create($"Use '{typeName}.{field.Name}' (a constant of the network class)",
                    ct =>
                    {
                        var replacement = access.WithExpression(SyntaxFactory.ParseTypeName(typeName).WithTriviaFrom(access.Expression));
                        return Task.FromResult(context.Document.WithSyntaxRoot(root.ReplaceNode(access, replacement)));
                    },
                    equivalenceKey: nameof(NetworkConstantCodeFix)),
                diagnostic);
        }
    }

    private static bool IsNetwork(INamedTypeSymbol type) =>
        type.GetAttributes().Any(a => a.AttributeClass is { Name: "NetworkAttribute", ContainingNamespace: { Name: "NetDsl", ContainingNamespace.IsGlobalNamespace: true } });
}
