using System.Collections.Immutable;
using System.Composition;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0202 (rows or columns never read): sets the stride, or the padding, to the value nearest the current one for
/// which the division is exact, as the shape inference computed it (diagnostic properties "stride" and "padding").
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(IntegralOutputCodeFix)), Shared]
public sealed class IntegralOutputCodeFix : CodeFixProvider
{
    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.OutputNotIntegral);

    public override FixAllProvider? GetFixAllProvider() => null;

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            var attribute = await AttributeEdits.FindAttributeAsync(context.Document, diagnostic.Location.SourceSpan, context.CancellationToken).ConfigureAwait(false);
            if (attribute is null) continue;
            foreach (var kind in new[] { Repair.Key(RepairKind.Stride), Repair.Key(RepairKind.Padding) })
            {
                if (!diagnostic.Properties.TryGetValue(kind, out var assignments) || assignments is null) continue;
                context.RegisterCodeFix(
                    CodeAction.Create($"Set {AttributeEdits.Describe(assignments)} so no input row or column is dropped",
                        ct => AttributeEdits.ReplaceAsync(context.Document, attribute, AttributeEdits.Apply(attribute, assignments), ct),
                        equivalenceKey: nameof(IntegralOutputCodeFix) + "." + kind),
                    diagnostic);
            }
        }
    }
}
