using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Families;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Lowering;

namespace NetDsl.Generators.Emit.Gpu;

/// <summary>
/// The GPU backend: writes the nested <c>&lt;Net&gt;.Gpu</c> twin (a separate <c>&lt;Net&gt;.Gpu.g.cs</c>) from the
/// <see cref="Plan"/>: one device buffer per plan buffer, then each layer's passes from its family
/// (<see cref="LayerFamily.WriteGpuForward"/>, <see cref="LayerFamily.WriteGpuBackward"/>), and the plan's gradient routing
/// (a later reader's share goes through the source's scratch buffer and is added). Every layer shape a kernel reads is a
/// nested struct of <c>const</c> fields (<see cref="DeclareGeometry"/>) passed to the kernels as a type argument, so ILGPU
/// compiles each kernel with the numbers in it; the constructor compiles them all.
/// Emitted only when the compilation references NetDsl.Gpu.
/// </summary>
internal sealed class GpuEmitter
{
    private const string Buffer = "global::ILGPU.Runtime.MemoryBuffer1D<float, global::ILGPU.Stride1D.Dense>";

    private readonly Plan _plan;
    private readonly ShapedNetwork _net;
    private readonly string[] _member;
    private readonly int[] _fusedActivation;
    private readonly IndentedWriter _w = new();
    private readonly List<Geometry> _geometries = new();
    private readonly HashSet<string> _prepared = new();

    /// <summary>A generated struct of constants: one per distinct layer shape (layers of the same shape share it, and with it
    /// their compiled kernels).</summary>
    private sealed class Geometry
    {
        public Geometry(string name, string @interface, string summary, string constants, string members)
        {
            Name = name; Interface = @interface; Summary = summary; Constants = constants; Members = members;
        }

        public string Name { get; }
        public string Interface { get; }
        public string Summary { get; }
        public string Constants { get; }
        public string Members { get; }
        public List<string> Layers { get; } = new();
    }

    private GpuEmitter(Plan plan)
    {
        _plan = plan;
        _net = plan.Network;
        _member = NetworkEmitter.MemberNames(_net);
        // A pointwise activation that directly follows the GEMM producing its only input runs in that GEMM's stores.
        _fusedActivation = Enumerable.Repeat(-1, _net.Layers.Count).ToArray();
        foreach (var l in _net.Layers)
        {
            if (l.Index == 0 || l.Inputs.Count != 1 || l.Inputs[0] != l.Index - 1 || !ActivationFamily.GpuFusable(l)) continue;
            var producer = _net.Layers[l.Index - 1];
            if (!LayerFamilies.For(producer).GpuFusesActivation(producer)) continue;
            _fusedActivation[producer.Index] = l.Index;
        }
    }

    /// <summary>The activation layer whose pass <paramref name="layer"/>'s GEMM applies in its stores, or −1.</summary>
    public int FusedActivation(int layer) => _fusedActivation[layer];
    /// <summary>The layer whose GEMM applies activation <paramref name="layer"/>, or −1.</summary>
    public int FusedInto(int layer) => layer > 0 && _fusedActivation[layer - 1] == layer ? layer - 1 : -1; // the producer directly precedes

    /// <summary>The name of the struct that holds <paramref name="constants"/> (const fields) and implements
    /// <paramref name="interface"/> through <paramref name="members"/>: declared on first use, named after the first layer
    /// with that shape and <paramref name="suffix"/> (<c>Conv1Geometry</c>, <c>Bn1Map</c>), shared by the later ones.</summary>
    public string DeclareGeometry(ShapedLayer layer, string @interface, string summary, string constants, string members, string suffix = "Geometry")
    {
        var found = _geometries.FirstOrDefault(g => g.Interface == @interface && g.Constants == constants && g.Members == members);
        if (found is null)
        {
            string name = _member[layer.Index] + suffix;
            for (int n = 2; _geometries.Any(g => g.Name == name); n++) name = _member[layer.Index] + suffix + n; // a second shape of one layer
            found = new Geometry(name, @interface, summary, constants, members);
            _geometries.Add(found);
        }
        if (!found.Layers.Contains(layer.Name)) found.Layers.Add(layer.Name);
        return found.Name;
    }

    /// <summary>Writes <paramref name="call"/> (a kernel compilation in the constructor) unless it was already written.</summary>
    public void WriteOnce(string call)
    {
        if (_prepared.Add(call)) _w.Line(call);
    }

    public IndentedWriter Writer => _w;
    public ShapedNetwork Network => _net;
    public string Member(int layer) => _member[layer];
    public string Act(int i) => i < 0 ? "InputActivation" : "_act" + _member[i];
    public string Grad(int i) => i < 0 ? "InputGradientBuffer" : "_grad" + _member[i];
    private string Scratch(int i) => i < 0 ? "_inputGradScratch" : "_gradScratch" + _member[i];

    public string GradientTarget(int layer, int input)
    {
        var route = _plan.Route(layer, input);
        return route.ViaScratch ? Scratch(route.Source) : Grad(route.Source);
    }

    /// <summary>The layers whose family has no GPU kernels (the generator reports them instead of emitting a twin).</summary>
    public static IEnumerable<ShapedLayer> Unsupported(Plan plan) => plan.Network.Layers.Where(l => !LayerFamilies.For(l).HasGpu(l));

    public static string HintName(ShapedNetwork net) => NetworkEmitter.HintName(net).Replace(".g.cs", ".Gpu.g.cs");

    public static string Emit(Plan plan) => new GpuEmitter(plan).EmitCore();

    private string EmitCore()
    {
        string cls = _net.ClassName;
        _w.Line("// <auto-generated/>");
        _w.Line($"// The GPU twin of {cls}, generated by NetDsl because the project references NetDsl.Gpu. Edit the attributes, not this file.");
        _w.Line("#nullable enable");
        _w.Line("#pragma warning disable CS1591");
        _w.Line();
        if (_net.Namespace is not null) _w.Open($"namespace {_net.Namespace}");
        foreach (var t in _net.ContainingTypes) _w.Open($"partial {t.Keyword} {t.Name}");
        _w.Open($"partial class {cls}");
        _w.Line($"/// <summary>{cls} on an ILGPU accelerator: the same parameters (copied from a CPU {cls} built with the same seed), every");
        _w.Line("/// activation, gradient and optimizer state on the device; each layer's shape is a struct of constants (at the end) that");
        _w.Line("/// its kernels are compiled for.</summary>");
        _w.Open($"public sealed class Gpu : {GpuLayer.Ns}.GpuNetworkBase");

        foreach (var l in _net.Layers)
            _w.Line($"private readonly {Buffer} {Act(l.Index)}, {Grad(l.Index)}; // [N, {l.OutSize}] {l.Name}");
        foreach (var b in _plan.Buffers.Where(b => b.Role == BufferRole.GradientScratch))
            _w.Line($"private readonly {Buffer} {Scratch(b.Layer)}; // [N, {b.FloatsPerSample}] a later reader's share of dL/d({_net.NameOf(b.Layer)}), added in");
        foreach (var l in _net.Layers) LayerFamilies.For(l).WriteGpuWorkspace(new GpuLayer(this, l));
        _w.Line();

        _w.Line($"/// <summary>Allocates the twin for batches of up to <paramref name=\"maxBatch\"/> on <paramref name=\"device\"/>, initialized as");
        _w.Line($"/// <c>new {cls}(maxBatch, seed)</c> is (same parameters, same dropout stream).</summary>");
        _w.Line("[global::System.Diagnostics.CodeAnalysis.RequiresDynamicCode(\"ILGPU compiles kernels at run time.\")]");
        _w.Line("[global::System.Diagnostics.CodeAnalysis.RequiresUnreferencedCode(\"ILGPU reads kernel IL through reflection.\")]");
        _w.Line($"public Gpu({GpuLayer.Ns}.GpuDevice device, int maxBatch = 64, int seed = 1)");
        _w.Line($"    : base(device, maxBatch, {GpuLayer.I(_net.InputSize)}, {GpuLayer.I(_net.OutputSize)}, {GpuLayer.I(_net.ParameterCount)}, {GpuLayer.I(_net.BufferCount)}, s_parameterTensors, s_bufferTensors)");
        _w.Open();
        foreach (var l in _net.Layers)
        {
            _w.Line($"{Act(l.Index)} = Allocate((long)maxBatch * {l.OutSize});");
            _w.Line($"{Grad(l.Index)} = Allocate((long)maxBatch * {l.OutSize});");
        }
        foreach (var b in _plan.Buffers.Where(b => b.Role == BufferRole.GradientScratch))
            _w.Line($"{Scratch(b.Layer)} = Allocate((long)maxBatch * {b.FloatsPerSample});");
        foreach (var l in _net.Layers) LayerFamilies.For(l).WriteGpuAllocate(new GpuLayer(this, l));
        _w.Line($"using var host = new {cls}(1, seed, 1);");
        _w.Line("CopyParametersFrom(host);");
        _w.Close();
        _w.Line();

        var last = _net.Layers.Count - 1;
        _w.Line($"protected override {Buffer} OutputActivation => {Act(last)};");
        _w.Line($"protected override {Buffer} OutputGradientBuffer => {Grad(last)};");
        var dropouts = _net.Layers.Where(l => l.Kind == Model.LayerKind.Dropout).ToList();
        if (dropouts.Count > 0)
            _w.Line($"protected override {Buffer}? DropoutMaskBuffer(int layer) => layer switch {{ {string.Join(", ", dropouts.Select(l => $"{l.Index} => _mask{_member[l.Index]}"))}, _ => null }};");
        _w.Line();

        _w.Open("protected override void RunForward(int batch, bool training)");
        foreach (var l in _net.Layers)
        {
            _w.Line($"// {l.Name}: {LayerFamilies.For(l).Describe(l)} → {l.OutShapeText}");
            LayerFamilies.For(l).WriteGpuForward(new GpuLayer(this, l));
            _w.Line($"Lap(\"{l.Name}\"); // its device time, when a GpuProfile is set");
        }
        _w.Close();
        _w.Line();

        _w.Open("protected override void RunBackward(int batch, bool training)");
        for (int i = _net.Layers.Count - 1; i >= 0; i--)
        {
            var l = _net.Layers[i];
            _w.Line($"// {l.Name}");
            LayerFamilies.For(l).WriteGpuBackward(new GpuLayer(this, l));
            for (int j = 0; j < l.Inputs.Count; j++)
            {
                var route = _plan.Route(i, j);
                if (!route.ViaScratch) continue;
                string add = $"AddInto(V({Scratch(route.Source)}), V({Grad(route.Source)}), batch * {_net.SizeOf(route.Source)}); // gradients of a layer read twice add up";
                _w.Line(route.Source < 0 ? $"if (ComputeInputGradient) {add}" : add);
            }
            _w.Line($"Lap(\"{l.Name}\", \"backward\");");
        }
        _w.Close();

        foreach (var g in _geometries)
        {
            _w.Line();
            _w.Line($"/// <summary>The geometry of {string.Join(", ", g.Layers)}, compiled into its kernels as constants: {g.Summary}.</summary>");
            _w.Open($"public readonly struct {g.Name} : {GpuLayer.Ns}.{g.Interface}");
            _w.Lines(g.Constants);
            _w.Lines(g.Members);
            _w.Close();
        }

        _w.Close();
        _w.Close();
        foreach (var _ in _net.ContainingTypes) _w.Close();
        if (_net.Namespace is not null) _w.Close();
        return _w.ToString();
    }
}
