using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;

using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>NDSL0001: adds <c>partial</c> to a [Network] class so the generator can complete it.</summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(MakePartialCodeFix)), Shared]
public sealed class MakePartialCodeFix : NetDslCodeFix
{
    public const string DiagnosticId = DiagnosticIds.NotPartial;

    public MakePartialCodeFix() : base(DiagnosticId) { }

    /// <summary>Adding <c>partial</c> never conflicts with another fix.</summary>
    public override FixAllProvider GetFixAllProvider() => WellKnownFixAllProviders.BatchFixer;

    protected override IEnumerable<NetDslFix> FixesFor(Document document, SyntaxNode root, SemanticModel? model, Diagnostic diagnostic)
    {
        var declaration = root.FindToken(diagnostic.Location.SourceSpan.Start).Parent?.AncestorsAndSelf().OfType<TypeDeclarationSyntax>().FirstOrDefault();
        if (declaration is null || declaration.Modifiers.Any(SyntaxKind.PartialKeyword)) yield break;
        yield return new NetDslFix($"Make '{declaration.Identifier.ValueText}' partial", "partial",
            _ => Task.FromResult(document.WithSyntaxRoot(root.ReplaceNode(declaration, AddPartial(declaration)))));
    }

    private static TypeDeclarationSyntax AddPartial(TypeDeclarationSyntax declaration)
    {
        // partial goes last among the modifiers, right before the 'class' keyword.
        var partial = SyntaxFactory.Token(SyntaxKind.PartialKeyword).WithTrailingTrivia(SyntaxFactory.Space);
        if (declaration.Modifiers.Count == 0)
        {
            partial = partial.WithLeadingTrivia(declaration.Keyword.LeadingTrivia);
            return declaration.WithKeyword(declaration.Keyword.WithLeadingTrivia()).WithModifiers(SyntaxFactory.TokenList(partial));
        }
        return declaration.WithModifiers(declaration.Modifiers.Add(partial));
    }
}
