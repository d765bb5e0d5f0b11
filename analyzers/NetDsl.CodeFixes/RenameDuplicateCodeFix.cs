using System.Composition;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>
/// NDSL0102 (duplicate layer name): renames the later layer to the name's stem plus the smallest free number; a default
/// name gets a Name argument. The shape inference picks the name.
/// </summary>
[ExportCodeFixProvider(LanguageNames.CSharp, Name = nameof(RenameDuplicateCodeFix)), Shared]
public sealed class RenameDuplicateCodeFix : RepairCodeFix
{
    public RenameDuplicateCodeFix() : base(new[] { RepairKind.UniqueName }, DiagnosticIds.DuplicateName) { }

    private protected override string? Title(Repair repair, AttributeSyntax attribute) =>
        repair.Edits.Count == 1 && repair.Edits[0].Expression is { } name ? $"Rename the layer to {name}" : null;
}
