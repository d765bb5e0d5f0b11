using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0201 / NDSL0202 on a Conv2D with an odd kernel: pads by (k − 1)/2·dilation on each side ("same"), so a
/// stride-1 convolution keeps the spatial size. Offered only when the shape inference found that this padding
/// removes the problem.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(SamePaddingCodeFix)), Shared]
public sealed class SamePaddingCodeFix : RepairCodeFix
{
    public SamePaddingCodeFix() : base(new[] { RepairKind.SamePadding }, DiagnosticIds.OutputTooSmall, DiagnosticIds.OutputNotIntegral) { }

    private protected override string Title(Repair repair, AttributeSyntax attribute) => $"Pad to keep the size (\"same\"): {repair.Describe()}";
}
