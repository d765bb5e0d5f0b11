using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

namespace NetDsl.CodeFixes;

/// <summary>
/// Shared by the code fixes: finds the layer attribute a diagnostic sits on, and applies the repairs the shared shape
/// inference computed ("Arg=expression;Arg=expression", an empty expression removing that argument). The fixes never
/// recompute shapes themselves, so they can never disagree with the diagnostics.
/// </summary>
internal static class AttributeEdits
{
    public static async Task<AttributeSyntax?> FindAttributeAsync(Document document, TextSpan span, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        return root?.FindNode(span, getInnermostNodeForTie: true).AncestorsAndSelf().OfType<AttributeSyntax>().FirstOrDefault();
    }

    /// <summary>Parses "A=1;B=;C=\"x\"" into (name, expression or null to remove) pairs, in order.</summary>
    public static List<(string Name, string? Expression)> Parse(string assignments)
    {
        var result = new List<(string, string?)>();
        foreach (var part in assignments.Split(';'))
        {
            int eq = part.IndexOf('=');
            if (eq <= 0) continue;
            string value = part.Substring(eq + 1);
            result.Add((part.Substring(0, eq), value.Length == 0 ? null : value));
        }
        return result;
    }

    /// <summary>"Padding = 2, PadTop removed" style text for a code action's title.</summary>
    public static string Describe(string assignments) =>
        string.Join(", ", Parse(assignments).Where(a => a.Expression is not null).Select(a => $"{a.Name} = {a.Expression}"));

    /// <summary>Sets each named argument (replacing its value, or appending it) and removes those with no expression.</summary>
    public static AttributeSyntax Apply(AttributeSyntax attribute, string assignments)
    {
        var arguments = attribute.ArgumentList?.Arguments ?? default;
        var nodes = arguments.ToList();
        foreach (var (name, expression) in Parse(assignments))
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

    public static async Task<Document> ReplaceAsync(Document document, AttributeSyntax attribute, AttributeSyntax replacement, CancellationToken ct)
    {
        var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
        return root is null ? document : document.WithSyntaxRoot(root.ReplaceNode(attribute, replacement));
    }
}
