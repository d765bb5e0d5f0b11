using System.Collections.Generic;
using System.Collections.Immutable;
using System.Composition;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Text;

using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0302 (an activation directly after an activation): removes the second activation attribute, with the blank
/// space around it. Not offered when that attribute carries a Name, which a skip connection may read.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RemoveRedundantActivationCodeFix)), Shared]
public sealed class RemoveRedundantActivationCodeFix : NetDslCodeFix
{
    public RemoveRedundantActivationCodeFix() : base(DiagnosticIds.ActivationAfterActivation) { }

    protected override IEnumerable<NetDslFix> FixesFor(Document document, SyntaxNode root, SemanticModel? model, Diagnostic diagnostic)
    {
        var attribute = AttributeAt(root, diagnostic);
        if (attribute?.Parent is not AttributeListSyntax list) yield break;
        // A named layer may be read by another (From, a join): removing it would break that reference.
        if (attribute.ArgumentList?.Arguments.Any(a => a.NameEquals?.Name.Identifier.ValueText == "Name") == true) yield break;
        yield return new NetDslFix($"Remove the redundant {attribute.Name}", "remove", ct => RemoveAsync(document, list, attribute, ct));
    }

    private static async Task<Document> RemoveAsync(Document document, AttributeListSyntax list, AttributeSyntax attribute, CancellationToken ct)
    {
        if (list.Attributes.Count > 1)
        {
            var root = await document.GetSyntaxRootAsync(ct).ConfigureAwait(false);
            return root is null ? document : document.WithSyntaxRoot(root.ReplaceNode(list, list.WithAttributes(list.Attributes.Remove(attribute))));
        }

        // Remove "[ReLU]" and one side of the blanks around it; the whole line when it stood alone.
        var text = await document.GetTextAsync(ct).ConfigureAwait(false);
        int start = list.Span.Start, end = list.Span.End;
        var line = text.Lines.GetLineFromPosition(start);
        int before = start, after = end;
        while (before > line.Start && text[before - 1] is ' ' or '\t') before--;
        while (after < line.End && text[after] is ' ' or '\t') after++;
        TextSpan remove;
        if (before == line.Start && after == line.End && text.Lines.GetLineFromPosition(end).LineNumber == line.LineNumber)
            remove = TextSpan.FromBounds(line.Start, line.EndIncludingLineBreak);
        else if (before > line.Start)
            remove = TextSpan.FromBounds(before, end);
        else
            remove = TextSpan.FromBounds(start, after);
        return document.WithText(text.WithChanges(new TextChange(remove, "")));
    }
}
