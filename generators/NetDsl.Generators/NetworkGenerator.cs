using System;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using NetDsl.Generators.Diagnostics;
using NetDsl.Generators.Emit;
using NetDsl.Generators.Emit.Gpu;
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
        public const string GpuReferenced = "GpuReferenced";
    }

    /// <summary>The type whose presence in the compilation means "the project references NetDsl.Gpu": emit the twins.</summary>
    public const string GpuMarkerType = "NetDsl.Gpu.IGpuNetwork";

    // Tracked with the analyzers' rules (AnalyzerReleases.Unshipped.md, docs/diagnostics.md); the generator has no release files of its own.
#pragma warning disable RS2008
    private static readonly DiagnosticDescriptor s_noGpuKernels = new(
        DiagnosticIds.NoGpuKernels,
        "Layer has no GPU kernels",
        "{0} has no GPU twin: layer {1} ({2}) has no device kernels in NetDsl.Gpu yet; remove the NetDsl.Gpu reference or the layer",
        "NetDsl.Gpu", DiagnosticSeverity.Error, isEnabledByDefault: true);
#pragma warning restore RS2008

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

        // The GPU twin: only when NetDsl.Gpu is referenced. A bool, not the Compilation, joins the pipeline, so edits
        // that do not change the references leave the twin cached.
        var gpuReferenced = context.CompilationProvider
            .Select(static (c, _) => c.GetTypeByMetadataName(GpuMarkerType) is not null)
            .WithTrackingName(Steps.GpuReferenced);
        context.RegisterSourceOutput(plans.Combine(gpuReferenced), static (spc, pair) =>
        {
            var (plan, referenced) = pair;
            if (!referenced || plan is null) return;
            foreach (var l in GpuEmitter.Unsupported(plan))
            {
                spc.ReportDiagnostic(Diagnostic.Create(s_noGpuKernels, Location.None, plan.Network.ClassName, l.Name, l.Kind.ToString()));
                return;
            }
            string source;
            try { source = GpuEmitter.Emit(plan); }
            catch (Exception) { return; }
            spc.AddSource(GpuEmitter.HintName(plan.Network), source);
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
