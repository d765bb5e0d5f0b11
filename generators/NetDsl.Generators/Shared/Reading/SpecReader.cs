using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Threading;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Reading;

/// <summary>Reads a [Network] class symbol into the plain <see cref="NetworkSpec"/>. Shared by the generator and the analyzers.</summary>
internal static class SpecReader
{
    public const string NetworkAttributeName = "NetDsl.NetworkAttribute";
    private const string LayerBaseName = "NetDsl.LayerAttribute";

    /// <summary>The layer attributes of <paramref name="type"/>, in source order.</summary>
    public static ImmutableArray<AttributeData> LayerAttributes(INamedTypeSymbol type)
    {
        var builder = ImmutableArray.CreateBuilder<AttributeData>();
        foreach (var a in type.GetAttributes())
            if (IsLayerAttribute(a.AttributeClass)) builder.Add(a);
        return builder.ToImmutable();
    }

    public static AttributeData? NetworkAttribute(INamedTypeSymbol type)
    {
        foreach (var a in type.GetAttributes())
            if (a.AttributeClass?.ToDisplayString() == NetworkAttributeName) return a;
        return null;
    }

    private static bool IsLayerAttribute(INamedTypeSymbol? cls)
    {
        for (var t = cls?.BaseType; t is not null; t = t.BaseType)
            if (t.ToDisplayString() == LayerBaseName) return true;
        return false;
    }

    public static NetworkSpec Read(INamedTypeSymbol type, CancellationToken ct) => Read(type, ct, readOriginal: true);

    private static NetworkSpec Read(INamedTypeSymbol type, CancellationToken ct, bool readOriginal)
    {
        var layerAttributes = LayerAttributes(type);
        var network = NetworkAttribute(type);
        // A class still being typed can have no name yet; the compiler reports it.
        bool invalid = network is null || network.AttributeConstructor is null || type.Name.Length == 0;

        var layers = new List<LayerSpec>(layerAttributes.Length);
        var declarationsWithLayers = new HashSet<SyntaxNode>();
        for (int i = 0; i < layerAttributes.Length; i++)
        {
            ct.ThrowIfCancellationRequested();
            var a = layerAttributes[i];
            if (a.AttributeConstructor is null) invalid = true;
            var decl = a.ApplicationSyntaxReference?.GetSyntax(ct).FirstAncestorOrSelf<TypeDeclarationSyntax>();
            if (decl is not null) declarationsWithLayers.Add(decl);
            string attrName = a.AttributeClass?.Name ?? "?";
            if (attrName.EndsWith("Attribute")) attrName = attrName.Substring(0, attrName.Length - "Attribute".Length);
            layers.Add(new LayerSpec(KindOf(attrName), attrName, i, ReadArgs(a, ref invalid)));
        }

        bool isPartial = type.DeclaringSyntaxReferences.Length > 0 &&
            type.DeclaringSyntaxReferences.All(r => r.GetSyntax(ct) is TypeDeclarationSyntax t && t.Modifiers.Any(SyntaxKind.PartialKeyword));

        var containing = new List<ContainingType>();
        for (var t = type.ContainingType; t is not null; t = t.ContainingType)
        {
            bool partial = t.DeclaringSyntaxReferences.All(r => r.GetSyntax(ct) is TypeDeclarationSyntax d && d.Modifiers.Any(SyntaxKind.PartialKeyword));
            string keyword = t.IsRecord ? (t.TypeKind == TypeKind.Struct ? "record struct" : "record")
                : t.TypeKind switch { TypeKind.Struct => "struct", TypeKind.Interface => "interface", _ => "class" };
            containing.Insert(0, new ContainingType(keyword, t.Name, partial, t.TypeParameters.Length > 0));
        }

        var networkArgs = network is null ? EquatableArray<Arg>.Empty : ReadArgs(network, ref invalid);
        // ConvolutionalOf = typeof(X): X's own spec travels with this one (plain values), so the twin's layers follow X's.
        NetworkSpec? original = null;
        string? originalName = null, originalProblem = null;
        foreach (var named in network?.NamedArguments ?? ImmutableArray<KeyValuePair<string, TypedConstant>>.Empty)
        {
            if (named.Key != "ConvolutionalOf" || named.Value.Value is not INamedTypeSymbol target) continue;
            originalName = target.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat);
            if (SymbolEqualityComparer.Default.Equals(target, type)) originalProblem = "it names the class itself";
            else if (NetworkAttribute(target) is not { } targetNetwork) originalProblem = $"{target.Name} has no [Network] attribute";
            else if (targetNetwork.NamedArguments.Any(a => a.Key == "ConvolutionalOf")) originalProblem = $"{target.Name} is itself a ConvolutionalOf twin; name the network it copies";
            else if (!readOriginal) originalProblem = "nested twins are not supported";
            else original = Read(target, ct, readOriginal: false);
        }
        return new NetworkSpec(
            type.ContainingNamespace is { IsGlobalNamespace: false } ns ? ns.ToDisplayString() : null,
            type.Name,
            containing.ToEquatableArray(),
            isPartial,
            type.TypeParameters.Length > 0,
            type.IsStatic,
            declarationsWithLayers.Count,
            invalid,
            networkArgs,
            layers.ToEquatableArray())
        {
            Original = original,
            OriginalTypeName = originalName,
            OriginalProblem = originalProblem,
        };
    }

    public static LayerKind KindOf(string attributeName) => Families.LayerFamilies.KindOf(attributeName);

    private static EquatableArray<Arg> ReadArgs(AttributeData a, ref bool invalid)
    {
        var args = new List<Arg>();
        var ctor = a.AttributeConstructor;
        if (ctor is not null)
        {
            for (int i = 0; i < a.ConstructorArguments.Length && i < ctor.Parameters.Length; i++)
                args.Add(ToArg(ctor.Parameters[i].Name, a.ConstructorArguments[i], isNamed: false, ref invalid));
        }
        foreach (var named in a.NamedArguments)
            args.Add(ToArg(named.Key, named.Value, isNamed: true, ref invalid));
        return args.ToEquatableArray();
    }

    private static Arg ToArg(string name, TypedConstant value, bool isNamed, ref bool invalid)
    {
        if (value.Kind == TypedConstantKind.Error) { invalid = true; return new Arg(name, ArgType.Invalid, 0, 0, null, isNamed); }
        if (value.Kind == TypedConstantKind.Array)
        {
            // params string[] (the inputs of Add/Concat); a null string stays null so inference can name it.
            if (value.IsNull) return new Arg(name, ArgType.TextList, 0, 0, null, isNamed);
            var texts = new List<string>();
            foreach (var item in value.Values)
            {
                if (item.Kind == TypedConstantKind.Error || item.Value is not (string or null)) { invalid = true; return new Arg(name, ArgType.Invalid, 0, 0, null, isNamed); }
                texts.Add(item.Value as string ?? "");
            }
            return new Arg(name, ArgType.TextList, texts.Count, 0, null, isNamed) { Texts = texts.ToEquatableArray() };
        }
        return value.Value switch
        {
            bool b => new Arg(name, ArgType.Bool, b ? 1 : 0, 0, b ? "true" : "false", isNamed),
            int i => new Arg(name, ArgType.Int, i, 0, null, isNamed),
            long l => new Arg(name, ArgType.Int, l, 0, null, isNamed),
            double d => new Arg(name, ArgType.Real, 0, d, null, isNamed),
            float f => new Arg(name, ArgType.Real, 0, f, null, isNamed),
            string s => new Arg(name, ArgType.Text, 0, 0, s, isNamed),
            ITypeSymbol t => new Arg(name, ArgType.Text, 0, 0, t.ToDisplayString(SymbolDisplayFormat.FullyQualifiedFormat), isNamed),
            null => new Arg(name, ArgType.Text, 0, 0, null, isNamed),
            var other => new Arg(name, ArgType.Invalid, 0, 0, other.ToString(), isNamed),
        };
    }
}
