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
    public bool Bias { get; set; } = true;
    public Init Init { get; set; } = Init.Auto;
}

/// <summary>Max pooling; padding counts as −∞; ties go to the first maximum.</summary>
public sealed class MaxPool2DAttribute : LayerAttribute
{
    public MaxPool2DAttribute(int size) { Size = size; }
    public int Size { get; }
    /// <summary>Default: the window size.</summary>
    public int Stride { get; set; }
    public int Padding { get; set; }
}

/// <summary>Average pooling; zero padding counts in the divisor (PyTorch's count_include_pad=True).</summary>
public sealed class AvgPool2DAttribute : LayerAttribute
{
    public AvgPool2DAttribute(int size) { Size = size; }
    public int Size { get; }
    /// <summary>Default: the window size.</summary>
    public int Stride { get; set; }
    public int Padding { get; set; }
}

/// <summary>Fully connected layer, weight [units, in]. After a spatial layer it flattens (C,H,W) row-major.</summary>
public sealed class DenseAttribute : LayerAttribute
{
    public DenseAttribute(int units) { Units = units; }
    public int Units { get; }
    public bool Bias { get; set; } = true;
    public Init Init { get; set; } = Init.Auto;
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
