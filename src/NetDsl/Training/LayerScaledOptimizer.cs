using System;
using System.Collections.Generic;
using System.Linq;

namespace NetDsl.Training;

/// <summary>Per-layer learning-rate multipliers and run-time freezing, for any optimizer.
/// <para>Every PyTorch update rule implemented here has the form p ← p − lr·u(state, gradient, p) with a state that does
/// not depend on lr (SGD with momentum, Adam, AdamW's decoupled decay, Adagrad, Adadelta, RMSprop). So scaling a layer's
/// learning rate by m is exactly scaling that layer's step by m: this wrapper keeps a copy of the parameters, lets the
/// inner optimizer step, then sets p ← p_old + m·(p_new − p_old) on each scaled layer's range. A multiplier of 0 (a frozen
/// layer) restores the old values bit for bit, so neither the gradient nor weight decay moves it; its gradients are also
/// zeroed before the step. (Scaling the gradient instead would be wrong for Adam, which is invariant to gradient scale,
/// and would leave weight decay active.)</para>
/// <para>Layers not named keep multiplier 1. Batch-norm running statistics are buffers, not parameters: a frozen batch-norm
/// layer still updates them in training-mode forward passes, as in PyTorch with requires_grad = False.</para></summary>
public sealed class LayerScaledOptimizer : Optimizer
{
    readonly (int Offset, int Length, float Scale)[] _ranges;
    readonly float[] _before;

    /// <param name="network">Whose <see cref="INetwork.Layers"/> give the parameter range of each named layer.</param>
    /// <param name="inner">The optimizer that takes the steps; its learning rate follows this wrapper's <see cref="Optimizer.LearningRate"/>.</param>
    /// <param name="layerScales">Layer name → learning-rate multiplier (finite, ≥ 0; 0 freezes the layer).</param>
    public LayerScaledOptimizer(INetwork network, Optimizer inner, IReadOnlyDictionary<string, float> layerScales)
        : base(inner is null ? 0f : inner.LearningRate)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(inner);
        ArgumentNullException.ThrowIfNull(layerScales);
        if (inner is LayerScaledOptimizer) throw new ArgumentException("inner is already a LayerScaledOptimizer; merge the multipliers into one", nameof(inner));
        Inner = inner;
        Scales = new Dictionary<string, float>(layerScales, StringComparer.Ordinal);
        _ranges = Resolve(network, layerScales);
        _before = new float[network.ParameterCount];
        ParameterCount = network.ParameterCount;
    }

    public Optimizer Inner { get; }
    /// <summary>The multipliers by layer name, as given.</summary>
    public IReadOnlyDictionary<string, float> Scales { get; }
    int ParameterCount { get; }

    /// <summary>Multipliers that freeze <paramref name="frozen"/> (0) and scale <paramref name="scaled"/>.</summary>
    public static Dictionary<string, float> Freeze(IEnumerable<string> frozen, IReadOnlyDictionary<string, float>? scaled = null)
    {
        ArgumentNullException.ThrowIfNull(frozen);
        var d = scaled is null ? new Dictionary<string, float>(StringComparer.Ordinal) : new Dictionary<string, float>(scaled, StringComparer.Ordinal);
        foreach (var name in frozen) d[name ?? throw new ArgumentException("a frozen layer name is null", nameof(frozen))] = 0f;
        return d;
    }

    /// <summary>The parameter ranges of the named layers with their multipliers; every name must be a layer with parameters.</summary>
    public static (int Offset, int Length, float Scale)[] Resolve(INetwork network, IReadOnlyDictionary<string, float> layerScales)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(layerScales);
        var layers = network.Layers.ToArray();
        var result = new List<(int, int, float)>();
        foreach (var (name, scale) in layerScales.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (!(scale >= 0) || float.IsInfinity(scale))
                throw new ArgumentOutOfRangeException(nameof(layerScales), scale, $"learning-rate multiplier of layer '{name}' must be finite and >= 0, got {scale}");
            var layer = Array.Find(layers, l => l.Name == name)
                ?? throw new ArgumentException($"no layer named '{name}'; the layers with parameters are {string.Join(", ", layers.Where(l => l.ParameterCount > 0).Select(l => l.Name))}", nameof(layerScales));
            if (layer.ParameterCount == 0)
                throw new ArgumentException($"layer '{name}' ({layer.Kind}) has no parameters to scale or freeze; the layers with parameters are {string.Join(", ", layers.Where(l => l.ParameterCount > 0).Select(l => l.Name))}", nameof(layerScales));
            if (layer.ParameterOffset < 0 || (long)layer.ParameterOffset + layer.ParameterCount > network.ParameterCount)
                throw new ArgumentException($"layer '{name}' spans parameters [{layer.ParameterOffset}, {(long)layer.ParameterOffset + layer.ParameterCount}), outside the network's {network.ParameterCount}", nameof(network));
            result.Add((layer.ParameterOffset, layer.ParameterCount, layer.Frozen ? 0f : scale));
        }
        // Layers declared with Frozen = true stay frozen whatever multiplier they were given.
        foreach (var layer in layers)
            if (layer.Frozen && layer.ParameterCount > 0 && !layerScales.ContainsKey(layer.Name))
                result.Add((layer.ParameterOffset, layer.ParameterCount, 0f));
        return result.ToArray();
    }

    /// <summary>The wrapper keeps no state of its own besides the step count; checkpoints hold the inner optimizer's.</summary>
    public override bool CanCheckpoint => Inner.CanCheckpoint;
    public override string Kind => "LayerScaled(" + Inner.Kind + ")";
    public override string Settings => Inner.Settings + "; scales " + string.Join(", ", Scales.OrderBy(kv => kv.Key, StringComparer.Ordinal).Select(kv => kv.Key + "=" + Text(kv.Value)));
    public override IReadOnlyList<string> StateNames => Inner.StateNames;
    internal override ref float[]? Slot(string name) => ref Inner.Slot(name);
    private protected override void OnStateSet(int stepCount) => Inner.StepCount = stepCount;

    public override void Step(Span<float> parameters, ReadOnlySpan<float> gradients)
    {
        if (parameters.Length != ParameterCount)
            throw new ArgumentException($"parameters has length {parameters.Length}, expected the network's {ParameterCount}", nameof(parameters));
        if (gradients.Length != parameters.Length)
            throw new ArgumentException($"gradients has length {gradients.Length}, expected the parameters' length {parameters.Length}", nameof(gradients));
        foreach (var (offset, length, _) in _ranges) parameters.Slice(offset, length).CopyTo(_before.AsSpan(offset, length));
        Inner.LearningRate = LearningRate;
        Inner.Step(parameters, gradients);
        StepCount++;
        foreach (var (offset, length, scale) in _ranges)
        {
            var p = parameters.Slice(offset, length);
            var old = _before.AsSpan(offset, length);
            if (scale == 0f) { old.CopyTo(p); continue; }
            if (scale == 1f) continue;
            for (int i = 0; i < p.Length; i++) p[i] = old[i] + scale * (p[i] - old[i]);
        }
    }

    /// <summary>Zeroes the gradients of frozen (multiplier 0) layers, e.g. before statistics or a step.</summary>
    public void ZeroFrozenGradients(Span<float> gradients)
    {
        foreach (var (offset, length, scale) in _ranges)
            if (scale == 0f) gradients.Slice(offset, length).Clear();
    }
}
