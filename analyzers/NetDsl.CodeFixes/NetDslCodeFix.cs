using System;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CodeActions;
using Microsoft.CodeAnalysis.CodeFixes;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Diagnostics;

namespace NetDsl.CodeFixes;

/// <summary>One code action a fix offers: its title, a key that tells its kind apart, and what it does to the document.</summary>
public sealed class NetDslFix
{
    public NetDslFix(string title, string key, Func<CancellationToken, Task<Document>> apply)
    {
        Title = title; Key = key; Apply = apply;
    }

    public string Title { get; }
    public string Key { get; }
    public Func<CancellationToken, Task<Document>> Apply { get; }
}

/// <summary>
/// Base of every NetDsl code fix: for each diagnostic it fixes, the fix names its actions (<see cref="FixesFor"/>) and the
/// base registers them, with an equivalence key of the fix's type and the action's kind.
/// </summary>
public abstract class NetDslCodeFix : CodeFixProvider
{
    protected NetDslCodeFix(params string[] ids) => FixableDiagnosticIds = ImmutableArray.Create(ids);

    public sealed override ImmutableArray<string> FixableDiagnosticIds { get; }

    /// <summary>None by default: most repairs depend on each layer's own shapes, so each is applied on its own.</summary>
    public override FixAllProvider? GetFixAllProvider() => null;

    /// <summary>Whether <see cref="FixesFor"/> needs the semantic model (only fixes that look at symbols).</summary>
    protected virtual bool NeedsSemanticModel => false;

    public sealed override async Task RegisterCodeFixesAsync(CodeFixContext context)
    {
        var root = await context.Document.GetSyntaxRootAsync(context.CancellationToken).ConfigureAwait(false);
        if (root is null) return;
        var model = NeedsSemanticModel ? await context.Document.GetSemanticModelAsync(context.CancellationToken).ConfigureAwait(false) : null;
        if (NeedsSemanticModel && model is null) return;
        foreach (var diagnostic in context.Diagnostics)
            foreach (var fix in FixesFor(context.Document, root, model, diagnostic))
                context.RegisterCodeFix(CodeAction.Create(fix.Title, fix.Apply, equivalenceKey: GetType().Name + "." + fix.Key), diagnostic);
    }

    /// <summary>The actions offered for <paramref name="diagnostic"/> (none when it does not apply); <paramref name="model"/>
    /// is null unless <see cref="NeedsSemanticModel"/>.</summary>
    protected abstract IEnumerable<NetDslFix> FixesFor(Document document, SyntaxNode root, SemanticModel? model, Diagnostic diagnostic);

    /// <summary>The layer attribute the diagnostic sits on (or inside).</summary>
    protected static AttributeSyntax? AttributeAt(SyntaxNode root, Diagnostic diagnostic) => AttributeEdits.FindAttribute(root, diagnostic.Location.SourceSpan);
}

/// <summary>
/// Base of the fixes that apply a <see cref="Repair"/> the shape inference attached to the diagnostic (under the key of its
/// <see cref="RepairKind"/>): they edit, insert or replace exactly what the repair says and never recompute shapes.
/// </summary>
public abstract class RepairCodeFix : NetDslCodeFix
{
    private readonly RepairKind[] _kinds;

    private protected RepairCodeFix(RepairKind[] kinds, params string[] ids) : base(ids) => _kinds = kinds;

    /// <summary>The action's title for <paramref name="repair"/> on <paramref name="attribute"/>, or null to offer nothing.</summary>
    private protected abstract string? Title(Repair repair, AttributeSyntax attribute);

    protected sealed override IEnumerable<NetDslFix> FixesFor(Document document, SyntaxNode root, SemanticModel? model, Diagnostic diagnostic)
    {
        var attribute = AttributeAt(root, diagnostic);
        if (attribute is null) yield break;
        foreach (var kind in _kinds)
        {
            if (!diagnostic.Properties.TryGetValue(Repair.Key(kind), out var text) || text is null) continue;
            var repair = Repair.Parse(kind, text);
            if (Title(repair, attribute) is not { } title) continue;
            yield return new NetDslFix(title, kind.ToString(), ct => AttributeEdits.ApplyAsync(document, attribute, repair, ct));
        }
    }
}
