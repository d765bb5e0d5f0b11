using System.Collections.Immutable;
using System.Composition;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;

using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0201 / NDSL0202 on a Conv2D with an odd kernel: pads by (k − 1)/2·dilation on each side ("same"), so a
/// stride-1 convolution keeps the spatial size. Offered only when the shape inference found that this padding
/// removes the problem (it attaches the assignments as the "same" diagnostic property).
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SamePaddingCodeFix)), Shared]
public sealed class SamePaddingCodeFix : CodeFixProvider
{
    public static readonly string Property = Repair.Key(RepairKind.SamePadding);

    public override ImmutableArray<string> FixableDiagnosticIds { get; } = ImmutableArray.Create(DiagnosticIds.OutputTooSmall, DiagnosticIds.OutputNotIntegral);

    public override FixAllProvider? GetFixAllProvider() => null; // each layer's padding depends on its own kernel

    public override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        foreach (var diagnostic in context.Diagnostics)
        {
            if (!diagnostic.Properties.TryGetValue(Property, out var assignments) || assignments is null) continue;
            var attribute = await AttributeEdits.FindAttributeAsync(context.Document, diagnostic.Location.SourceSpan, context.CancellationToken).ConfigureAwait(false);
            if (attribute is null) continue;
            context.RegisterCodeFix(
                CodeAction.Create($"Pad to keep the size (\"same\"): {AttributeEdits.Describe(assignments)}",
                    ct => AttributeEdits.ReplaceAsync(context.Document, attribute, AttributeEdits.Apply(attribute, assignments), ct),
                    equivalenceKey: nameof(SamePaddingCodeFix)),
                diagnostic);
        }
    }
}
