using NetDsl;

namespace NetDsl.Tests.Networks;

// The golden networks of tests/NetDsl.Tests/Networks/GoldenNetworks.cs (each gets a generated .Gpu twin here). One generated network per golden layer case, with the case's input shape and configuration.
// Their single layers are named as the golden parameters are ("weight", "bias" under the layer name).

[Network(3, 5, 6)] [Conv2D(4, 1)] public partial class GoldenConvK1;
[Network(3, 7, 9)] [Conv2D(4, 3, Padding = 1)] public partial class GoldenConvK3P1;
[Network(2, 7, 9)] [Conv2D(3, 3, Bias = false)] public partial class GoldenConvK3NoBias;
[Network(2, 7, 9)] [Conv2D(3, 5, Padding = 2)] public partial class GoldenConvK5P2;
[Network(3, 7, 9)] [Conv2D(4, 3, Stride = 2, Padding = 1)] public partial class GoldenConvK3S2P1;
[Network(2, 7, 9)] [Conv2D(3, 3, 5)] public partial class GoldenConvK3x5;
[Network(2, 7, 9)] [Conv2D(3, 3, Padding = 2, Dilation = 2)] public partial class GoldenConvDil2;
[Network(2, 6, 7)] [Conv2D(3, 2, PadBottom = 1, PadRight = 1)] public partial class GoldenConvAsymPad;

[Network(3, 6, 8)] [MaxPool2D(2)] public partial class GoldenMaxPoolK2;
[Network(2, 4, 6)] [MaxPool2D(2)] public partial class GoldenMaxPoolTies;
[Network(2, 8, 8)] [MaxPool2D(3, Stride = 2, Padding = 1)] public partial class GoldenMaxPoolK3S2P1;
[Network(3, 6, 8)] [AvgPool2D(2)] public partial class GoldenAvgPoolK2;
#pragma warning disable NDSL0202 // the case is about exactly this: the last row and column are dropped
[Network(2, 7, 9)] [AvgPool2D(2)] public partial class GoldenAvgPoolOddFloor;
#pragma warning restore NDSL0202
[Network(2, 5, 7)] [AvgPool2D(3, Stride = 1, Padding = 1)] public partial class GoldenAvgPoolK3P1;

[Network(3, 4, 5)] [ReLU] public partial class GoldenRelu;
[Network(3, 3, 4)] [ReLU] public partial class GoldenReluZeros;
[Network(3, 4, 5)] [LeakyReLU(0.01)] public partial class GoldenLeakyRelu;
[Network(3, 4, 5)] [Tanh] public partial class GoldenTanh;
[Network(3, 4, 5)] [Sigmoid] public partial class GoldenSigmoid;
[Network(3, 4, 5)] [Dense(7)] public partial class GoldenLinearFlatten;
[Network(3, 4, 4)] [Dropout(0.5)] public partial class GoldenDropout;

[Network(3, 5, 7)] [GlobalAvgPool2D] public partial class GoldenGlobalAvgPool;
[Network(3, 4, 5)] [ELU] public partial class GoldenElu;
[Network(5, 1, 1)] [Softmax] public partial class GoldenSoftmax;
[Network(3, 3, 4)] [ConvTranspose2D(2, 2, Stride = 2)] public partial class GoldenConvTK2S2;
[Network(3, 3, 4)] [ConvTranspose2D(2, 3, Stride = 2, Padding = 1)] public partial class GoldenConvTK3S2P1;
[Network(2, 2, 3)] [ConvTranspose2D(2, 3, Stride = 2, OutputPadding = 1)] public partial class GoldenConvTOutPad;



[Network(3, 6, 8)] [L2Pool2D(2)] public partial class GoldenL2Pool;

// net_inception_small: a stem read by two branches (1×1 conv; 3×3/1 max pool then 1×1 conv), concatenated, pooled, fc.
[Network(3, 6, 6)]
[Conv2D(4, 3, Padding = 1, Name = "stem")] [ReLU(Name = "stem_out")]
[Conv2D(3, 1, Name = "b1")] [ReLU(Name = "b1_out")]
[MaxPool2D(3, Stride = 1, Padding = 1, From = "stem_out")] [Conv2D(2, 1, Name = "b2")] [ReLU(Name = "b2_out")]
[Concat("b1_out", "b2_out", Name = "concat")]
[GlobalAvgPool2D(Name = "pooled")]
[Dense(3, Name = "fc")]
public partial class GoldenInceptionSmall;

[Network(3, 4, 5)] [PReLU] public partial class GoldenPReluSingle;
[Network(3, 4, 5)] [PReLU(PerChannel = true)] public partial class GoldenPReluPerChannel;
[Network(3, 2, 2)] [Maxout(4, 2)] public partial class GoldenMaxout;
[Network(7, 3, 4)] [LocalResponseNorm(5, Alpha = 1e-4, Beta = 0.75, K = 2)] public partial class GoldenLrn;
[Network(3, 4, 5)] [BatchNorm] public partial class GoldenBn2d;
[Network(5, 1, 1)] [BatchNorm] public partial class GoldenBn1d;
[Network(3, 2, 3)] [BatchNorm(Epsilon = 1e-2)] public partial class GoldenBn2dEps;

// net_small_cnn of the goldens: conv-BN(train)-ReLU-maxpool-conv-ReLU-maxpool-flatten-dropout(stored mask)-fc.
[Network(3, 8, 8)]
[Conv2D(6, 3, Padding = 1)] [BatchNorm] [ReLU] [MaxPool2D(2)]
[Conv2D(8, 3, Padding = 1)] [ReLU] [MaxPool2D(2)]
[Flatten] [Dropout(0.5)]
[Dense(5, Name = "fc")]
public partial class GoldenSmallCnn;

// A small residual network: a block whose input is read twice (by the convolution and by the Add), so its gradient goes
// through the plan's scratch buffer and is added.
[Network(2, 6, 6)]
[Conv2D(4, 3, Padding = 1, Name = "stem")] [ReLU(Name = "stem_out")]
[Conv2D(4, 3, Padding = 1, Name = "c1")] [ReLU] [Conv2D(4, 3, Padding = 1, Name = "c2")]
[Add("c2", "stem_out", Name = "sum")] [ReLU]
[MaxPool2D(2)] [Flatten] [Dropout(0.25)]
[Dense(3, Name = "fc")]
public partial class TinyResidual;

// Grouped, dilated and strided convolutions (no PyTorch golden has groups): the twin against the CPU network.
[Network(4, 7, 6)]
[Conv2D(6, 3, Padding = 2, Dilation = 2, Groups = 2, Name = "grouped")] [ELU]
[Conv2D(6, 3, Stride = 2, Padding = 1, Groups = 6, Name = "depthwise")] [Tanh]
[Dense(4, Name = "fc")]
public partial class GroupedConvolutions;
