using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0202 (rows or columns never read): sets the stride, or the padding, to the value nearest the current one for
/// which the division is exact, as the shape inference computed it.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(IntegralOutputCodeFix)), Shared]
public sealed class IntegralOutputCodeFix : RepairCodeFix
{
    public IntegralOutputCodeFix() : base(new[] { RepairKind.Stride, RepairKind.Padding }, DiagnosticIds.OutputNotIntegral) { }

    private protected override string Title(Repair repair, AttributeSyntax attribute) => $"Set {repair.Describe()} so no input row or column is dropped";
}
