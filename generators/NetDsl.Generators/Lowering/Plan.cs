using System.Collections.Generic;
using System.Linq;
using NetDsl.Generators.Inference;
using NetDsl.Generators.Model;

namespace NetDsl.Generators.Lowering;

// The backend-neutral plan: what every backend (the CPU emitter today, a GPU one next) builds from. It says which
// buffers exist, which ops read and write them, how gradients of a layer read by several others are combined, and
// where each parameter tensor lives. It holds no CPU strategy (see CpuPlan). Plain, equatable values only.

internal enum BufferRole
{
    /// <summary>A layer's output [N, size] (the network input for layer −1).</summary>
    Activation,
    /// <summary>dL/d(a layer's output) [N, size].</summary>
    Gradient,
    /// <summary>Where a second (third, ...) reader of a layer writes its share of that layer's gradient before it is added in.</summary>
    GradientScratch,
}

/// <summary>A per-sample buffer: <see cref="FloatsPerSample"/> floats for each of MaxBatch samples.</summary>
internal sealed record PlanBuffer(int Layer, BufferRole Role, int FloatsPerSample);

/// <summary>How one input's gradient reaches the layer it came from: written directly into its gradient buffer (the first
/// reader in backward order), or into the scratch buffer and then added (every later reader): gradients accumulate.</summary>
internal sealed record GradientRoute(int Source, bool ViaScratch);

/// <summary>One layer pass: reads its inputs' activations, writes its own; backward reads its output gradient and sends
/// one gradient per input along <see cref="Routes"/>.</summary>
internal sealed record PlanOp(int Layer, LayerKind Kind, EquatableArray<int> Reads, EquatableArray<GradientRoute> Routes);

/// <summary>A named tensor in the flat parameter (or buffer) array, with its PyTorch name and layout.</summary>
internal sealed record TensorView(int Layer, string Name, string Suffix, EquatableArray<int> Shape, int Offset, int Count)
{
    /// <summary>In a fully convolutional twin: the dense shape the original network gives this weight (same floats).</summary>
    public EquatableArray<int> DenseShape { get; init; } = EquatableArray<int>.Empty;
}

internal sealed record Plan(
    ShapedNetwork Network,
    EquatableArray<PlanOp> Ops,
    EquatableArray<PlanBuffer> Buffers,
    EquatableArray<TensorView> Parameters,
    EquatableArray<TensorView> States)
{
    /// <summary>True when every layer reads only the one before it and each output has one reader: the plain chain.</summary>
    public bool IsChain
    {
        get
        {
            foreach (var op in Ops)
                if (op.Reads.Count != 1 || op.Reads[0] != op.Layer - 1) return false;
            foreach (var b in Buffers) if (b.Role == BufferRole.GradientScratch) return false;
            return true;
        }
    }

    public GradientRoute Route(int layer, int input) => Ops[layer].Routes[input];

    public bool HasScratch(int source)
    {
        foreach (var b in Buffers) if (b.Role == BufferRole.GradientScratch && b.Layer == source) return true;
        return false;
    }
}

/// <summary>Lowers a shaped network to its <see cref="Plan"/>.</summary>
internal static class Planner
{
    public static Plan Lower(ShapedNetwork net)
    {
        int count = net.Layers.Count;
        // Backward runs layers last to first; the first reader of a source met in that order writes its gradient,
        // every later one goes through the source's scratch buffer and adds.
        var written = new HashSet<int>();
        var scratch = new SortedSet<int>();
        var routes = new GradientRoute[count][];
        for (int i = count - 1; i >= 0; i--)
        {
            var l = net.Layers[i];
            routes[i] = new GradientRoute[l.Inputs.Count];
            for (int j = 0; j < l.Inputs.Count; j++)
            {
                int source = l.Inputs[j];
                bool via = !written.Add(source);
                if (via) scratch.Add(source);
                routes[i][j] = new GradientRoute(source, via);
            }
        }
        var ops = net.Layers.Select(l => new PlanOp(l.Index, l.Kind, l.Inputs, routes[l.Index].ToEquatableArray())).ToEquatableArray();

        var buffers = new List<PlanBuffer> { new(-1, BufferRole.Activation, net.InputSize), new(-1, BufferRole.Gradient, net.InputSize) };
        foreach (var l in net.Layers)
        {
            buffers.Add(new PlanBuffer(l.Index, BufferRole.Activation, l.OutSize));
            buffers.Add(new PlanBuffer(l.Index, BufferRole.Gradient, l.OutSize));
        }
        foreach (int s in scratch) buffers.Add(new PlanBuffer(s, BufferRole.GradientScratch, net.SizeOf(s)));

        var parameters = new List<TensorView>();
        var states = new List<TensorView>();
        foreach (var l in net.Layers)
        {
            if (l.HasParameters)
            {
                parameters.Add(new TensorView(l.Index, l.Name + ".weight", "Weight", l.WeightShape, l.WeightOffset, l.WeightCount) { DenseShape = l.DenseWeightShape });
                if (l.BiasCount > 0) parameters.Add(new TensorView(l.Index, l.Name + ".bias", "Bias", l.BiasShape, l.BiasOffset, l.BiasCount));
            }
            if (l.BufferCount > 0)
            {
                var shape = new EquatableArray<int>(new[] { l.OutC });
                states.Add(new TensorView(l.Index, l.Name + ".running_mean", "RunningMean", shape, l.BufferOffset, l.OutC));
                states.Add(new TensorView(l.Index, l.Name + ".running_var", "RunningVar", shape, l.BufferOffset + l.OutC, l.OutC));
            }
        }
        return new Plan(net, ops, buffers.ToEquatableArray(), parameters.ToEquatableArray(), states.ToEquatableArray());
    }
}
