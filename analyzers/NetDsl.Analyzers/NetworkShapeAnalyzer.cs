using System;
using System.Collections.Immutable;
using System.Linq;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using Microsoft.CodeAnalysis.Diagnostics;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Reading;

namespace NetDsl.Analyzers;

/// <summary>
/// Reports every problem the shared shape inference finds in a [Network] class, on the exact attribute
/// argument at fault. The generator runs the same inference and emits nothing when any of these is an error.
/// </summary>
[DiagnosticAnalyzer(LanguageNames.CSharp)]
public sealed class NetworkShapeAnalyzer : DiagnosticAnalyzer
{
    public override ImmutableArray<DiagnosticDescriptor> SupportedDiagnostics { get; } = ImmutableArray.Create(
        DiagnosticDescriptors.NotPartial, DiagnosticDescriptors.UnsupportedClass, DiagnosticDescriptors.LayersSplit,
        DiagnosticDescriptors.NoLayers, DiagnosticDescriptors.InvalidInputShape, DiagnosticDescriptors.UnknownLayerAttribute, DiagnosticDescriptors.ConvolutionalTwin,
        DiagnosticDescriptors.InvalidArgument, DiagnosticDescriptors.DuplicateName,
        DiagnosticDescriptors.UnknownSkipSource, DiagnosticDescriptors.AddShapeMismatch, DiagnosticDescriptors.ConcatShapeMismatch,
        DiagnosticDescriptors.OutputTooSmall, DiagnosticDescriptors.OutputNotIntegral, DiagnosticDescriptors.PoolPaddingTooLarge,
        DiagnosticDescriptors.TooLarge, DiagnosticDescriptors.NoOpFlatten, DiagnosticDescriptors.ActivationAfterActivation,
        DiagnosticDescriptors.HiddenSigmoid, DiagnosticDescriptors.SoftmaxNotLast, DiagnosticDescriptors.LargeParameterCount,
        DiagnosticDescriptors.DeadBranch);

    public override void Initialize(AnalysisContext context)
    {
        context.ConfigureGeneratedCodeAnalysis(GeneratedCodeAnalysisFlags.None);
        context.EnableConcurrentExecution();
        context.RegisterCompilationStartAction(start =>
        {
            var networkAttribute = start.Compilation.GetTypeByMetadataName(SpecReader.NetworkAttributeName);
            if (networkAttribute is null) return; // NetDsl is not referenced
            start.RegisterSymbolAction(ctx => Analyze(ctx, networkAttribute), SymbolKind.NamedType);
        });
    }

    private static void Analyze(SymbolAnalysisContext ctx, INamedTypeSymbol networkAttribute)
    {
        var type = (INamedTypeSymbol)ctx.Symbol;
        var network = type.GetAttributes().FirstOrDefault(a => SymbolEqualityComparer.Default.Equals(a.AttributeClass, networkAttribute));
        if (network is null) return;

        var spec = SpecReader.Read(type, ctx.CancellationToken);
        var result = ShapeInference.Infer(spec);
        if (result.Problems.Count == 0) return;

        var layers = SpecReader.LayerAttributes(type);
        foreach (var problem in result.Problems)
        {
            var descriptor = DiagnosticDescriptors.ById(problem.Id);
            if (descriptor is null) continue;
            var attribute = problem.LayerIndex >= 0 && problem.LayerIndex < layers.Length ? layers[problem.LayerIndex] : network;
            Location location = problem.LayerIndex < 0 && problem.ArgName is null
                ? type.Locations.FirstOrDefault() ?? Location.None
                : ArgumentLocation(attribute, problem.ArgName, ctx.CancellationToken, problem.ArgItem);
            ctx.ReportDiagnostic(Diagnostic.Create(descriptor, location, Properties(problem), problem.MessageArgs.Select(a => (object)a).ToArray()));
        }
    }

    /// <summary>The inference's typed repairs as diagnostic properties (kind → serialized repair), for the code fixes.</summary>
    private static ImmutableDictionary<string, string?>? Properties(Problem problem)
    {
        if (problem.Fixes.Count == 0) return null;
        var builder = ImmutableDictionary.CreateBuilder<string, string?>();
        foreach (var fix in problem.Fixes) builder[Repair.Key(fix.Kind)] = fix.Serialize();
        return builder.ToImmutable();
    }

    /// <summary>The argument named <paramref name="argName"/> (a property, or a constructor parameter), else the whole attribute.</summary>
    internal static Location ArgumentLocation(AttributeData attribute, string? argName, System.Threading.CancellationToken ct, int item = -1)
    {
        if (attribute.ApplicationSyntaxReference?.GetSyntax(ct) is not AttributeSyntax syntax) return Location.None;
        var args = syntax.ArgumentList?.Arguments ?? default;
        if (argName is not null && args.Count > 0)
        {
            foreach (var a in args)
                if (a.NameEquals?.Name.Identifier.ValueText == argName || a.NameColon?.Name.Identifier.ValueText == argName)
                    return a.GetLocation();
            var parameters = attribute.AttributeConstructor?.Parameters ?? ImmutableArray<IParameterSymbol>.Empty;
            int index = -1;
            for (int i = 0; i < parameters.Length; i++) if (parameters[i].Name == argName) index = i;
            // A params array's item (Add/Concat inputs): the item-th argument from the parameter's position on.
            if (index >= 0 && item >= 0) index += item;
            if (index >= 0)
            {
                int positional = 0;
                foreach (var a in args)
                {
                    if (a.NameEquals is not null || a.NameColon is not null) continue;
                    if (positional++ == index) return a.GetLocation();
                }
            }
        }
        return syntax.GetLocation();
    }
}
