using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Model;

namespace NetDsl.CodeFixes;

/// <summary>
/// Shared by the code fixes: finds the layer attribute a diagnostic sits on, and applies the typed repairs the shared shape
/// inference computed (argument edits, an empty expression removing that argument; an attribute inserted before; a
/// replacement). The fixes never recompute shapes themselves, so they can never disagree with the diagnostics.
/// </summary>
internal static class AttributeEdits
{
    public static AttributeSyntax? FindAttribute(SyntaxNode root, TextSpan span) =>
        root.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf().OfType<AttributeSyntax>().FirstOrDefault();

    /// <summary>Applies <paramref name="repair"/> to <paramref name="attribute"/>: its argument edits, the attribute that replaces it,
    /// and the attribute inserted before it (in its own brackets when the attribute stands alone in its list).</summary>
    public static async Task<Document> ApplyAsync(Document document, AttributeSyntax attribute, Repair repair, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        if (root is null) return document;
        var replacement = repair.ReplaceWith is { } replaceWith
            ? ParseAttribute(replaceWith).WithTriviaFrom(attribute)
            : Apply(attribute, repair.Edits);
        if (repair.InsertBefore is null) return document.WithSyntaxRoot(root.ReplaceNode(attribute, replacement));
        // As text, so the user's spacing stays: "[Add(...)]" becomes "[Conv2D(...)] [Add(...)]" (or "[X, Conv2D(...), Add(...)]").
        var text = await document.GetTextAsync(ct).ConfigureAwait(false);
        bool alone = attribute.Parent is AttributeListSyntax { Attributes.Count: 1 };
        int at = alone ? attribute.Parent!.SpanStart : attribute.SpanStart;
        var changes = new[]
        {
            new TextChange(new TextSpan(at, 0), alone ? $"[{repair.InsertBefore}] " : repair.InsertBefore + ", "),
            new TextChange(attribute.Span, replacement.ToString()),
        };
        return document.WithText(text.WithChanges(changes));
    }

    /// <summary>Parses one attribute's source text ("Conv2D(8, 1, Stride = 2)") through a throwaway class declaration.</summary>
    private static AttributeSyntax ParseAttribute(string text) =>
        ((ClassDeclarationSyntax)SyntaxFactory.ParseMemberDeclaration($"[{text}] class C {{ }}")!).AttributeLists[0].Attributes[0];

    public static AttributeSyntax Apply(AttributeSyntax attribute, EquatableArray<ArgumentEdit> edits) =>
        Apply(attribute, edits.Select(e => (e.Name, e.Expression)).ToList());

    /// <summary>Sets each named argument (replacing its value, or appending it) and removes those with no expression.</summary>
    public static AttributeSyntax Apply(AttributeSyntax attribute, List<(string Name, string? Expression)> assignments)
    {
        var arguments = attribute.ArgumentList?.Arguments ?? default;
        var nodes = arguments.ToList();
        foreach (var (name, expression) in assignments)
        {
            int index = nodes.FindIndex(a => a.NameEquals?.Name.Identifier.ValueText == name);
            if (expression is null)
            {
                if (index >= 0) nodes.RemoveAt(index);
                continue;
            }
            var value = SyntaxFactory.ParseExpression(expression);
            if (index >= 0)
                nodes[index] = nodes[index].WithExpression(value.WithTriviaFrom(nodes[index].Expression));
            else
                nodes.Add(SyntaxFactory.AttributeArgument(
                    SyntaxFactory.NameEquals(SyntaxFactory.IdentifierName(name).WithTrailingTrivia(SyntaxFactory.Space),
                        SyntaxFactory.Token(SyntaxKind.EqualsToken).WithTrailingTrivia(SyntaxFactory.Space)),
                    null, value));
        }

        // Keep the user's separators where the list kept its length; new ones are ", ".
        var separators = new List<SyntaxToken>();
        for (int i = 0; i < nodes.Count - 1; i++)
            separators.Add(i < arguments.SeparatorCount && nodes.Count >= arguments.Count
                ? arguments.GetSeparator(i)
                : SyntaxFactory.Token(SyntaxKind.CommaToken).WithTrailingTrivia(SyntaxFactory.Space));
        var list = SyntaxFactory.SeparatedList(nodes, separators);
        if (list.Count == 0) return attribute.WithArgumentList(null);
        return attribute.WithArgumentList(attribute.ArgumentList is null
            ? SyntaxFactory.AttributeArgumentList(list)
            : attribute.ArgumentList.WithArguments(list));
    }
}
