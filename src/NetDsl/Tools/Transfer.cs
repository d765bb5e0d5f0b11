using System;
using System.IO;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Data;
using NetDsl.IO;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>What <see cref="Transfer.LoadMatching"/> did.</summary>
/// <param name="Loaded">Network tensors (parameters and buffers) copied from the file: name and shape matched.</param>
/// <param name="Skipped">File tensors not used, each as "name [shape]: reason".</param>
/// <param name="Missing">Network tensors the file did not provide (absent or of another shape): left as they were, or reinitialized.</param>
/// <param name="ReinitializedLayers">Layers re-initialized because some of their tensors were missing (empty unless asked for).</param>
public sealed record LoadReport(IReadOnlyList<string> Loaded, IReadOnlyList<string> Skipped, IReadOnlyList<string> Missing, IReadOnlyList<string> ReinitializedLayers)
{
    public override string ToString() =>
        $"loaded {Loaded.Count}: {string.Join(", ", Loaded)}; skipped {Skipped.Count}: {string.Join("; ", Skipped)}; " +
        $"missing {Missing.Count}: {string.Join(", ", Missing)}; reinitialized: {string.Join(", ", ReinitializedLayers)}";
}

/// <summary>Transfer learning as the notes describe it: load the pretrained layers that fit, reinitialize the rest,
/// freeze what should stay, fine-tune at a tenth of the learning rate, or pre-train layer by layer.</summary>
public static class Transfer
{
    /// <summary>Loads from a safetensors file every tensor whose name and shape match one of <paramref name="network"/>'s parameters
    /// or buffers, and reports the rest (unlike <see cref="SafeTensors.Load(string, INetwork, string?)"/>, which refuses any difference).
    /// With <paramref name="reinitialize"/> set, each layer with a missing parameter tensor is first re-initialized by that scheme
    /// (<see cref="Initializer.Reinitialize"/>, seeded by <paramref name="seed"/>) and its missing batch-norm running statistics
    /// reset to mean 0, variance 1; matching tensors are then copied over it.</summary>
    public static LoadReport LoadMatching(string path, INetwork network, Init? reinitialize = null, int seed = 1)
    {
        ArgumentNullException.ThrowIfNull(path);
        ArgumentNullException.ThrowIfNull(network);
        var file = SafeTensors.Read(path);
        foreach (var (name, (_, data)) in file)
            if (Training.NonFiniteGuard.IndexOfNonFinite(data) is var at and >= 0)
                throw new InvalidDataException($"{path}: '{name}'[{at}] is {data[at]} (NaN/∞ weights are refused)");
        var loaded = new List<string>();
        var missing = new List<string>();
        var used = new HashSet<string>(StringComparer.Ordinal);
        var skipped = new List<string>();
        var copies = new List<(ParameterTensor Tensor, bool Buffer)>();
        var shapes = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tensors, isBuffer) in new[] { (network.ParameterTensors.ToArray(), false), (network.BufferTensors.ToArray(), true) })
            foreach (var t in tensors)
            {
                shapes[t.Name] = t.ShapeText;
                if (file.TryGetValue(t.Name, out var f) && f.Shape.AsSpan().SequenceEqual(t.Shape) && f.Data.Length == t.Length)
                {
                    copies.Add((t, isBuffer));
                    used.Add(t.Name);
                    loaded.Add(t.Name);
                }
                else missing.Add(t.Name);
            }
        foreach (var (name, (shape, _)) in file.OrderBy(kv => kv.Key, StringComparer.Ordinal))
        {
            if (used.Contains(name)) continue;
            string text = "[" + string.Join(", ", shape) + "]";
            skipped.Add(shapes.TryGetValue(name, out var expected)
                ? $"{name} {text}: the network's '{name}' is {expected}"
                : $"{name} {text}: not in the network");
        }

        var reinitialized = new List<string>();
        if (reinitialize is { } scheme)
        {
            var missingSet = new HashSet<string>(missing, StringComparer.Ordinal);
            foreach (var layer in network.Layers.ToArray())
            {
                if (layer.ParameterCount == 0) continue;
                bool any = false;
                foreach (var t in network.ParameterTensors)
                    if (t.Name.StartsWith(layer.Name + ".", StringComparison.Ordinal) && missingSet.Contains(t.Name)) any = true;
                if (!any) continue;
                Initializer.Reinitialize(network, layer.Name, scheme, seed);
                foreach (var t in network.BufferTensors)
                    if (missingSet.Contains(t.Name) && t.Name.StartsWith(layer.Name + ".", StringComparison.Ordinal))
                        network.Buffers.Slice(t.Offset, t.Length).Fill(t.Name.EndsWith(".running_var", StringComparison.Ordinal) ? 1f : 0f);
                reinitialized.Add(layer.Name);
            }
        }
        foreach (var (t, isBuffer) in copies)
            file[t.Name].Data.CopyTo((isBuffer ? network.Buffers : network.Parameters).Slice(t.Offset, t.Length));
        return new LoadReport(loaded, skipped, missing, reinitialized);
    }

    /// <summary>The layers with parameters other than <paramref name="trainable"/>: what to freeze to train only those.</summary>
    public static string[] AllLayersExcept(INetwork network, params string[] trainable)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(trainable);
        var layers = network.Layers.ToArray();
        foreach (var name in trainable)
            if (!layers.Any(l => l.Name == name && l.ParameterCount > 0))
                throw new ArgumentException($"'{name}' is not a layer with parameters; those are {string.Join(", ", layers.Where(l => l.ParameterCount > 0).Select(l => l.Name))}", nameof(trainable));
        return layers.Where(l => l.ParameterCount > 0 && !trainable.Contains(l.Name)).Select(l => l.Name).ToArray();
    }

    /// <summary>Learning-rate multipliers for fine-tuning: <paramref name="factor"/> (the notes' 1/10) on every layer with parameters
    /// except <paramref name="newLayers"/>, which train at the full rate.</summary>
    public static Dictionary<string, float> FineTuneRates(INetwork network, float factor = 0.1f, params string[] newLayers) =>
        AllLayersExcept(network, newLayers).ToDictionary(n => n, _ => factor, StringComparer.Ordinal);

    /// <summary>Layer-wise supervised pre-training: for each stage, trains with only that stage's layers unfrozen
    /// (typically one hidden layer plus the output layer), with a fresh optimizer from <paramref name="optimizerFactory"/>.
    /// Returns each stage's epoch reports.</summary>
    public static IReadOnlyList<IReadOnlyList<EpochReport>> LayerwisePretrain(INetwork network, LabeledImages train, LabeledImages? test, Loss loss,
        Func<Optimizer> optimizerFactory, TrainingOptions options, IReadOnlyList<string[]> stages)
    {
        ArgumentNullException.ThrowIfNull(optimizerFactory);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(stages);
        if (options.FrozenLayers is { Count: > 0 } || options.LayerLearningRates is { Count: > 0 })
            throw new ArgumentException("LayerwisePretrain sets FrozenLayers itself; leave FrozenLayers and LayerLearningRates unset", nameof(options));
        var results = new List<IReadOnlyList<EpochReport>>();
        for (int s = 0; s < stages.Count; s++)
        {
            var frozen = AllLayersExcept(network, stages[s] ?? throw new ArgumentException($"stage {s} is null", nameof(stages)));
            var stageOptions = new TrainingOptions
            {
                Epochs = options.Epochs, BatchSize = options.BatchSize, Seed = options.Seed + s, Shuffle = options.Shuffle,
                OnEpoch = options.OnEpoch, LearningRateForEpoch = options.LearningRateForEpoch, Schedule = options.Schedule,
                Augmentation = options.Augmentation, OnStep = options.OnStep, FrozenLayers = frozen,
                Validation = options.Validation, EarlyStopping = options.EarlyStopping,
            };
            results.Add(Trainer.Fit(network, train, test, loss, optimizerFactory(), stageOptions));
        }
        return results;
    }
}
