using System;

namespace NetDsl;

// The attribute DSL. The generator reads these from source; they carry no behaviour at run time.
// Layers run in the order their attributes appear on the one declaration of the class.

/// <summary>Declares a network over inputs of shape (channels, height, width). The class must be <c>partial</c>.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = false, Inherited = false)]
public sealed class NetworkAttribute : Attribute
{
    public NetworkAttribute(int channels, int height, int width)
    {
        Channels = channels;
        Height = height;
        Width = width;
    }

    public int Channels { get; }
    public int Height { get; }
    public int Width { get; }

    /// <summary>Weight initialization for every layer that does not set its own.</summary>
    public Init Init { get; set; } = Init.Auto;

    /// <summary>
    /// Makes this class the fully convolutional twin of another [Network] class for this (larger) input: it declares no
    /// layers of its own; the generator copies the other network's layers, turning the first dense layer after a C×H×W map
    /// into a Conv2D with an H×W kernel and every later dense layer into a 1×1 Conv2D (a Flatten disappears). The output is
    /// then a map whose position (i, j) is the other network's answer on the input window shifted by (i, j) times the total
    /// stride. The parameters have the same names, order and layout (a dense weight [out, C·H·W] is the conv weight
    /// [out, C, H, W]), so the twin's generated <c>LoadWeightsFrom(original)</c> and <c>SafeTensors.Load</c> of the
    /// original's file take the trained weights as they are.
    /// </summary>
    public Type? ConvolutionalOf { get; set; }
}

/// <summary>Weight initialization schemes.</summary>
public enum Init
{
    /// <summary>He for layers followed by the ReLU family, Glorot for tanh/sigmoid and the output layer.</summary>
    Auto = 0,
    /// <summary>He (Kaiming) normal: N(0, 2 / fan_in).</summary>
    He = 1,
    /// <summary>Glorot (Xavier) uniform: U(±sqrt(6 / (fan_in + fan_out))).</summary>
    Glorot = 2,
    /// <summary>LeCun normal: N(0, 1 / fan_in).</summary>
    LeCun = 3,
    /// <summary>The notes' classical N(0, 1).</summary>
    StandardNormal = 4,
}

/// <summary>Base of every layer attribute.</summary>
[AttributeUsage(AttributeTargets.Class, AllowMultiple = true, Inherited = false)]
public abstract class LayerAttribute : Attribute
{
    /// <summary>The layer's name; parameters are named "&lt;Name&gt;.weight" and "&lt;Name&gt;.bias". Default: kind and position, e.g. conv1.</summary>
    public string? Name { get; set; }

    /// <summary>Excludes the layer's parameters from training (transfer learning); see <see cref="LayerInfo.Frozen"/>.</summary>
    public bool Frozen { get; set; }

    /// <summary>The earlier layer this one reads (its name, or "input" for the network's input) instead of the previous
    /// one: branches of an inception module, a projection shortcut. On Add and Concat: the layer joined with the previous one.</summary>
    public string? From { get; set; }
}

/// <summary>2-D convolution (cross-correlation), weight [filters, inChannels, kH, kW].</summary>
public sealed class Conv2DAttribute : LayerAttribute
{
    public Conv2DAttribute(int filters, int kernel) { Filters = filters; KernelHeight = kernel; KernelWidth = kernel; }
    public Conv2DAttribute(int filters, int kernelHeight, int kernelWidth) { Filters = filters; KernelHeight = kernelHeight; KernelWidth = kernelWidth; }

    public int Filters { get; }
    public int KernelHeight { get; }
    public int KernelWidth { get; }
    /// <summary>Stride in both directions (default 1).</summary>
    public int Stride { get; set; } = 1;
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    /// <summary>Zero padding on every side (default 0).</summary>
    public int Padding { get; set; }
    public int PadTop { get; set; }
    public int PadBottom { get; set; }
    public int PadLeft { get; set; }
    public int PadRight { get; set; }
    public int Dilation { get; set; } = 1;
    /// <summary>Channel groups: input and output channels split into this many independent convolutions (Groups = input channels: depthwise).</summary>
    public int Groups { get; set; } = 1;
    public bool Bias { get; set; } = true;
    public Init Init { get; set; } = Init.Auto;
}

/// <summary>Max pooling; padding counts as −∞; ties go to the first maximum.</summary>
public sealed class MaxPool2DAttribute : LayerAttribute
{
    public MaxPool2DAttribute(int size) { SizeHeight = size; SizeWidth = size; }
    public MaxPool2DAttribute(int sizeHeight, int sizeWidth) { SizeHeight = sizeHeight; SizeWidth = sizeWidth; }
    public int SizeHeight { get; }
    public int SizeWidth { get; }
    /// <summary>Default: the window size (per axis).</summary>
    public int Stride { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public int Padding { get; set; }
    /// <summary>PyTorch's ceil_mode: the output size rounds up, so the last rows and columns get a (partial) window of
    /// their own, as long as it starts inside the input or the left padding.</summary>
    public bool CeilMode { get; set; }
}

/// <summary>Average pooling; zero padding counts in the divisor (PyTorch's count_include_pad=True).</summary>
public sealed class AvgPool2DAttribute : LayerAttribute
{
    public AvgPool2DAttribute(int size) { SizeHeight = size; SizeWidth = size; }
    public AvgPool2DAttribute(int sizeHeight, int sizeWidth) { SizeHeight = sizeHeight; SizeWidth = sizeWidth; }
    public int SizeHeight { get; }
    public int SizeWidth { get; }
    /// <summary>Default: the window size (per axis).</summary>
    public int Stride { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public int Padding { get; set; }
    /// <summary>PyTorch's ceil_mode: the output size rounds up, so the last rows and columns get a (partial) window of
    /// their own, as long as it starts inside the input or the left padding.</summary>
    public bool CeilMode { get; set; }
    /// <summary>PyTorch's count_include_pad (default true): zero padding counts in the divisor.</summary>
    public bool CountIncludePad { get; set; } = true;
}

/// <summary>Fully connected layer, weight [units, in]. After a spatial layer it flattens (C,H,W) row-major.</summary>
public sealed class DenseAttribute : LayerAttribute
{
    public DenseAttribute(int units) { Units = units; }
    public int Units { get; }
    public bool Bias { get; set; } = true;
    public Init Init { get; set; } = Init.Auto;
    /// <summary>DropConnect (Wan et al. 2013): in training, each weight is dropped with this probability and the kept ones
    /// are scaled by 1/(1−p), one mask per training step for the whole batch; inference uses the weights as they are (the
    /// mean-field rule of inverted dropout). The network's <c>DropoutMask(layer)</c> returns the mask ([units, in]);
    /// <c>HoldDropoutMasks</c> keeps it. Default 0: off.</summary>
    public double DropConnect { get; set; }
}

public sealed class ReLUAttribute : LayerAttribute { }

public sealed class LeakyReLUAttribute : LayerAttribute
{
    public LeakyReLUAttribute() : this(0.01) { }
    public LeakyReLUAttribute(double slope) { Slope = slope; }
    public double Slope { get; }
}

public sealed class TanhAttribute : LayerAttribute { }

public sealed class SigmoidAttribute : LayerAttribute { }

/// <summary>Inverted dropout: in training, zeroes each element with probability p and scales the rest by 1/(1−p).</summary>
public sealed class DropoutAttribute : LayerAttribute
{
    public DropoutAttribute(double p) { P = p; }
    public double P { get; }
}

/// <summary>Transposed convolution (the FCN/U-Net upsampling), weight [inChannels, filters, kH, kW].
/// Output size (H − 1)·stride − 2·padding + dilation·(k − 1) + outputPadding + 1.</summary>
public sealed class ConvTranspose2DAttribute : LayerAttribute
{
    public ConvTranspose2DAttribute(int filters, int kernel) { Filters = filters; Kernel = kernel; }
    public int Filters { get; }
    public int Kernel { get; }
    public int Stride { get; set; } = 1;
    public int Padding { get; set; }
    /// <summary>Extra rows at the bottom and columns at the right (must be smaller than the stride or the dilation).</summary>
    public int OutputPadding { get; set; }
    public int Dilation { get; set; } = 1;
    public bool Bias { get; set; } = true;
    public Init Init { get; set; } = Init.Auto;
}

/// <summary>Min pooling: −maxpool(−x); padding counts as +∞, ties go to the first minimum.</summary>
public sealed class MinPool2DAttribute : LayerAttribute
{
    public MinPool2DAttribute(int size) { SizeHeight = size; SizeWidth = size; }
    public MinPool2DAttribute(int sizeHeight, int sizeWidth) { SizeHeight = sizeHeight; SizeWidth = sizeWidth; }
    public int SizeHeight { get; }
    public int SizeWidth { get; }
    /// <summary>Default: the window size (per axis).</summary>
    public int Stride { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public int Padding { get; set; }
    /// <summary>PyTorch's ceil_mode: the output size rounds up, so the last rows and columns get a (partial) window of
    /// their own, as long as it starts inside the input or the left padding.</summary>
    public bool CeilMode { get; set; }
}

/// <summary>L2-norm pooling (the notes' "L2 pooling", PyTorch LPPool2d(norm_type = 2)): sqrt(Σ x²) over each window, no padding.</summary>
public sealed class L2Pool2DAttribute : LayerAttribute
{
    public L2Pool2DAttribute(int size) { SizeHeight = size; SizeWidth = size; }
    public L2Pool2DAttribute(int sizeHeight, int sizeWidth) { SizeHeight = sizeHeight; SizeWidth = sizeWidth; }
    public int SizeHeight { get; }
    public int SizeWidth { get; }
    /// <summary>Default: the window size (per axis).</summary>
    public int Stride { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    /// <summary>PyTorch's ceil_mode.</summary>
    public bool CeilMode { get; set; }
}

/// <summary>Sum pooling (the notes' "average / sum" pooling): the window's sum, i.e. average pooling times the window's area;
/// zero padding adds nothing.</summary>
public sealed class SumPool2DAttribute : LayerAttribute
{
    public SumPool2DAttribute(int size) { SizeHeight = size; SizeWidth = size; }
    public SumPool2DAttribute(int sizeHeight, int sizeWidth) { SizeHeight = sizeHeight; SizeWidth = sizeWidth; }
    public int SizeHeight { get; }
    public int SizeWidth { get; }
    /// <summary>Default: the window size (per axis).</summary>
    public int Stride { get; set; }
    public int StrideHeight { get; set; }
    public int StrideWidth { get; set; }
    public int Padding { get; set; }
    /// <summary>PyTorch's ceil_mode.</summary>
    public bool CeilMode { get; set; }
}

/// <summary>Mean over each channel's H×W: (C, H, W) → (C, 1, 1).</summary>
public sealed class GlobalAvgPool2DAttribute : LayerAttribute { }

/// <summary>Batch normalization over channels (after a conv) or features (after a dense layer), PyTorch semantics:
/// training uses the batch statistics (biased variance) and updates running averages with the unbiased one.</summary>
public sealed class BatchNormAttribute : LayerAttribute
{
    public double Momentum { get; set; } = 0.1;
    public double Epsilon { get; set; } = 1e-5;
}

/// <summary>Local response normalization across channels (PyTorch's formula: alpha is divided by the size), or, with
/// <see cref="WithinChannel"/>, within each channel over a size×size neighbourhood (Caffe's WITHIN_CHANNEL: alpha divided by size²).</summary>
public sealed class LocalResponseNormAttribute : LayerAttribute
{
    public LocalResponseNormAttribute(int size) { Size = size; }
    public int Size { get; }
    public double Alpha { get; set; } = 1e-4;
    public double Beta { get; set; } = 0.75;
    public double K { get; set; } = 1.0;
    /// <summary>Normalize over a Size×Size spatial neighbourhood in the same channel (zero outside the map) instead of over
    /// Size neighbouring channels: b = a / (K + Alpha/Size²·Σ a²)^Beta.</summary>
    public bool WithinChannel { get; set; }
}

/// <summary>Parametric ReLU: a learned slope for x &lt; 0, one for all channels or one per channel.</summary>
public sealed class PReLUAttribute : LayerAttribute
{
    public bool PerChannel { get; set; }
    public double InitialSlope { get; set; } = 0.25;
}

/// <summary>ELU: x for x &gt; 0, alpha·(exp(x) − 1) otherwise.</summary>
public sealed class ELUAttribute : LayerAttribute
{
    public ELUAttribute() : this(1.0) { }
    public ELUAttribute(double alpha) { Alpha = alpha; }
    public double Alpha { get; }
}

/// <summary>Softmax over the channels at each position (over the features after a dense layer).</summary>
public sealed class SoftmaxAttribute : LayerAttribute { }

/// <summary>Maxout: the maximum of <c>pieces</c> dense pieces per unit, weight [units, pieces, in], bias [units, pieces].</summary>
public sealed class MaxoutAttribute : LayerAttribute
{
    public MaxoutAttribute(int units, int pieces) { Units = units; Pieces = pieces; }
    public int Units { get; }
    public int Pieces { get; }
    public Init Init { get; set; } = Init.Auto;
}

/// <summary>Channel-wise (convolutional) maxout: (C, H, W) → (C / pieces, H, W), output channel g the maximum over input
/// channels g·pieces … g·pieces + pieces − 1 at each position (ties: the first). No parameters; put it after a convolution
/// with pieces times the wanted channels.</summary>
public sealed class ChannelMaxoutAttribute : LayerAttribute
{
    public ChannelMaxoutAttribute(int pieces) { Pieces = pieces; }
    public int Pieces { get; }
}

/// <summary>Flattens (C, H, W) to (C·H·W, 1, 1), row-major. Dense does this implicitly.</summary>
public sealed class FlattenAttribute : LayerAttribute { }

/// <summary>Residual connection: the sum of equal shapes. <c>[Add("main", "proj")]</c> adds the named layers;
/// <c>[Add(From = "x")]</c> adds x to the previous layer's output.</summary>
public sealed class AddAttribute : LayerAttribute
{
    public AddAttribute(params string[] inputs) { Inputs = inputs; }
    /// <summary>The layers to add, by name ("input" for the network's input); empty: the previous layer and <see cref="LayerAttribute.From"/>.</summary>
    public string[] Inputs { get; }
}

/// <summary>Channel concatenation of equal height and width, in order: <c>[Concat("b1", "b2", "b3")]</c> (an inception module's
/// branches); <c>[Concat(From = "enc1")]</c> puts enc1's channels after the previous layer's (a U-Net skip).</summary>
public sealed class ConcatAttribute : LayerAttribute
{
    public ConcatAttribute(params string[] inputs) { Inputs = inputs; }
    /// <summary>The layers to concatenate, by name; empty: the previous layer and <see cref="LayerAttribute.From"/>.</summary>
    public string[] Inputs { get; }
}
