using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Lowering;
using NetDsl.Generators.Model;
using NetDsl.Generators.Reading;

namespace NetDsl.Generators;

/// <summary>
/// [Network] class → <see cref="NetworkSpec"/> (plain values) → <see cref="ShapeInference"/> → <see cref="Plan"/> → <see cref="CpuPlan"/> → C# source.
/// Diagnostics come from the analyzers, which run the same inference; this generator stays silent on a
/// network with errors and emits nothing for it, so users never see half a network.
/// </summary>
[Generator(LanguageNames.CSharp)]
public sealed class NetworkGenerator : IIncrementalGenerator
{
    /// <summary>Tracking names, so tests can check that unrelated edits leave every step cached.</summary>
    public static class Steps
    {
        public const string Spec = "NetworkSpec";
        public const string Shaped = "ShapedNetwork";
        public const string Plan = "Plan";
        public const string CpuPlan = "CpuPlan";
    }

    public void Initialize(IncrementalGeneratorInitializationContext context)
    {
        var specs = context.SyntaxProvider.ForAttributeWithMetadataName(
                SpecReader.NetworkAttributeName,
                predicate: static (node, _) => node is ClassDeclarationSyntax,
                transform: static (ctx, ct) => ctx.TargetSymbol is INamedTypeSymbol type ? SafeRead(type, ct) : null)
            .Where(static s => s is not null)
            .WithTrackingName(Steps.Spec);

        var shaped = specs
            .Select(static (spec, _) => ShapeInference.Infer(spec!).Network)
            .Where(static n => n is not null)
            .WithTrackingName(Steps.Shaped);

        // The backend-neutral plan, then the CPU lowering's strategies; each is an equatable model, cached on its own.
        var plans = shaped
            .Select(static (network, _) => SafeLower(network!))
            .Where(static p => p is not null)
            .WithTrackingName(Steps.Plan);

        var cpuPlans = plans
            .Select(static (plan, _) => SafeCpu(plan!))
            .Where(static p => p is not null)
            .WithTrackingName(Steps.CpuPlan);

        context.RegisterSourceOutput(cpuPlans, static (spc, plan) =>
        {
            string source;
            try { source = NetworkEmitter.Emit(plan!); }
            catch (Exception) { return; } // never break the user's build; the analyzers report what is wrong
            spc.AddSource(NetworkEmitter.HintName(plan!.Plan.Network), source);
        });
    }

    private static Plan? SafeLower(ShapedNetwork network)
    {
        try { return Planner.Lower(network); }
        catch (Exception) { return null; }
    }

    private static CpuPlan? SafeCpu(Plan plan)
    {
        try { return CpuPlan.Lower(plan); }
        catch (Exception) { return null; }
    }

    private static NetworkSpec? SafeRead(INamedTypeSymbol type, System.Threading.CancellationToken ct)
    {
        try { return SpecReader.Read(type, ct); }
        catch (OperationCanceledException) { throw; }
        catch (Exception) { return null; }
    }
}
