using System;

namespace NetDsl;

/// <summary>One named parameter tensor inside a network's flat parameter buffer.</summary>
/// <param name="Name">PyTorch-style name, e.g. "conv1.weight".</param>
/// <param name="Shape">PyTorch layout: conv [outC, inC, kH, kW], dense [out, in], bias [out].</param>
/// <param name="Offset">Start in <see cref="INetwork.Parameters"/> (and in <see cref="INetwork.Gradients"/>).</param>
/// <param name="Length">Number of elements (the product of the shape).</param>
public sealed record ParameterTensor(string Name, int[] Shape, int Offset, int Length)
{
    public string ShapeText => "[" + string.Join(", ", Shape) + "]";

    /// <summary>In a fully convolutional twin (<c>[Network(..., ConvolutionalOf = typeof(X))]</c>), the shape X gives this
    /// weight as a dense layer, [out, C·H·W]: the same floats in the same order as <see cref="Shape"/> [out, C, H, W], so
    /// <see cref="IO.SafeTensors.Load(string, INetwork, string?)"/> accepts either. Null for every other tensor.</summary>
    public int[]? DenseShape { get; init; }
}

/// <summary>One layer of a generated network, for tools that walk the layers (statistics, visualization, freezing).</summary>
/// <param name="Name">The layer's name (conv1, pool1, or the Name given in the attribute).</param>
/// <param name="Kind">The attribute's name without "Attribute": Conv2D, MaxPool2D, Dense, ReLU, ...</param>
/// <param name="Channels">Output channels (units after a dense layer).</param>
/// <param name="Height">Output height.</param>
/// <param name="Width">Output width.</param>
/// <param name="ParameterOffset">Start of the layer's parameters in <see cref="INetwork.Parameters"/>.</param>
/// <param name="ParameterCount">Its number of parameters (weights and bias), 0 for layers without any.</param>
public sealed record LayerInfo(string Name, string Kind, int Channels, int Height, int Width, int ParameterOffset, int ParameterCount)
{
    /// <summary>Floats per sample of the layer's output.</summary>
    public int OutputSize => Channels * Height * Width;

    /// <summary>Declared with <c>Frozen = true</c>: the generated backward pass leaves its parameter gradients at zero.</summary>
    public bool Frozen { get; init; }

    /// <summary>The layers whose outputs this layer reads, in order (indices into <see cref="INetwork.Layers"/>; -1 is the
    /// network input). A chain layer reads one; Add and Concat read the previous layer first, then the joined one(s).</summary>
    public int[] Inputs { get; init; } = [];

    /// <summary>Shape of the first input (<c>Inputs[0]</c>): channels, height, width. For the first layer this is the network's input shape.</summary>
    public int InputChannels { get; init; }
    /// <inheritdoc cref="InputChannels"/>
    public int InputHeight { get; init; }
    /// <inheritdoc cref="InputChannels"/>
    public int InputWidth { get; init; }

    /// <summary>The layer's resolved hyperparameters (defaults applied), for exporters and tools.</summary>
    public LayerArguments Arguments { get; init; } = LayerArguments.None;
}

/// <summary>The hyperparameters of one layer as the generator resolved them (every default applied). Fields that do not
/// apply to a layer kind keep their defaults. Plain values: exporters read them without reflection.</summary>
public sealed record LayerArguments
{
    /// <summary>No hyperparameters (activations, Flatten, Add, Concat).</summary>
    public static readonly LayerArguments None = new();

    /// <summary>Convolution or pooling window.</summary>
    public int KernelHeight { get; init; }
    /// <inheritdoc cref="KernelHeight"/>
    public int KernelWidth { get; init; }
    /// <summary>Convolution or pooling stride.</summary>
    public int StrideHeight { get; init; } = 1;
    /// <inheritdoc cref="StrideHeight"/>
    public int StrideWidth { get; init; } = 1;
    /// <summary>Zero padding (−∞ for max pooling) before the first row, after the last row, before the first column, after the last column.
    /// For ConvTranspose2D, the rows and columns cropped from the full output, as in PyTorch.</summary>
    public int PadTop { get; init; }
    /// <inheritdoc cref="PadTop"/>
    public int PadBottom { get; init; }
    /// <inheritdoc cref="PadTop"/>
    public int PadLeft { get; init; }
    /// <inheritdoc cref="PadTop"/>
    public int PadRight { get; init; }
    /// <summary>Convolution dilation.</summary>
    public int DilationHeight { get; init; } = 1;
    /// <inheritdoc cref="DilationHeight"/>
    public int DilationWidth { get; init; } = 1;
    /// <summary>Conv2D groups (input channels for depthwise).</summary>
    public int Groups { get; init; } = 1;
    /// <summary>ConvTranspose2D extra rows and columns at the bottom and right of the output.</summary>
    public int OutputPaddingHeight { get; init; }
    /// <inheritdoc cref="OutputPaddingHeight"/>
    public int OutputPaddingWidth { get; init; }
    /// <summary>Conv2D, ConvTranspose2D, Dense: whether the layer adds a bias.</summary>
    public bool HasBias { get; init; }
    /// <summary>Pooling: output size rounded up (PyTorch <c>ceil_mode</c>).</summary>
    public bool CeilMode { get; init; }
    /// <summary>Average pooling: zero padding counts in the divisor (PyTorch <c>count_include_pad</c>).</summary>
    public bool CountIncludePad { get; init; }
    /// <summary>LeakyReLU negative slope.</summary>
    public double Slope { get; init; }
    /// <summary>ELU α; LocalResponseNorm α.</summary>
    public double Alpha { get; init; }
    /// <summary>LocalResponseNorm β.</summary>
    public double Beta { get; init; }
    /// <summary>LocalResponseNorm k.</summary>
    public double K { get; init; }
    /// <summary>LocalResponseNorm window in channels (or, with <see cref="WithinChannel"/>, its side in rows and columns).</summary>
    public int Size { get; init; }
    /// <summary>LocalResponseNorm: normalizes over a Size×Size neighbourhood within each channel instead of across channels.</summary>
    public bool WithinChannel { get; init; }
    /// <summary>BatchNorm ε.</summary>
    public double Epsilon { get; init; }
    /// <summary>BatchNorm momentum of the running statistics.</summary>
    public double Momentum { get; init; }
    /// <summary>Dropout probability.</summary>
    public double P { get; init; }
    /// <summary>Dense: DropConnect's probability of dropping each weight in training (0: none); inference uses the weights as they are.</summary>
    public double DropConnect { get; init; }
    /// <summary>Maxout pieces per unit; ChannelMaxout channels per group.</summary>
    public int Pieces { get; init; }
    /// <summary>PReLU: one slope per channel (else one for all).</summary>
    public bool PerChannel { get; init; }
}

/// <summary>Where a network's dropout generator stands: <paramref name="Key"/> is drawn from the initialization seed,
/// <paramref name="Step"/> counts training-mode forward passes; each mask element depends only on (key, layer, step, index).</summary>
public readonly record struct DropoutState(ulong Key, ulong Step);

/// <summary>The values of <see cref="LayerInfo.Kind"/>: each layer attribute's name without "Attribute". Compare against these,
/// not string literals (a test checks that they match the attributes one to one).</summary>
public static class LayerKinds
{
    public const string Conv2D = "Conv2D";
    public const string ConvTranspose2D = "ConvTranspose2D";
    public const string MaxPool2D = "MaxPool2D";
    public const string AvgPool2D = "AvgPool2D";
    public const string MinPool2D = "MinPool2D";
    public const string L2Pool2D = "L2Pool2D";
    public const string SumPool2D = "SumPool2D";
    public const string GlobalAvgPool2D = "GlobalAvgPool2D";
    public const string Dense = "Dense";
    public const string Flatten = "Flatten";
    public const string BatchNorm = "BatchNorm";
    public const string LocalResponseNorm = "LocalResponseNorm";
    public const string ReLU = "ReLU";
    public const string LeakyReLU = "LeakyReLU";
    public const string PReLU = "PReLU";
    public const string ELU = "ELU";
    public const string Tanh = "Tanh";
    public const string Sigmoid = "Sigmoid";
    public const string Softmax = "Softmax";
    public const string Maxout = "Maxout";
    public const string ChannelMaxout = "ChannelMaxout";
    public const string Dropout = "Dropout";
    public const string Add = "Add";
    public const string Concat = "Concat";
}

/// <summary>What every generated network implements: a fixed-shape function with a flat parameter buffer.</summary>
public interface INetwork
{
    /// <summary>Floats per input sample (C·H·W).</summary>
    int InputSize { get; }
    /// <summary>Floats per output sample.</summary>
    int OutputSize { get; }
    int ParameterCount { get; }
    /// <summary>The largest batch the preallocated workspace holds.</summary>
    int MaxBatch { get; }
    /// <summary>All parameters, one flat buffer laid out as <see cref="ParameterTensors"/> says.</summary>
    Span<float> Parameters { get; }
    /// <summary>Gradients, same layout as <see cref="Parameters"/>; <see cref="Backward"/> accumulates into it.</summary>
    Span<float> Gradients { get; }
    /// <summary>The parameter tensors in declaration order.</summary>
    ReadOnlySpan<ParameterTensor> ParameterTensors { get; }

    /// <summary>State that is saved with the weights but not trained: batch-norm running mean and variance.</summary>
    Span<float> Buffers { get; }
    /// <summary>The buffer tensors ("bn1.running_mean", ...), laid out in <see cref="Buffers"/>.</summary>
    ReadOnlySpan<ParameterTensor> BufferTensors { get; }

    /// <summary>The layers in execution order.</summary>
    ReadOnlySpan<LayerInfo> Layers { get; }

    /// <summary>Output of layer <paramref name="index"/> for the last <see cref="Forward"/>: batch·OutputSize floats of that layer.</summary>
    ReadOnlySpan<float> LayerOutput(int index);

    /// <summary>dL/d(output of layer <paramref name="index"/>) for the last <see cref="Backward"/>.</summary>
    ReadOnlySpan<float> LayerGradient(int index);

    /// <summary>Runs the network on <paramref name="batch"/> samples (NCHW, batch·InputSize floats) and returns batch·OutputSize outputs.
    /// In training mode dropout is active and the activations are kept for <see cref="Backward"/>.</summary>
    ReadOnlySpan<float> Forward(ReadOnlySpan<float> input, int batch, bool training = false);

    /// <summary>Back-propagates dL/d(output) of the last training-mode <see cref="Forward"/>, adding the parameter gradients into <see cref="Gradients"/>.</summary>
    void Backward(ReadOnlySpan<float> outputGradient, int batch);

    /// <summary>When set, <see cref="Backward"/> also computes dL/d(input) (off by default: the first layer can skip that work).</summary>
    bool ComputeInputGradient { get; set; }

    /// <summary>dL/d(input) of the last <see cref="Backward"/> (batch·InputSize floats); needs <see cref="ComputeInputGradient"/>.</summary>
    ReadOnlySpan<float> InputGradient { get; }

    /// <summary>Sets <see cref="Gradients"/> to zero.</summary>
    /// <remarks>Generated networks do it lazily: the next <see cref="Backward"/> clears (or overwrites) each batch slice's
    /// share on its own worker, and the next read of <see cref="Gradients"/> or an update clears the rest first. So a span
    /// taken from <see cref="Gradients"/> before the call keeps the old values until one of those happens; take it again.</remarks>
    void ZeroGradients();

    /// <summary>Re-initializes every parameter deterministically from <paramref name="seed"/>.</summary>
    void Initialize(int seed);

    /// <summary>One optimizer step: <see cref="Parameters"/> updated from <see cref="Gradients"/>, the same bits as
    /// <c>optimizer.Step(Parameters, Gradients)</c>. Generated networks spread it over their workers when the optimizer
    /// takes steps in ranges (<see cref="Training.Optimizer.SplitsIntoRanges"/>).</summary>
    void Update(Training.Optimizer optimizer) => optimizer.Step(Parameters, Gradients);

    /// <summary>The dropout generator's position, saved in checkpoints so that a resumed run draws the same masks.
    /// Generated networks implement it; the default is for hand-written networks without dropout.</summary>
    DropoutState DropoutState
    {
        get => default;
        set
        {
            if (value != default)
                throw new NotSupportedException($"{GetType().Name} has no dropout generator to set (it does not implement INetwork.DropoutState)");
        }
    }
}
