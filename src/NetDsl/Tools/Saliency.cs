using System;

namespace NetDsl.Tools;

/// <summary>How <see cref="Saliency"/> sends a gradient back through a ReLU whose output is y and whose upstream gradient is g.</summary>
public enum ReluBackward
{
    /// <summary>Ordinary backpropagation: g·[y &gt; 0] (the saliency map of Simonyan et al.).</summary>
    Gradient,
    /// <summary>Deconvnet (Zeiler and Fergus): g·[g &gt; 0], ignoring which units were active in the forward pass.</summary>
    Deconvnet,
    /// <summary>Guided backpropagation (Springenberg et al.): g·[y &gt; 0]·[g &gt; 0].</summary>
    Guided,
}

/// <summary>Saliency maps of one output of a ReLU network with respect to its input: the ordinary gradient, deconvnet or guided
/// backpropagation. The generated Backward is one fused pass with no hook at the ReLUs, so this walks the layers at run time
/// from their recorded outputs (<see cref="INetwork.LayerOutput"/>) and parameters, for chain networks of Conv2D (any stride,
/// padding, dilation, groups), MaxPool2D, AvgPool2D, Dense, Flatten, ReLU and Dropout (identity at inference) layers;
/// other kinds are refused by name. With <see cref="ReluBackward.Gradient"/> it equals the generated
/// <see cref="INetwork.InputGradient"/> (a test checks this).</summary>
public static class Saliency
{
    /// <summary>d(output <paramref name="unit"/>)/d(input) of one sample under <paramref name="mode"/>, into <paramref name="map"/>
    /// (InputSize floats).</summary>
    public static void Compute(INetwork network, ReadOnlySpan<float> input, int unit, ReluBackward mode, Span<float> map)
    {
        ArgumentNullException.ThrowIfNull(network);
        if (input.Length != network.InputSize) throw new ArgumentException($"input has length {input.Length}, expected InputSize = {network.InputSize}", nameof(input));
        if ((uint)unit >= (uint)network.OutputSize) throw new ArgumentOutOfRangeException(nameof(unit), unit, $"unit must be in 0..{network.OutputSize - 1}");
        if (map.Length != network.InputSize) throw new ArgumentException($"map has length {map.Length}, expected InputSize = {network.InputSize}", nameof(map));
        CheckWalkable(network, network.Layers.Length - 1, "saliency maps");
        network.Forward(input, 1);
        float[] grad = new float[network.OutputSize];
        grad[unit] = 1f;
        Backpropagate(network, input, network.Layers.Length - 1, grad, mode, map);
    }

    /// <summary>Checks that layers 0..<paramref name="last"/> form a chain of kinds the walk supports; throws naming the first that does not.</summary>
    internal static void CheckWalkable(INetwork network, int last, string what)
    {
        var layers = network.Layers;
        for (int i = 0; i <= last; i++)
        {
            var l = layers[i];
            if (l.Inputs.Length != 1 || l.Inputs[0] != i - 1)
                throw new NotSupportedException($"layer '{l.Name}' ({l.Kind}) does not read the previous layer alone; {what} walk chain networks only");
            if (l.Kind is not (LayerKinds.Conv2D or LayerKinds.MaxPool2D or LayerKinds.AvgPool2D or LayerKinds.Dense or LayerKinds.Flatten or LayerKinds.ReLU or LayerKinds.Dropout))
                throw new NotSupportedException($"layer '{l.Name}' is a {l.Kind}; {what} support Conv2D, MaxPool2D, AvgPool2D, Dense, Flatten, ReLU and Dropout");
        }
    }

    /// <summary>Sends <paramref name="grad"/> = dL/d(output of layer <paramref name="from"/>) back to the input through layers
    /// <paramref name="from"/>..0, from the outputs the last one-sample <see cref="INetwork.Forward"/> of <paramref name="input"/>
    /// recorded, into <paramref name="map"/> (InputSize floats). The layers must pass <see cref="CheckWalkable"/>.</summary>
    internal static void Backpropagate(INetwork network, ReadOnlySpan<float> input, int from, float[] grad, ReluBackward mode, Span<float> map)
    {
        var layers = network.Layers;
        var parameters = network.Parameters;
        for (int i = from; i >= 0; i--)
        {
            var l = layers[i];
            var x = i == 0 ? input : network.LayerOutput(i - 1).Slice(0, l.InputChannels * l.InputHeight * l.InputWidth);
            var y = network.LayerOutput(i).Slice(0, l.OutputSize);
            var dx = new float[l.InputChannels * l.InputHeight * l.InputWidth];
            switch (l.Kind)
            {
                case LayerKinds.ReLU:
                    for (int k = 0; k < dx.Length; k++)
                    {
                        float g = grad[k];
                        dx[k] = mode switch
                        {
                            ReluBackward.Gradient => y[k] > 0 ? g : 0,
                            ReluBackward.Deconvnet => g > 0 ? g : 0,
                            _ => y[k] > 0 && g > 0 ? g : 0,
                        };
                    }
                    break;
                case LayerKinds.Flatten or LayerKinds.Dropout:
                    grad.CopyTo(dx, 0);
                    break;
                case LayerKinds.Dense:
                {
                    var w = parameters.Slice(l.ParameterOffset, l.Channels * dx.Length);
                    for (int o = 0; o < l.Channels; o++)
                        for (int k = 0; k < dx.Length; k++) dx[k] += w[o * dx.Length + k] * grad[o];
                    break;
                }
                case LayerKinds.Conv2D:
                    ConvBackward(l, parameters.Slice(l.ParameterOffset), grad, dx);
                    break;
                default:
                    PoolBackward(l, x, grad, dx);
                    break;
            }
            grad = dx;
        }
        grad.CopyTo(map);
    }

    static void ConvBackward(LayerInfo l, ReadOnlySpan<float> w, float[] g, float[] dx)
    {
        var a = l.Arguments;
        int groups = a.Groups, inPerGroup = l.InputChannels / groups, outPerGroup = l.Channels / groups;
        int kh = a.KernelHeight, kw = a.KernelWidth;
        for (int o = 0; o < l.Channels; o++)
        {
            int group = o / outPerGroup;
            for (int oy = 0; oy < l.Height; oy++)
                for (int ox = 0; ox < l.Width; ox++)
                {
                    float go = g[(o * l.Height + oy) * l.Width + ox];
                    if (go == 0) continue;
                    for (int ci = 0; ci < inPerGroup; ci++)
                    {
                        int c = group * inPerGroup + ci;
                        for (int ky = 0; ky < kh; ky++)
                        {
                            int iy = oy * a.StrideHeight - a.PadTop + ky * a.DilationHeight;
                            if ((uint)iy >= (uint)l.InputHeight) continue;
                            for (int kx = 0; kx < kw; kx++)
                            {
                                int ix = ox * a.StrideWidth - a.PadLeft + kx * a.DilationWidth;
                                if ((uint)ix >= (uint)l.InputWidth) continue;
                                dx[(c * l.InputHeight + iy) * l.InputWidth + ix] += w[((o * inPerGroup + ci) * kh + ky) * kw + kx] * go;
                            }
                        }
                    }
                }
        }
    }

    static void PoolBackward(LayerInfo l, ReadOnlySpan<float> x, float[] g, float[] dx)
    {
        var a = l.Arguments;
        bool max = l.Kind == LayerKinds.MaxPool2D;
        for (int c = 0; c < l.Channels; c++)
            for (int oy = 0; oy < l.Height; oy++)
                for (int ox = 0; ox < l.Width; ox++)
                {
                    float go = g[(c * l.Height + oy) * l.Width + ox];
                    int y0 = oy * a.StrideHeight - a.PadTop, x0 = ox * a.StrideWidth - a.PadLeft;
                    if (max)
                    {
                        // The first maximum of the window, padding being −∞ (PyTorch's tie rule).
                        int best = -1;
                        for (int ky = 0; ky < a.KernelHeight; ky++)
                            for (int kx = 0; kx < a.KernelWidth; kx++)
                            {
                                int iy = y0 + ky, ix = x0 + kx;
                                if ((uint)iy >= (uint)l.InputHeight || (uint)ix >= (uint)l.InputWidth) continue;
                                int at = (c * l.InputHeight + iy) * l.InputWidth + ix;
                                if (best < 0 || x[at] > x[best]) best = at;
                            }
                        if (best >= 0) dx[best] += go;
                        continue;
                    }
                    // Average: the divisor counts the padding (CountIncludePad, clipped to the padded input) or only the inside.
                    int inside = 0, padded = 0;
                    for (int ky = 0; ky < a.KernelHeight; ky++)
                        for (int kx = 0; kx < a.KernelWidth; kx++)
                        {
                            int iy = y0 + ky, ix = x0 + kx;
                            if (iy < l.InputHeight + a.PadBottom && ix < l.InputWidth + a.PadRight) padded++;
                            if ((uint)iy < (uint)l.InputHeight && (uint)ix < (uint)l.InputWidth) inside++;
                        }
                    float share = go / (a.CountIncludePad ? padded : inside);
                    for (int ky = 0; ky < a.KernelHeight; ky++)
                        for (int kx = 0; kx < a.KernelWidth; kx++)
                        {
                            int iy = y0 + ky, ix = x0 + kx;
                            if ((uint)iy < (uint)l.InputHeight && (uint)ix < (uint)l.InputWidth) dx[(c * l.InputHeight + iy) * l.InputWidth + ix] += share;
                        }
                }
    }
}
