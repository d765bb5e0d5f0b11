using System;
using NetDsl.Data;

namespace NetDsl.Tools;

/// <summary>"CNN codes" (the notes' transfer-learning features): the output of any named layer for a whole data set, read
/// from <see cref="INetwork.LayerOutput"/> after inference-mode forward passes of up to <see cref="INetwork.MaxBatch"/> images.</summary>
public static class CnnCodes
{
    /// <summary>The index in <see cref="INetwork.Layers"/> of the layer named <paramref name="layerName"/>; the exception lists the names.</summary>
    public static int IndexOf(INetwork network, string layerName)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(layerName);
        var layers = network.Layers;
        for (int i = 0; i < layers.Length; i++)
            if (layers[i].Name == layerName) return i;
        var names = new string[layers.Length];
        for (int i = 0; i < layers.Length; i++) names[i] = layers[i].Name;
        throw new ArgumentException($"the network has no layer named '{layerName}'; its layers: {string.Join(", ", names)}", nameof(layerName));
    }

    /// <summary>The output of layer <paramref name="layerName"/> for every image of <paramref name="images"/>: Count × (that
    /// layer's C·H·W) floats, image by image.</summary>
    public static float[] Extract(INetwork network, LabeledImages images, string layerName)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.SampleSize != network.InputSize)
            throw new ArgumentException($"images have {images.SampleSize} floats each ({images.Channels}×{images.Height}×{images.Width}), the network takes InputSize = {network.InputSize}", nameof(images));
        return Extract(network, images.Pixels, images.Count, layerName);
    }

    /// <summary>As <see cref="Extract(INetwork, LabeledImages, string)"/> for <paramref name="count"/> images in NCHW order.</summary>
    public static float[] Extract(INetwork network, ReadOnlySpan<float> inputs, int count, string layerName)
    {
        int layer = IndexOf(network, layerName);
        if (count < 0 || (long)count * network.InputSize != inputs.Length)
            throw new ArgumentException($"inputs has {inputs.Length} floats, expected count {count} × InputSize {network.InputSize}", nameof(inputs));
        int size = network.Layers[layer].OutputSize;
        var codes = new float[(long)count * size];
        int batch = Math.Max(1, network.MaxBatch);
        for (int start = 0; start < count; start += batch)
        {
            int n = Math.Min(batch, count - start);
            network.Forward(inputs.Slice(start * network.InputSize, n * network.InputSize), n);
            network.LayerOutput(layer).Slice(0, n * size).CopyTo(codes.AsSpan(start * size, n * size));
        }
        return codes;
    }
}
