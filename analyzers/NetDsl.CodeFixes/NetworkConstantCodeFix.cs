using System.Collections.Generic;
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
public sealed class NetworkConstantCodeFix : NetDslCodeFix
{
    /// <summary>The compiler's "member cannot be accessed with an instance reference".</summary>
    public const string DiagnosticId = "CS0176";

    public NetworkConstantCodeFix() : base(DiagnosticId) { }

    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    protected override bool NeedsSemanticModel => true;

    protected override IEnumerable<NetDslFix> FixesFor(Document document, SyntaxNode root, SemanticModel? model, Diagnostic diagnostic)
    {
        var access = root.FindNode(diagnostic.Location.SourceSpan, getInnermostNodeForTie: true).AncestorsAndSelf()
            .OfType<MemberAccessExpressionSyntax>().FirstOrDefault();
        if (access is null || model is null) yield break;
        var info = model.GetSymbolInfo(access);
        var field = (info.Symbol ?? info.CandidateSymbols.FirstOrDefault()) as IFieldSymbol;
        if (field is not { IsConst: true } || !IsNetwork(field.ContainingType)) yield break;
        string typeName = field.ContainingType.ToMinimalDisplayString(model, access.SpanStart);
        yield return new NetDslFix($"Use '{typeName}.{field.Name}' (a constant of the network class)", "constant", _ =>
        {
            var replacement = access.WithExpression(SyntaxFactory.ParseTypeName(typeName).WithTriviaFrom(access.Expression));
            return Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(access, replacement)));
        });
    }

    private static bool IsNetwork(INamedTypeSymbol type) =>
        type.GetAttributes().Any(a => a.AttributeClass is { Name: "NetworkAttribute", ContainingNamespace: { Name: "NetDsl", ContainingNamespace.IsGlobalNamespace: true } });
}
