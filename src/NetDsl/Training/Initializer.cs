using System;
using System.Linq;
using NetDsl.Kernels;

namespace NetDsl.Training;

/// <summary>Run-time re-initialization of one layer by name, e.g. a new head for transfer learning.</summary>
public static class Initializer
{
    /// <summary>Re-initializes the parameters of layer <paramref name="layerName"/> deterministically from <paramref name="seed"/>
    /// (and the layer's name, so two layers with one seed differ): its <c>.weight</c> by <paramref name="scheme"/>, its <c>.bias</c> to 0.
    /// Fans follow PyTorch's <c>_calculate_fan_in_and_fan_out</c> on the weight's shape: fan_in = shape[1]·receptive field,
    /// fan_out = shape[0]·receptive field (receptive field = product of shape[2..]); Maxout's fan_out is its unit count, as at
    /// compile time. <see cref="Init.Auto"/> means He when the next layer is ReLU or LeakyReLU, else Glorot.
    /// Batch norm resets γ = 1, β = 0 and PReLU slopes to PyTorch's default 0.25, whatever the scheme.
    /// Returns the scheme used.</summary>
    public static Init Reinitialize(INetwork network, string layerName, Init scheme, int seed)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(layerName);
        if (scheme is < Init.Auto or > Init.StandardNormal)
            throw new ArgumentOutOfRangeException(nameof(scheme), scheme, "scheme must be a defined NetDsl.Init value");
        var layers = network.Layers;
        int index = -1;
        for (int i = 0; i < layers.Length; i++) if (layers[i].Name == layerName) { index = i; break; }
        string withParameters = string.Join(", ", layers.ToArray().Where(l => l.ParameterCount > 0).Select(l => l.Name));
        if (index < 0) throw new ArgumentException($"no layer named '{layerName}'; the layers with parameters are {withParameters}", nameof(layerName));
        var layer = layers[index];
        if (layer.ParameterCount == 0)
            throw new ArgumentException($"layer '{layerName}' ({layer.Kind}) has no parameters; the layers with parameters are {withParameters}", nameof(layerName));

        ParameterTensor? weight = null, bias = null;
        foreach (var t in network.ParameterTensors)
        {
            if (t.Name == layerName + ".weight") weight = t;
            else if (t.Name == layerName + ".bias") bias = t;
        }
        var p = network.Parameters;
        if (weight is null) throw new ArgumentException($"layer '{layerName}' has no tensor '{layerName}.weight'", nameof(layerName));
        var w = p.Slice(weight.Offset, weight.Length);
        var b = bias is null ? Span<float>.Empty : p.Slice(bias.Offset, bias.Length);

        if (layer.Kind == LayerKinds.BatchNorm) { w.Fill(1f); b.Clear(); return scheme; }
        if (layer.Kind == LayerKinds.PReLU) { w.Fill(0.25f); return scheme; }

        var (fanIn, fanOut) = Fans(weight.Shape);
        if (layer.Kind == LayerKinds.Maxout) fanOut = layer.Channels;
        if (scheme == Init.Auto)
        {
            string next = index + 1 < layers.Length ? layers[index + 1].Kind : "";
            scheme = next is "ReLU" or "LeakyReLU" ? Init.He : Init.Glorot;
        }
        var rng = new Rng(0x52654E6974UL ^ (ulong)(uint)seed ^ Hash(layerName) << 1);
        WeightInit.Fill(w, scheme, fanIn, fanOut, ref rng);
        b.Clear();
        return scheme;
    }

    /// <summary>PyTorch's fans of a weight shape (at least 2 dimensions).</summary>
    public static (int FanIn, int FanOut) Fans(ReadOnlySpan<int> shape)
    {
        if (shape.Length < 2) throw new ArgumentException($"a weight needs at least 2 dimensions to have fans, got [{string.Join(", ", shape.ToArray())}]", nameof(shape));
        long receptive = 1;
        for (int i = 2; i < shape.Length; i++) receptive *= shape[i];
        return ((int)(shape[1] * receptive), (int)(shape[0] * receptive));
    }

    static ulong Hash(string s)
    {
        ulong h = 0xCBF29CE484222325UL; // FNV-1a: fixed by this code, unlike string.GetHashCode
        foreach (char c in s) { h ^= c; h *= 0x100000001B3UL; }
        return h;
    }
}
