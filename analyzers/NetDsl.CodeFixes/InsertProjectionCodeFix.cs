using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0104 (Add of unequal shapes) where one input differs in channels or by a whole stride: inserts a strided 1×1
/// convolution that projects that input to the first input's shape (ResNet's projection shortcut) right before the Add,
/// and makes the Add read it.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(InsertProjectionCodeFix)), Shared]
public sealed class InsertProjectionCodeFix : RepairCodeFix
{
    public InsertProjectionCodeFix() : base(new[] { RepairKind.InsertProjection }, DiagnosticIds.AddShapeMismatch) { }

    private protected override string? Title(Repair repair, AttributeSyntax attribute) =>
        repair.InsertBefore is { } insert ? $"Project the shortcut: insert [{insert}]" : null;
}
