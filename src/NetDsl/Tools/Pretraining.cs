using System;
using System.Collections.Generic;
using System.Linq;
using NetDsl.Data;
using NetDsl.Training;

namespace NetDsl.Tools;

/// <summary>What one stage of <see cref="Pretraining.GreedyAutoencoders"/> or <see cref="Pretraining.GrowSupervised"/> did.</summary>
/// <param name="Stage">Counted from 0.</param>
/// <param name="Network">The stage network's type name.</param>
/// <param name="Layers">The stage network's layers that are also the classifier's (the encoder, or the grown trunk), whose
/// tensors were copied into the classifier after the stage.</param>
/// <param name="TemporaryLayers">Its layers with parameters that are not the classifier's (the decoder, or the temporary head).</param>
/// <param name="FrozenLayers">Layers of the classifier's that the stage kept fixed (trained in earlier stages).</param>
/// <param name="Reports">The stage's epoch reports (for an autoencoder, the losses are reconstruction losses).</param>
public sealed record PretrainingStage(int Stage, string Network, IReadOnlyList<string> Layers, IReadOnlyList<string> TemporaryLayers,
    IReadOnlyList<string> FrozenLayers, IReadOnlyList<EpochReport> Reports)
{
    public override string ToString() =>
        $"stage {Stage} ({Network}): trained {string.Join(", ", Layers.Except(FrozenLayers))}" +
        (FrozenLayers.Count > 0 ? $" on frozen {string.Join(", ", FrozenLayers)}" : "") +
        (TemporaryLayers.Count > 0 ? $" with temporary {string.Join(", ", TemporaryLayers)}" : "") +
        (Reports.Count > 0 ? $"; last epoch train loss {Reports[^1].TrainLoss:G4}" : "");
}

/// <summary>Layer-wise pre-training of a classifier, the lecture notes' ideas #2 and #3: each stage is its own declared
/// network whose layers named like the classifier's (same kind, hyperparameters and input shape) are the part being
/// pre-trained; after each stage their tensors are copied into the classifier by name. Then fine-tune the classifier with
/// <see cref="Trainer.Fit(INetwork, LabeledImages, LabeledImages, Loss, Optimizer, TrainingOptions)"/>.</summary>
/// <remarks>The stages' <see cref="TrainingOptions"/> are the caller's, with the seed <c>Seed + stage</c>; the per-layer options
/// (<see cref="TrainingOptions.FrozenLayers"/>, <see cref="TrainingOptions.LayerLearningRates"/>,
/// <see cref="TrainingOptions.LayerRegularization"/>) may name layers of any stage network and apply in the stages that have
/// those layers. Checkpoints and resuming belong to one fit and are refused.</remarks>
public static class Pretraining
{
    /// <summary>Greedy unsupervised layer-wise pre-training with autoencoders. Stage k trains <paramref name="autoencoders"/>[k]
    /// to reconstruct its input (by default with <see cref="MeanSquaredError"/>): its encoder is its layers named like the
    /// classifier's (e.g. <c>[Conv2D(32, 3, Padding = 1, Name = "conv2")] [ReLU] [MaxPool2D(2)]</c>), its decoder the rest (e.g.
    /// <c>[ConvTranspose2D(16, 2, Stride = 2)]</c>), and its input the classifier's output feeding the encoder's first layer,
    /// computed once per stage in inference mode with the weights the earlier stages copied in (so they are frozen). The
    /// autoencoder's input and output must have that shape. Stage inputs other than the images are held in memory:
    /// N × that layer's output size floats.</summary>
    /// <param name="classifier">Receives the encoders' tensors.</param>
    /// <param name="autoencoders">One network per stage, in order.</param>
    /// <param name="images">Unlabelled images, N·<c>classifier.InputSize</c> floats (NCHW).</param>
    /// <param name="validation">Held-out images for the reports' test reconstruction loss, or null.</param>
    /// <param name="optimizerFactory">A fresh optimizer for each stage.</param>
    /// <param name="options">The regression fit's options for each stage.</param>
    /// <param name="reconstructionLoss">Default <see cref="MeanSquaredError"/>.</param>
    public static IReadOnlyList<PretrainingStage> GreedyAutoencoders(INetwork classifier, IReadOnlyList<INetwork> autoencoders, float[] images,
        float[]? validation, Func<Optimizer> optimizerFactory, TrainingOptions options, Loss? reconstructionLoss = null)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(autoencoders);
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(optimizerFactory);
        ArgumentNullException.ThrowIfNull(options);
        RefuseSingleFitOptions(options, nameof(GreedyAutoencoders));
        if (autoencoders.Count == 0) throw new ArgumentException("no autoencoder stages given", nameof(autoencoders));
        CheckImages(classifier, images, nameof(images));
        if (validation is not null) CheckImages(classifier, validation, nameof(validation));
        var networks = autoencoders.Select((n, k) => n ?? throw new ArgumentException($"autoencoder {k} is null", nameof(autoencoders))).ToArray();
        CheckLayerOptions(classifier, networks, options);
        var loss = reconstructionLoss ?? new MeanSquaredError();
        var layers = classifier.Layers.ToArray();
        var results = new List<PretrainingStage>();
        for (int k = 0; k < networks.Length; k++)
        {
            var ae = networks[k];
            string name = ae.GetType().Name;
            var (shared, temporary) = SharedLayers(classifier, ae, $"autoencoder {k} ({name})");
            if (shared.Count == 0)
                throw new ArgumentException($"autoencoder {k} ({name}) has no encoder: none of its layers with parameters ({string.Join(", ", temporary)}) " +
                    $"is named like one of the classifier's ({string.Join(", ", layers.Where(l => l.ParameterCount > 0).Select(l => l.Name))})", nameof(autoencoders));
            var first = Array.FindIndex(layers, l => l.Name == shared[0]);
            var reads = layers[first].Inputs;
            int source = reads.Length > 0 ? reads[0] : -1;
            var (c, h, w) = source < 0 ? (layers[first].InputChannels, layers[first].InputHeight, layers[first].InputWidth)
                : (layers[source].Channels, layers[source].Height, layers[source].Width);
            var aeIn = ae.Layers[0];
            if (aeIn.InputChannels != c || aeIn.InputHeight != h || aeIn.InputWidth != w)
                throw new ArgumentException($"autoencoder {k} ({name}) takes {aeIn.InputChannels}×{aeIn.InputHeight}×{aeIn.InputWidth}, but its encoder's first layer " +
                    $"'{shared[0]}' reads {(source < 0 ? "the input" : $"'{layers[source].Name}'")} in the classifier, which is {c}×{h}×{w}", nameof(autoencoders));
            if (ae.OutputSize != ae.InputSize)
            {
                var last = ae.Layers[^1];
                throw new ArgumentException($"autoencoder {k} ({name}) must reconstruct its {c}×{h}×{w} input, but its output is {last.Channels}×{last.Height}×{last.Width}", nameof(autoencoders));
            }

            var stageImages = source < 0 ? images : LayerOutputs(classifier, images, source);
            var stageValidation = validation is null ? null : source < 0 ? validation : LayerOutputs(classifier, validation, source);
            // The reconstruction target is the input itself: one array serves as both.
            var train = new RegressionImages(stageImages, stageImages, c, h, w, ae.InputSize);
            var test = stageValidation is null ? null : new RegressionImages(stageValidation, stageValidation, c, h, w, ae.InputSize);
            var reports = Trainer.Fit(ae, train, test, loss, optimizerFactory(), StageOptions(options, k, ae, []));
            Transfer.CopyLayers(ae, classifier, shared);
            results.Add(new PretrainingStage(k, name, shared, temporary, [], reports));
        }
        return results;
    }

    /// <summary>Supervised layer-wise pre-training that grows the classifier stage by stage: <paramref name="stages"/>[k] is the
    /// classifier's first layers up to its k-th stage (named like the classifier's) followed by a temporary head (layers that
    /// are not the classifier's, e.g. <c>[Dense(10, Name = "head1")]</c>). Each stage starts from the layers the earlier stages
    /// trained (copied in) and, with <paramref name="freezeEarlierStages"/> (the notes: "train hidden layer 1, then fix its
    /// parameters"), keeps them fixed; its new layers and its head are trained on the labels. After each stage its classifier
    /// layers are copied into the classifier; the heads are discarded.</summary>
    public static IReadOnlyList<PretrainingStage> GrowSupervised(INetwork classifier, IReadOnlyList<INetwork> stages, LabeledImages train, LabeledImages? test,
        Loss loss, Func<Optimizer> optimizerFactory, TrainingOptions options, bool freezeEarlierStages = true)
    {
        ArgumentNullException.ThrowIfNull(classifier);
        ArgumentNullException.ThrowIfNull(stages);
        ArgumentNullException.ThrowIfNull(train);
        ArgumentNullException.ThrowIfNull(loss);
        ArgumentNullException.ThrowIfNull(optimizerFactory);
        ArgumentNullException.ThrowIfNull(options);
        RefuseSingleFitOptions(options, nameof(GrowSupervised));
        if (stages.Count == 0) throw new ArgumentException("no stages given", nameof(stages));
        var networks = stages.Select((n, k) => n ?? throw new ArgumentException($"stage {k} is null", nameof(stages))).ToArray();
        CheckLayerOptions(classifier, networks, options);
        var trained = new List<string>();
        var results = new List<PretrainingStage>();
        for (int k = 0; k < networks.Length; k++)
        {
            var net = networks[k];
            string name = net.GetType().Name;
            var (shared, head) = SharedLayers(classifier, net, $"stage {k} ({name})");
            var lost = trained.Where(t => !shared.Contains(t)).ToArray();
            if (lost.Length > 0)
                throw new ArgumentException($"stage {k} ({name}) lacks {string.Join(", ", lost.Select(l => $"'{l}'"))}, trained by an earlier stage: each stage grows the one before", nameof(stages));
            var added = shared.Where(s => !trained.Contains(s)).ToArray();
            if (added.Length == 0)
                throw new ArgumentException($"stage {k} ({name}) adds no layer of the classifier's to those trained before ({string.Join(", ", trained)})", nameof(stages));
            if (trained.Count > 0) Transfer.CopyLayers(classifier, net, trained);
            string[] frozen = freezeEarlierStages ? trained.ToArray() : [];
            var reports = Trainer.Fit(net, train, test, loss, optimizerFactory(), StageOptions(options, k, net, frozen));
            Transfer.CopyLayers(net, classifier, shared);
            results.Add(new PretrainingStage(k, name, shared, head, frozen, reports));
            trained.AddRange(added);
        }
        return results;
    }

    /// <summary>Refuses the options that belong to a single fit (a multi-stage tool runs several).</summary>
    internal static void RefuseSingleFitOptions(TrainingOptions options, string tool)
    {
        if (options.Checkpoints is not null || options.ResumeFrom is not null)
            throw new ArgumentException($"{tool} runs one fit per stage; Checkpoints and ResumeFrom belong to a single fit and are not supported here " +
                "(leave them null; checkpoint the fine-tuning fit instead)", nameof(options));
    }

    /// <summary>The layers with parameters of <paramref name="stage"/> that are also the classifier's (by name, in the stage's
    /// order), checked to be the same layer (kind, hyperparameters, input and output shape); and its other layers with parameters.</summary>
    static (List<string> Shared, List<string> Own) SharedLayers(INetwork classifier, INetwork stage, string what)
    {
        var mine = classifier.Layers.ToArray();
        var shared = new List<string>();
        var own = new List<string>();
        foreach (var layer in stage.Layers)
        {
            if (layer.ParameterCount == 0) continue;
            var match = Array.Find(mine, l => l.Name == layer.Name);
            if (match is null || match.ParameterCount == 0) { own.Add(layer.Name); continue; }
            string Shape(LayerInfo l) => $"{l.Kind} {l.InputChannels}×{l.InputHeight}×{l.InputWidth} → {l.Channels}×{l.Height}×{l.Width}";
            if (match.Kind != layer.Kind || match.Arguments != layer.Arguments || match.ParameterCount != layer.ParameterCount
                || match.InputChannels != layer.InputChannels || match.InputHeight != layer.InputHeight || match.InputWidth != layer.InputWidth
                || match.Channels != layer.Channels || match.Height != layer.Height || match.Width != layer.Width)
                throw new ArgumentException($"{what}: its layer '{layer.Name}' ({Shape(layer)}, {layer.Arguments}) is named like the classifier's " +
                    $"'{match.Name}' ({Shape(match)}, {match.Arguments}) but is not the same layer; rename it if it is not meant to be");
            shared.Add(layer.Name);
        }
        return (shared, own);
    }

    /// <summary>The caller's options for stage <paramref name="k"/>: seed + k, the per-layer options restricted to the layers of
    /// <paramref name="network"/>, and <paramref name="frozen"/> added to the frozen layers.</summary>
    static TrainingOptions StageOptions(TrainingOptions options, int k, INetwork network, IReadOnlyCollection<string> frozen)
    {
        var names = new HashSet<string>(network.Layers.ToArray().Where(l => l.ParameterCount > 0).Select(l => l.Name), StringComparer.Ordinal);
        var allFrozen = new HashSet<string>(frozen, StringComparer.Ordinal);
        foreach (var f in options.FrozenLayers ?? []) if (names.Contains(f)) allFrozen.Add(f);
        var rates = options.LayerLearningRates?.Where(kv => names.Contains(kv.Key) && !allFrozen.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        var regularization = options.LayerRegularization?.Where(kv => names.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
        return options.ForStage(options.Seed + k, allFrozen.ToArray(), rates, regularization);
    }

    /// <summary>Every name in the per-layer options must be a layer with parameters of the classifier or of a stage network
    /// (a misspelt name would otherwise apply nowhere, silently).</summary>
    static void CheckLayerOptions(INetwork classifier, INetwork[] stages, TrainingOptions options)
    {
        var known = new HashSet<string>(StringComparer.Ordinal);
        foreach (var net in stages.Prepend(classifier))
            foreach (var l in net.Layers) if (l.ParameterCount > 0) known.Add(l.Name);
        void Check(IEnumerable<string>? names, string option)
        {
            foreach (var n in names ?? [])
                if (!known.Contains(n))
                    throw new ArgumentException($"options.{option} names '{n}', which is not a layer with parameters of the classifier or of any stage network " +
                        $"({string.Join(", ", known.Order(StringComparer.Ordinal))})", nameof(options));
        }
        Check(options.FrozenLayers, nameof(TrainingOptions.FrozenLayers));
        Check(options.LayerLearningRates?.Keys, nameof(TrainingOptions.LayerLearningRates));
        Check(options.LayerRegularization?.Keys, nameof(TrainingOptions.LayerRegularization));
    }

    static void CheckImages(INetwork classifier, float[] images, string name)
    {
        if (images.Length == 0 || images.Length % classifier.InputSize != 0)
            throw new ArgumentException($"{name} has {images.Length} floats, expected a positive multiple of the classifier's input size {classifier.InputSize}", name);
    }

    /// <summary>The output of classifier layer <paramref name="layer"/> for every image, in inference mode.</summary>
    static float[] LayerOutputs(INetwork classifier, float[] images, int layer)
    {
        int size = classifier.Layers[layer].OutputSize, count = images.Length / classifier.InputSize, batch = classifier.MaxBatch;
        var result = new float[(long)count * size];
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            classifier.Forward(images.AsSpan(start * classifier.InputSize, n * classifier.InputSize), n);
            classifier.LayerOutput(layer).CopyTo(result.AsSpan(start * size, n * size));
        }
        return result;
    }
}
