using System.Collections.Immutable;
using System.Composition;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0102 (duplicate layer name): renames the second layer to the name's stem plus the smallest number that no
/// layer of the network uses ("head" → "head2", "conv1" → "conv3" when conv2 exists). A layer that had its default
/// name gets a Name argument. The shape inference picks the name (diagnostic property "name").
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RenameDuplicateCodeFix)), Shared]
public sealed class RenameDuplicateCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.DuplicateName);

    public override FixAllProvider? GetFixAllProvider() => null; // each rename must see the others

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(Repair.Key(RepairKind.UniqueName), out var assignments) || assignments is null) continue;
            var attribute = await AttributeEdits.FindAttributeAsync(context.Document, diagnostic.Location.SourceSpan, context.CancellationToken).ConfigureAwait(false);
            if (attribute is null) continue;
            var parsed = AttributeEdits.Parse(assignments);
            if (parsed.Count != 1 || parsed[0].Expression is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create($"Rename the layer to {parsed[0].Expression}",
                    ct => AttributeEdits.ReplaceAsync(context.Document, attribute, AttributeEdits.Apply(attribute, assignments), ct),
                    equivalenceKey: nameof(RenameDuplicateCodeFix)),
                diagnostic);
        }
    }
}
