using System;

namespace NetDsl.Tools;

/// <summary>Settings of <see cref="ActivationMaximization.Run"/>. The defaults suit 28×28 inputs in [0, 1].</summary>
public sealed record ActivationMaximizationOptions
{
    /// <summary>Gradient-ascent steps.</summary>
    public int Steps { get; init; } = 200;
    /// <summary>η in x ← x + η·g, g = d(activation)/d(input) (divided by its root mean square when
    /// <see cref="NormalizeGradient"/>: then η is the step in input units).</summary>
    public float StepSize { get; init; } = 0.05f;
    /// <summary>Divide the gradient by its root mean square over the image before the step (Yosinski et al.'s normalized
    /// ascent): the step length no longer depends on how large the gradient of a deep unit happens to be.</summary>
    public bool NormalizeGradient { get; init; } = true;
    /// <summary>λ in the L2 decay after each step, x ← (1 − λ)·x: keeps the image from growing without bound.</summary>
    public float L2Decay { get; init; } = 0.01f;
    /// <summary>Every this many steps the image is blurred with the 3×3 kernel [1 2 1]ᵀ[1 2 1]/16 (renormalized at the
    /// borders), which suppresses the high-frequency patterns pure gradient ascent produces; 0 turns it off.</summary>
    public int BlurEvery { get; init; } = 4;
    /// <summary>After each step the pixels are clamped to [<see cref="Min"/>, <see cref="Max"/>] (the data's range).</summary>
    public float Min { get; init; } = float.NegativeInfinity;
    /// <inheritdoc cref="Min"/>
    public float Max { get; init; } = float.PositiveInfinity;
    /// <summary>The start image: a small random one from this seed (uniform in ±0.01 around <see cref="StartMean"/>) unless
    /// <see cref="Start"/> is given.</summary>
    public int Seed { get; init; } = 1;
    /// <inheritdoc cref="Seed"/>
    public float StartMean { get; init; }
    /// <summary>An explicit start image (InputSize floats), instead of the random one.</summary>
    public float[]? Start { get; init; }
}

/// <summary>What <see cref="ActivationMaximization.Run"/> found: the image and the activation before each step and after the last.</summary>
/// <param name="Image">The input (InputSize floats, the network's C×H×W layout) that drives the activation up.</param>
/// <param name="Activations">The objective at the start and after every step: Steps + 1 values.</param>
public sealed record ActivationMaximizationResult(float[] Image, float[] Activations);

/// <summary>
/// Activation maximization (Erhan et al. 2009; the notes' "what does this filter want to see"): gradient ascent on the input
/// to make one channel of a named layer fire, regularized by L2 decay and periodic blurring. The objective is the channel's
/// mean over its positions (for a dense layer, the unit's value). The gradient is the exact one, sent back through the
/// recorded layer outputs by the same run-time walk as <see cref="Saliency"/>, so the layers up to the chosen one must be a
/// chain of Conv2D, MaxPool2D, AvgPool2D, Dense, Flatten, ReLU and Dropout layers (the layers after it may be anything).
/// </summary>
public static class ActivationMaximization
{
    /// <summary>The objective for <paramref name="input"/>: the mean of channel <paramref name="channel"/> of layer
    /// <paramref name="layerName"/> over its positions (one sample, inference mode).</summary>
    public static float Activation(INetwork network, string layerName, int channel, ReadOnlySpan<float> input)
    {
        int layer = Find(network, layerName, channel, input.Length);
        network.Forward(input, 1);
        return ChannelMean(network, layer, channel);
    }

    /// <summary>Runs <see cref="ActivationMaximizationOptions.Steps"/> steps of x ← clamp(blur?((1 − λ)(x + η·∇ₓa))), the gradient
    /// divided by its root mean square unless <see cref="ActivationMaximizationOptions.NormalizeGradient"/> is off.</summary>
    public static ActivationMaximizationResult Run(INetwork network, string layerName, int channel, ActivationMaximizationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(network);
        options ??= new ActivationMaximizationOptions();
        if (options.Steps < 0) throw new ArgumentOutOfRangeException(nameof(options), options.Steps, "Steps must be at least 0");
        if (!(options.StepSize > 0) || !float.IsFinite(options.StepSize)) throw new ArgumentOutOfRangeException(nameof(options), options.StepSize, "StepSize must be a positive finite number");
        if (!(options.L2Decay >= 0 && options.L2Decay < 1)) throw new ArgumentOutOfRangeException(nameof(options), options.L2Decay, "L2Decay must be in [0, 1)");
        if (options.BlurEvery < 0) throw new ArgumentOutOfRangeException(nameof(options), options.BlurEvery, "BlurEvery must be at least 0 (0: no blur)");
        if (!(options.Min <= options.Max)) throw new ArgumentException($"Min {options.Min} must not exceed Max {options.Max}", nameof(options));
        int layer = Find(network, layerName, channel, network.InputSize);
        Saliency.CheckWalkable(network, layer, "activation maximization's gradients");
        var info = network.Layers[layer];
        int hw = info.Height * info.Width;

        float[] x;
        if (options.Start is { } start)
        {
            if (start.Length != network.InputSize) throw new ArgumentException($"Start has length {start.Length}, expected InputSize = {network.InputSize}", nameof(options));
            x = (float[])start.Clone();
        }
        else
        {
            var rng = new Kernels.Rng((ulong)options.Seed);
            x = new float[network.InputSize];
            for (int i = 0; i < x.Length; i++) x[i] = options.StartMean + (rng.NextFloat() * 2 - 1) * 0.01f;
        }
        var activations = new float[options.Steps + 1];
        var g = new float[network.InputSize];
        for (int step = 0; ; step++)
        {
            network.Forward(x, 1);
            activations[step] = ChannelMean(network, layer, channel);
            if (step == options.Steps) break;
            // d(mean of the channel)/d(its outputs) = 1/(H·W) at each of its positions.
            var seed = new float[info.OutputSize];
            for (int k = 0; k < hw; k++) seed[channel * hw + k] = 1f / hw;
            Saliency.Backpropagate(network, x, layer, seed, ReluBackward.Gradient, g);
            float eta = options.StepSize;
            if (options.NormalizeGradient)
            {
                double squares = 0;
                foreach (float v in g) squares += (double)v * v;
                double rms = Math.Sqrt(squares / g.Length);
                if (rms > 0) eta = (float)(eta / rms);
            }
            for (int i = 0; i < x.Length; i++)
                x[i] = Math.Clamp((1 - options.L2Decay) * (x[i] + eta * g[i]), options.Min, options.Max);
            if (options.BlurEvery > 0 && (step + 1) % options.BlurEvery == 0)
            {
                var l0 = network.Layers[0];
                Blur(x, l0.InputChannels, l0.InputHeight, l0.InputWidth);
            }
        }
        return new ActivationMaximizationResult(x, activations);
    }

    /// <summary>The separable 3×3 blur [1 2 1]/4 per axis, per channel; at the borders the weights that fall inside are renormalized.</summary>
    public static void Blur(Span<float> image, int channels, int height, int width)
    {
        if (image.Length != channels * height * width) throw new ArgumentException($"image has length {image.Length}, expected {channels}×{height}×{width}", nameof(image));
        var row = new float[Math.Max(height, width)];
        for (int c = 0; c < channels; c++)
        {
            var plane = image.Slice(c * height * width, height * width);
            for (int y = 0; y < height; y++)
            {
                for (int x = 0; x < width; x++)
                {
                    float sum = 2 * plane[y * width + x], weight = 2;
                    if (x > 0) { sum += plane[y * width + x - 1]; weight++; }
                    if (x < width - 1) { sum += plane[y * width + x + 1]; weight++; }
                    row[x] = sum / weight;
                }
                row.AsSpan(0, width).CopyTo(plane.Slice(y * width, width));
            }
            for (int x = 0; x < width; x++)
            {
                for (int y = 0; y < height; y++)
                {
                    float sum = 2 * plane[y * width + x], weight = 2;
                    if (y > 0) { sum += plane[(y - 1) * width + x]; weight++; }
                    if (y < height - 1) { sum += plane[(y + 1) * width + x]; weight++; }
                    row[y] = sum / weight;
                }
                for (int y = 0; y < height; y++) plane[y * width + x] = row[y];
            }
        }
    }

    private static int Find(INetwork network, string layerName, int channel, int inputLength)
    {
        ArgumentNullException.ThrowIfNull(network);
        ArgumentNullException.ThrowIfNull(layerName);
        if (inputLength != network.InputSize) throw new ArgumentException($"input has length {inputLength}, expected InputSize = {network.InputSize}");
        int layer = CnnCodes.IndexOf(network, layerName);
        var info = network.Layers[layer];
        if ((uint)channel >= (uint)info.Channels)
            throw new ArgumentOutOfRangeException(nameof(channel), channel, $"layer '{layerName}' has {info.Channels} channels (0..{info.Channels - 1})");
        return layer;
    }

    private static float ChannelMean(INetwork network, int layer, int channel)
    {
        var info = network.Layers[layer];
        int hw = info.Height * info.Width;
        var y = network.LayerOutput(layer).Slice(channel * hw, hw);
        double sum = 0;
        foreach (float v in y) sum += v;
        return (float)(sum / hw);
    }
}
