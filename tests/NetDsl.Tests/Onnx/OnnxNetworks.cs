using NetDsl;

namespace NetDsl.Tests.Onnx;

// Networks for the ONNX export beyond the golden and sample ones: the arguments and layer orders whose ONNX form
// differs (grouped and dilated convolutions with asymmetric padding, min pooling, even-sized LRN windows, rank-2
// values feeding spatial layers, joins of rank-2 and rank-4 values, N-way joins of the input, layers without bias).

[Network(4, 9, 8)]
[Conv2D(6, 3, Groups = 2, Padding = 1)] [ReLU]
[Conv2D(6, 3, Groups = 6, Dilation = 2, PadTop = 2, PadBottom = 2, PadLeft = 1, PadRight = 2, StrideHeight = 2, Bias = false)] [ELU(0.5)]
[Conv2D(5, 3, Stride = 2)]
public partial class OnnxConvVariants;

[Network(3, 8, 8)]
[MinPool2D(2, Padding = 1)]
[MaxPool2D(2, Stride = 1)]
[AvgPool2D(3, Stride = 1, Padding = 1)]
[LocalResponseNorm(4, Alpha = 0.01, Beta = 0.75, K = 1.5)]
[LocalResponseNorm(3)]
public partial class OnnxPoolAndLrn;

#pragma warning disable NDSL0304 // a softmax over channels at each pixel, followed by more layers, is what is exported here
[Network(3, 4, 4)]
[PReLU(PerChannel = true)] [Conv2D(4, 1)] [Softmax]
[Conv2D(2, 3, Padding = 1, Name = "output")]
[Dropout(0.3)]
public partial class OnnxSpatialSoftmax;
#pragma warning restore NDSL0304

[Network(2, 3, 3)]
[Maxout(6, 3)] [BatchNorm] [PReLU(PerChannel = true)]
[Dense(4, Bias = false)] [Dropout(0.3)] [LeakyReLU(0.2)]
public partial class OnnxDenseTail;

[Network(4, 2, 2)]
[Dense(8, Name = "fc")] [Conv2D(8, 1, Name = "mix")] [Add(From = "fc")]
[LocalResponseNorm(2, Alpha = 0.2)]
[Flatten] [Concat(From = "fc")] [BatchNorm] [PReLU]
public partial class OnnxRankChanges;

[Network(2, 6, 6)]
[Conv2D(2, 3, Padding = 1, Name = "a")] [Add(From = "input")] [Concat(From = "input")]
[ConvTranspose2D(3, 3, Stride = 2, Padding = 1, OutputPadding = 1, Dilation = 2, Bias = false)] [Tanh]
[ConvTranspose2D(2, 2, Stride = 2)]
public partial class OnnxJoinsAndTransposed;

// The notes' layers ONNX has no single op for: sum pooling (a depthwise convolution with ones, the ceil-mode overhang as
// padding), channel-wise maxout (reshape + ReduceMax), and a DropConnect dense layer (inference: a plain Gemm).
[Network(4, 8, 8)]
[SumPool2D(3, Stride = 2, Padding = 1, CeilMode = true)]
[ChannelMaxout(2)]
[SumPool2D(2, 1, StrideHeight = 1)]
[Dense(5, DropConnect = 0.5)]
public partial class OnnxNotesLayers;
